# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the rotation tests share: one client-credentials profile delivered to one env file on localhost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_runner_helper import local_inventory


def env_values(path):
    """An env file as a mapping (the rotation tests write plain values)."""
    return dict(line.split('=', 1) for line in path.read_text().splitlines() if '=' in line)


def app_rotation(tmp_path, token_url, client, **profile_options):
    """An inventory whose profile ``app`` (``client`` of the server, with ``profile_options``) is delivered to
    tmp_path/app.env as APP_TOKEN and APP_TOKEN_EXPIRES_AT, with the rotate lock and the cache under tmp_path.
    Returns (inventory path, env file, the environment for run_playbook)."""
    env_file = tmp_path / 'app.env'
    profile = dict(token_url=token_url, client_id=client['client_id'], client_secret=client['client_secret'])
    profile.update(profile_options)
    inventory = local_inventory(
        tmp_path / 'inventory.json', oauth2_profiles={'app': profile},
        oauth2_deliveries=[dict(profile='app', to='env_file', path=str(env_file),
                                vars=dict(APP_TOKEN='access_token', APP_TOKEN_EXPIRES_AT='expires_at'))],
        oauth2_rotate_lock=str(tmp_path / 'rotate.lock'))
    return inventory, env_file, {'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}
