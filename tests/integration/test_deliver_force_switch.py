# -*- coding: utf-8 -*-
"""One force switch, oauth2_deliver_force: the rotate playbook's older name, oauth2_force, still renews every token,
with a visible deprecation warning that names the switch to use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_runner_helper import recap, run_playbook
from rotate_helper import app_rotation, env_values

DEPRECATED = re.compile(r'DEPRECATION WARNING\]: oauth2_force is deprecated: set oauth2_deliver_force instead')


def test_the_old_force_switch_renews_with_a_warning_and_the_new_one_without(tmp_path, oidc_provider):
    inventory, env_file, env = app_rotation(tmp_path, oidc_provider.url + '/token', oidc_provider.clients['cc_basic'],
                                            scope='api:read', resource='urn:tokenops:api')
    args = ('-i', str(inventory))
    first = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    token = env_values(env_file)['APP_TOKEN']
    assert not DEPRECATED.search(first.stdout), first.stdout

    old = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_force=true', extra_env=env)
    renewed = env_values(env_file)['APP_TOKEN']
    assert renewed != token and recap(old.stdout)['localhost']['changed'] > 0, old.stdout
    assert DEPRECATED.search(old.stdout), old.stdout
    assert len(DEPRECATED.findall(old.stdout)) == 1, old.stdout  # once for the run, not once per host

    new = run_playbook('tokenops.oauth2.rotate', *args, '-e', 'oauth2_deliver_force=true', extra_env=env)
    assert env_values(env_file)['APP_TOKEN'] != renewed and recap(new.stdout)['localhost']['changed'] > 0
    assert not DEPRECATED.search(new.stdout), new.stdout
    assert token not in old.stdout + new.stdout and renewed not in new.stdout
