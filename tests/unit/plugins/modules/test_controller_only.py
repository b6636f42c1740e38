# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module files of the controller-only action plugins: run on a host, they check their arguments against the
action plugin's spec and fail saying where the plugin runs, echoing no secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

SECRET = 'secret-value-0123'
CASES = [
    ('deliveries', dict(step='host')),
    ('authorize', dict(profile='app', flow='paste', redirect_url='https://app.example/cb?code=%s' % SECRET)),
    ('run_lock', dict(path='/run/lock/rotate.lock')),
    ('schedule_plan', dict(home='/home/rotate')),
    ('vault_vars', dict(path='group_vars/all/token.yml', values=dict(token_var=SECRET))),
]


def run(capsys, name, args):
    module = importlib.import_module('ansible_collections.tokenops.oauth2.plugins.modules.%s' % name)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('name, args', CASES)
def test_run_on_a_host_it_fails_saying_where_it_runs(capsys, name, args):
    result = run(capsys, name, args)
    assert result['failed'] is True and result['msg'].startswith(
        'tokenops.oauth2.%s runs on the controller, as an action plugin of the same name' % name)
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize('name, args', CASES)
def test_its_arguments_are_checked_against_the_action_plugins_spec(capsys, name, args):
    result = run(capsys, name, dict(args, no_such_option='x'))
    assert result['failed'] is True and 'no_such_option' in result['msg'] and 'runs on the controller' not in result['msg']
