# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.deliveries: the deliver role's rules, without Ansible. The role as a whole is tested in
tests/integration/test_deliver.py; its bad inputs in test_bad_input_matrix.py (group deliver)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.plugin_utils import deliveries as rules

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'deliver')


def env(**overrides):
    delivery = dict(profile='api', to='env_file', path='/srv/api/token.env', vars=dict(API_TOKEN='access_token'))
    delivery.update(overrides)
    return delivery


def problems_of(*deliveries, **options):
    return rules.host_deliveries('web1', list(deliveries), **options)[1]


def tokens(*results):
    return dict(results=list(results), changed=False, msg='All items completed')


def token(profile, **fields):
    result = dict(item=profile, access_token='at-' + profile, token_type='Bearer', expires_in=3600,
                  expires_at='2030-01-01T00:00:00Z', refresh_token=None, scope='read', profile=profile,
                  from_cache=False, header='Bearer at-' + profile, changed=False)
    result.update(fields)
    return result


def failed(profile, msg=None):
    return dict(item=profile, failed=True, msg=msg or "profile '%s': the token endpoint said no" % profile)


# --- what a delivery may say -----------------------------------------------------------------------------------------

def test_the_fields_are_the_token_mapping_without_its_metadata():
    assert rules.FIELDS == ('access_token', 'expires_at', 'expires_in', 'header', 'refresh_token', 'scope',
                            'token_type')
    assert set(rules.FIELDS) | set(rules.TOKEN_METADATA) == set(Token('a', 'Bearer', 0, 60).as_result(0))
    assert set(rules.COUNTDOWN_FIELDS) <= set(rules.FIELDS)


def test_the_defaults_are_those_the_argument_spec_documents():
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        spec = yaml.safe_load(handle)['argument_specs']['main']['options']['oauth2_deliveries']['options']
    documented = dict((name, option['default']) for name, option in spec.items() if 'default' in option)
    assert documented == rules.DEFAULTS
    assert sorted(spec['to']['choices']) == sorted(rules.KINDS)


def test_a_good_delivery_gets_its_defaults_and_what_it_notifies():
    mine, problems = rules.host_deliveries('web1', [
        env(restart=['api.service'], vars=dict(API_TOKEN='access_token', API_TOKEN_EXPIRES_IN='expires_in')),
        env(to='vault_vars', path='/inv/group_vars/all/api.yml', notify=['reload api'], mode=0o640),
        env(state='absent', vars=dict(OLD='expires_in'))])
    assert problems == []
    assert [(d['state'], d['mode'], d['follow'], d['counts_down'], d['handlers']) for d in mine] == [
        ('present', '0600', False, True, [rules.COUNTDOWN_HANDLER, rules.RESTART_HANDLER]),
        ('present', 0o640, False, False, [rules.NOTIFY_HANDLER]),
        ('absent', '0600', False, False, [])]
    assert mine[0]['restart'] == ['api.service'] and mine[1]['restart'] == [] and mine[1]['notify'] == ['reload api']


def test_without_restarts_the_restart_handler_is_not_notified():
    mine, problems = rules.host_deliveries('web1', [env(restart=['api.service'])], restart_units=False)
    assert mine[0]['handlers'] == []


def test_the_defaults_are_never_shared_between_deliveries():
    first, second = rules.host_deliveries('web1', [env(), env()])[0]
    first['restart'].append('x.service')
    assert second['restart'] == [] and rules.DEFAULTS['restart'] == []


@pytest.mark.parametrize('deliveries', [None, []])
def test_no_deliveries_is_nothing_to_do(deliveries):
    assert rules.host_deliveries('web1', deliveries) == ([], [])


