# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.action_module: the checks, error results and no_log scrubbing every action plugin gets from its base.
Each plugin's own behaviour is proven by its tests (tests/unit/plugins/action, the integration tests)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest
from ansible.playbook.task import Task

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase, no_log_strings
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import VarsFileError

SECRET = 'secret-value-0123'
SPEC = dict(
    name=dict(type='str', required=True),
    where=dict(type='path'),
    count=dict(type='int', default=1),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    password=dict(type='str', no_log=True),
    values=dict(type='raw', no_log=True),
)


class Recorder(ActionModuleBase):
    """An action plugin that records what its base handed it, then does what the test says."""
    ARGUMENT_SPEC = SPEC
    outcome = {}  # an exception to raise, or what to add to the result

    def run_action(self, task, task_vars, result):
        self.params, self.task_vars = task, task_vars
        if isinstance(self.outcome, Exception):
            raise self.outcome  # pylint: disable=raising-bad-type
        return dict(result, **self.outcome)


def run(outcome=None, takes_profile_options=False, **args):
    task = Task()
    task.args = args
    action = type('Plugin', (Recorder,), dict(outcome=outcome or {}, TAKES_PROFILE_OPTIONS=takes_profile_options))(
        task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return action, action.run(task_vars={'inventory_hostname': 'h'})


def test_the_plugin_gets_the_checked_parameters_with_their_defaults():
    action, result = run(outcome=dict(changed=True), name='n', count='3')
    assert result['changed'] is True and not result.get('failed')
    assert action.params == dict(name='n', where=None, count=3, state='present', password=None, values=None)
    assert action.task_vars == {'inventory_hostname': 'h'}


@pytest.mark.parametrize('args, words', [
    (dict(), 'missing required arguments: name'),
    (dict(name='n', state='gone'), 'value of state must be one of: present, absent, got: gone'),
    (dict(name='n', count='many'), 'count'),
    (dict(name='n', unknown='x'), 'unknown'),
    # ansible's str and path types would take the repr of a list or mapping: refused, in words of their own.
    (dict(name=['a', 'b']), 'name must be a string, got a list'),
    (dict(name='n', where={'a': 1}), 'where must be a file path, got a mapping'),
])
def test_bad_arguments_fail_before_the_plugin_runs_naming_the_option(args, words):
    action, result = run(outcome=dict(changed=True), **args)
    assert result['failed'] is True and words in result['msg'] and 'changed' not in result
    assert not hasattr(action, 'params')


def test_every_bad_argument_is_said_once():
    _action, result = run(name=['a'], state=['present'], count='many')
    assert result['msg'].count('name') == 1 and result['msg'].count('state') == 1 and 'count' in result['msg']
    assert "['present']" not in result['msg']  # not also "value of state must be one of ..., got: ['present']"


def test_without_profile_options_other_arguments_are_refused_with_them_they_are_handed_on():
    _action, result = run(name='n', client_id='app')
    assert result['failed'] is True and 'client_id' in result['msg']
    action, result = run(takes_profile_options=True, name='n', client_id='app', token_url='https://idp.example/t')
    assert not result.get('failed') and action.profile_options == dict(client_id='app', token_url='https://idp.example/t')
    assert 'client_id' not in action.params


def test_an_engine_error_is_a_failed_result_with_its_fields():
    error = TokenEndpointError('the token endpoint refused the client', profile='app', url='https://idp.example/t',
                               status=401, error='invalid_client', hint='check client_secret')
    _action, result = run(outcome=error, name='n')
    assert result['failed'] is True and result['msg'] == str(error)
    assert (result['profile'], result['status'], result['error'], result['hint']) == (
        'app', 401, 'invalid_client', 'check client_secret')


def test_a_vars_file_error_is_a_failed_result():
    _action, result = run(outcome=VarsFileError('/srv/x.yml is not a mapping'), name='n')
    assert result == dict(result, failed=True, msg='/srv/x.yml is not a mapping')


def test_other_exceptions_are_bugs_and_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        run(outcome=ZeroDivisionError('bug'), name='n')


@pytest.mark.parametrize('outcome', [
    dict(echoed='the server said: %s' % SECRET, nested={'list': [SECRET]}),
    TokenEndpointError('rejected %s' % SECRET, error_description='bad %s' % SECRET),
    VarsFileError('cannot write %s' % SECRET),
])
def test_no_value_of_a_no_log_option_leaves_the_plugin_whatever_happens(outcome):
    _action, result = run(outcome=outcome, name='n', password=SECRET)
    assert SECRET not in repr(result) and '********' in repr(result)
    _action, result = run(outcome=outcome, name='n', values={'token_var': {'nested': [SECRET]}})
    assert SECRET not in repr(result)


def test_a_no_log_value_in_a_bad_argument_message_is_hidden():
    _action, result = run(name='n', password=SECRET, state=SECRET)
    assert result['failed'] is True and 'state' in result['msg'] and SECRET not in result['msg']


def test_the_strings_to_hide_are_the_leaves_of_a_value():
    assert no_log_strings({'a': 'x', 'b': ['y', {'c': 'z'}], 'd': None, 'e': True, 'f': ''}) == {'x', 'y', 'z'}
    assert no_log_strings(42) == {'42'} and no_log_strings(None) == set() and no_log_strings('') == set()
