# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.controller: where a profile's rotated refresh token is written back, and where its cache is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import (
    cache_directory, file_cache, refresh_token_settings, refresh_token_store)

BASE = dict(token_url='https://idp.example/token', grant_type='refresh_token', client_id='app',
            client_secret='s3cr3t', refresh_token='rt')


def test_no_store_without_a_vars_file():
    assert refresh_token_store(build_profile('app', BASE), {'inventory_dir': '/srv/inv'}) is None


def test_relative_vars_file_is_under_the_inventory_directory_with_the_onboard_variable_name():
    profile = build_profile('lockit-prod', dict(BASE, refresh_token_vars_file='group_vars/all/rt.yml'))
    assert refresh_token_store(profile, {'inventory_dir': '/srv/inv'}) == dict(
        path='/srv/inv/group_vars/all/rt.yml', var='vault_lockit_prod_refresh_token')


def test_inventory_file_source_and_explicit_variable(tmp_path):
    hosts = tmp_path / 'hosts.yml'
    hosts.write_text('all: {}\n')
    profile = build_profile('app', dict(BASE, refresh_token_vars_file='rt.yml', refresh_token_var='app_rt'))
    assert refresh_token_store(profile, {'ansible_inventory_sources': [str(hosts)]}) == dict(
        path=str(tmp_path / 'rt.yml'), var='app_rt')


def test_absolute_vars_file_is_kept():
    profile = build_profile('app', dict(BASE, refresh_token_vars_file='/etc/tokenops/rt.yml'))
    assert refresh_token_store(profile, {'inventory_dir': '/srv/inv'})['path'] == '/etc/tokenops/rt.yml'


def test_a_store_path_given_replaces_the_profiles_file_and_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    profile = build_profile('app', dict(BASE, refresh_token_vars_file='group_vars/all/rt.yml'))
    assert refresh_token_store(profile, {'inventory_dir': '/srv/inv'}, path='here/rt.yml') == dict(
        path=str(tmp_path / 'here' / 'rt.yml'), var='vault_app_refresh_token')
    assert refresh_token_store(build_profile('app', BASE), {}, path='/abs/rt.yml')['path'] == '/abs/rt.yml'


@pytest.mark.parametrize('path, shown', [
    ('/srv/inv/group_vars/all/rt.yml', 'group_vars/all/rt.yml'),
    ('/srv/inventory-old/rt.yml', '/srv/inventory-old/rt.yml'),
    ('/etc/tokenops/rt.yml', '/etc/tokenops/rt.yml'),
])
def test_the_settings_to_add_lead_back_to_the_same_store(path, shown):
    variables = {'inventory_dir': '/srv/inv'}
    profile = build_profile('lockit-prod', BASE)
    store = dict(path=path, var='vault_lockit_prod_refresh_token')
    settings = refresh_token_settings(profile, store, variables)
    assert settings == dict(grant_type='refresh_token', refresh_token='{{ vault_lockit_prod_refresh_token }}',
                            refresh_token_vars_file=shown)
    assert refresh_token_store(build_profile('lockit-prod', dict(BASE, **settings)), variables) == store


def test_a_variable_other_than_the_default_is_part_of_the_settings():
    store = dict(path='/srv/inv/rt.yml', var='lockit_rt')
    settings = refresh_token_settings(build_profile('lockit', BASE), store, {'inventory_dir': '/srv/inv'})
    assert settings['refresh_token_var'] == 'lockit_rt' and settings['refresh_token'] == '{{ lockit_rt }}'


@pytest.mark.parametrize('var', ['1st', 'with-dash', 'two words', 'x }}{{ lookup("pipe", "id") }}', 'None', u'tökén'])
def test_refresh_token_var_must_be_a_variable_name(var):
    with pytest.raises(ProfileError, match="'refresh_token_var' must be an Ansible variable name"):
        build_profile('app', dict(BASE, refresh_token_var=var))


# The cache directory: one rule for the lookup and the action plugins.

def test_the_profiles_own_cache_directory_wins_over_the_setting_and_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    own = build_profile('app', dict(BASE, cache_dir='/srv/own-cache'))
    assert cache_directory(own, '/srv/setting') == '/srv/own-cache'
    assert cache_directory(build_profile('app', BASE), '/srv/setting') == '/srv/setting'
    assert cache_directory(build_profile('app', BASE)) == str(tmp_path / 'xdg' / 'tokenops-oauth2')


def test_a_file_cache_only_when_the_profile_keeps_one(tmp_path):
    assert file_cache(build_profile('app', dict(BASE, cache=False)), str(tmp_path / 'off')) is None
    assert not (tmp_path / 'off').exists()
    cache = file_cache(build_profile('app', BASE), str(tmp_path / 'on'))
    assert cache.directory == str(tmp_path / 'on') and cache.profile_name == 'app'