@pytest.mark.parametrize('overrides, problem', [
    (dict(profile=['api']), 'profile must be a string, got a list.'),
    (dict(profile=''), 'profile must not be empty.'),
    (dict(path=None), 'path must be a string, got null.'),
    (dict(path='/srv/a\x00b'), 'path must not hold a NUL byte.'),
    (dict(owner=['root']), 'owner must be a string, got a list.'),
    (dict(group=7), 'group must be a string, got a number.'),
    (dict(mode='9999'), "mode must be an octal string such as '0640', got '9999'."),
    (dict(mode='0600\n'), "mode must be an octal string such as '0640', got '0600?'."),
    (dict(mode=True), "mode must be an octal string such as '0640', got a boolean."),
    (dict(mode=0o17777), "mode must be an octal string such as '0640', got a number."),
    (dict(restart='api.service'), 'restart must be a list of names, got a string.'),
    (dict(notify={'a': 1}), 'notify must be a list of names, got a mapping.'),
    (dict(restart=[None]), 'restart must be a list of names (non-empty strings), got one that is null.'),
    (dict(notify=['']), 'notify must be a list of names (non-empty strings), got one that is empty.'),
    (dict(restart=['a\x00b']), 'got one that is a string with a NUL byte.'),
    (dict(vars='API_TOKEN'), 'vars must be a mapping of variable name to token field, got a string.'),
    (dict(vars=dict(TOKEN='acces_token')), "TOKEN asks for 'acces_token', which is not a token field (one of "
                                           "access_token, expires_at, expires_in, header, refresh_token, scope, "
                                           "token_type)."),
    (dict(vars=dict(TOKEN=['access_token'])), "TOKEN asks for '['access_token']', which is not a token field"),
    (dict(vars=dict(TOKEN='x' * 10000)), "TOKEN asks for '%s...', which" % ('x' * 57)),
    (dict(vars={'1TOKEN': 'access_token'}), "'1TOKEN' is not a valid variable name (letters, digits and _, not "
                                            "starting with a digit)."),
    (dict(vars={'TOKEN\n': 'access_token'}), "'TOKEN?' is not a valid variable name"),
    (dict(vars={u'tökén': 'access_token'}), u"'tökén' is not a valid variable name"),
    (dict(to='vault_vars', restart=['a.service']), 'owner, group and restart apply to env_file deliveries only.'),
    (dict(to='vault_vars', owner=None), 'owner, group and restart apply to env_file deliveries only.'),
])
def test_each_problem_names_host_delivery_and_field(overrides, problem):
    found = problems_of(env(), env(**overrides))
    assert len(found) == 1 and found[0].startswith('web1, delivery 2 (') and problem in found[0], found


def test_where_quotes_the_path_without_control_characters():
    found = problems_of(env(path='/srv/\x1b[31mred\n.env', profile=''))
    assert found == ['web1, delivery 1 (env_file /srv/?[31mred?.env): profile must not be empty.']


def test_removal_does_not_check_the_fields():
    assert problems_of(env(state='absent', vars=dict(TOKEN='anything'))) == []
    assert problems_of(env(state='absent', vars={'1TOKEN': 'x'})) != []


def test_every_problem_of_a_delivery_is_reported_at_once():
    found = problems_of(env(profile=None, mode='abc', vars={'1X': 'nope'}))
    assert len(found) == 4


@pytest.mark.parametrize('deliveries, problem', [
    ('api', 'web1: oauth2_deliveries must be a list of deliveries, got a string.'),
    ({'profile': 'api'}, 'web1: oauth2_deliveries must be a list of deliveries, got a mapping.'),
    ([None], 'web1, delivery 1 must be a mapping, got null.'),
    ([['api']], 'web1, delivery 1 must be a mapping, got a list.'),
])
def test_deliveries_that_are_no_list_of_mappings(deliveries, problem):
    assert rules.host_deliveries('web1', deliveries) == ([], [problem])


# --- once for the batch ----------------------------------------------------------------------------------------------

def test_the_batch_needs_each_present_profile_once_and_each_vars_file_once():
    web1 = rules.host_deliveries('web1', [env(), env(to='vault_vars', path='/inv/api.yml'), env(profile='gone',
                                                                                                state='absent')])
    web2 = rules.host_deliveries('web2', [env(profile='app'), env(to='vault_vars', path='/inv/api.yml')])
    problems, profiles, vault_files = rules.batch_plan(dict(
        web1=dict(deliveries=web1[0], problems=web1[1]), web2=dict(deliveries=web2[0], problems=web2[1]), web3=None))
    assert problems == [] and profiles == ['api', 'app']
    assert [d['path'] for d in vault_files] == ['/inv/api.yml']


def test_the_batch_reports_every_host_s_problems_and_plans_nothing():
    plan = rules.batch_plan(dict(web1=dict(deliveries=[], problems=['web1: a.']),
                                 web2=dict(deliveries=[], problems=['web2: b.', 'web2: c.'])))
    assert plan == (['web1: a.', 'web2: b.', 'web2: c.'], [], [])


# --- what is written -------------------------------------------------------------------------------------------------

def test_what_is_written_for_a_delivery():
    delivery = rules.with_defaults(env(vars=dict(T='access_token', H='header', IN='expires_in', R='refresh_token')))
    results = tokens(token('api'))
    assert rules.delivery_values(delivery, results) == dict(T='at-api', H='Bearer at-api', R='')
    assert rules.delivery_values(delivery, results, countdown=True) == dict(IN=3600)
    removal = rules.with_defaults(env(state='absent', vars=dict(T='access_token', IN='expires_in')))
    assert rules.delivery_values(removal, tokens()) == ['T', 'IN']


def test_deliveries_of_a_profile_without_token_are_left_as_they_were():
    mine = [rules.with_defaults(d) for d in (env(), env(profile='app'), env(profile='app', state='absent'))]
    results = tokens(failed('app'), token('api'))
    assert [(d['profile'], d['state']) for d in rules.deliverable(mine, results)] == [('api', 'present'),
                                                                                      ('app', 'absent')]
    assert rules.deliverable(mine, dict(results=[], skipped=True)) == [mine[2]]
    with pytest.raises(ValueError, match="no token was obtained for profile 'app'"):
        rules.delivery_values(mine[1], results)


# --- the summary -----------------------------------------------------------------------------------------------------

def written(*results):
    return dict(results=list(results), changed=any(r.get('changed') for r in results))


def write(delivery, failed_msg=None):
    if failed_msg:
        return dict(item=delivery, failed=True, msg=failed_msg)
    return dict(item=delivery, changed=True, keys_changed=list(delivery['vars']))


def test_the_summary_says_what_happened_to_each_profile():
    api_env, app_env = rules.with_defaults(env()), rules.with_defaults(env(profile='app', path='/srv/app.env'))
    api_vars = rules.with_defaults(env(to='vault_vars', path='/inv/api.yml'))
    hosts = [('web1', [api_env, app_env, api_vars], written(write(api_env), write(app_env))),
             ('web2', [api_env, api_vars], written(write(api_env, 'cannot write /srv/api/token.env: disk full')))]
    entries = rules.summary(tokens(token('api', from_cache=True), token('app')), written(write(api_vars)),
                            hosts)
    assert [(e['profile'], e['status'], e['destinations']) for e in entries] == [
        ('api', 'failed', ['web1:/srv/api/token.env', '/inv/api.yml', 'web2:/srv/api/token.env']),
        ('app', 'renewed', ['web1:/srv/app.env'])]
    assert entries[0]['line'] == (
        'api: still valid (expires 2030-01-01T00:00:00Z) -> web1:/srv/api/token.env, /inv/api.yml, '
        'web2:/srv/api/token.env. FAILED: not written to web2:/srv/api/token.env (cannot write /srv/api/token.env: '
        'disk full)')
    assert entries[1] == dict(profile='app', status='renewed', reason=None, expires_at='2030-01-01T00:00:00Z',
                              destinations=['web1:/srv/app.env'],
                              line='app: renewed (expires 2030-01-01T00:00:00Z) -> web1:/srv/app.env')
    assert rules.failure_message(entries) == (
        '1 of 2 delivered profiles failed (the others were delivered): ' + entries[0]['line'])


def test_a_profile_without_token_is_reported_without_its_name_repeated():
    api_env = rules.with_defaults(env())
    entries = rules.summary(tokens(failed('api')), None, [('web1', [api_env], dict(results=[]))])
    assert entries == [dict(profile='api', status='failed', reason='the token endpoint said no', expires_at=None,
                            destinations=['web1:/srv/api/token.env'],
                            line='api: FAILED, left as they were: web1:/srv/api/token.env. the token endpoint said no')]
    assert rules.failure_message(entries) == '1 of 1 delivered profiles failed: ' + entries[0]['line']


def test_a_refresh_token_not_written_back_fails_its_profile_after_delivering():
    lockit = rules.with_defaults(env(profile='lockit'))
    # The token action wrote the rotated refresh token back itself, and says in its result that it could not.
    result = token('lockit', refresh_token='rt',
                   refresh_token_store=dict(path='/inv/rt.yml', var='rt', error='cannot write /inv/rt.yml'))
    entry, = rules.summary(tokens(result), None, [('web1', [lockit], written(write(lockit)))])
    assert entry['status'] == 'failed' and entry['reason'].startswith(
        'the rotated refresh token could not be written back to /inv/rt.yml: cannot write /inv/rt.yml (the '
        'controller cache still holds it')


def test_nothing_asked_nothing_failed():
    assert rules.summary(dict(results=[], skipped=True), None, []) == []
    assert rules.failure_message([]) == ''
