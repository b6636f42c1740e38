# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deliveries action plugin in-process: what each step of the deliver role reads and returns. The rules are
tested in tests/unit/plugins/plugin_utils/test_deliveries.py, the role in tests/integration/test_deliver.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest
from ansible.errors import AnsibleUndefinedVariable
from ansible.playbook.task import Task

from ansible_collections.tokenops.oauth2.plugins.action import deliveries as plugin

DELIVERY = dict(profile='api', to='env_file', path='/srv/api.env', vars=dict(API_TOKEN='access_token'))


def run(variables, step, template=None, check_mode=False):
    task = Task()
    task.args = dict(step=step)
    task.check_mode = check_mode
    templar = mock.MagicMock()
    templar.template.side_effect = template or (lambda value: value)
    action = plugin.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=templar,
                                 shared_loader_obj=None)
    return action.run(task_vars=variables)


def host_step(host, deliveries, **variables):
    return run(dict(variables, inventory_hostname=host, oauth2_deliveries=deliveries), 'host')


def batch_variables(**hosts):
    return dict(inventory_hostname=sorted(hosts)[0], ansible_play_batch=sorted(hosts),
                hostvars=dict((host, {plugin.MINE: mine}) for host, mine in hosts.items()))


def test_the_host_step_never_fails_and_splits_out_the_env_files():
    result = host_step('web1', [DELIVERY, dict(DELIVERY, to='vault_vars', path='/inv/a.yml'), dict(DELIVERY, path='')])
    assert not result.get('failed') and result['changed'] is False
    assert [d['path'] for d in result['env_files']] == ['/srv/api.env', '']
    assert len(result['deliveries']) == 3 and result['problems'] == [
        'web1, delivery 3 (env_file ): path must not be empty.']


def test_the_host_step_names_a_variable_that_cannot_be_templated():
    def template(value):
        if value == '{{ nope }}':
            raise AnsibleUndefinedVariable("'nope' is undefined")
        return value
    result = run(dict(inventory_hostname='web1', oauth2_deliveries='{{ nope }}'), 'host', template=template)
    assert result['failed'] and result['msg'] == "oauth2_deliveries: 'nope' is undefined"


def test_the_restart_switch_decides_the_restart_handler():
    restarting = dict(DELIVERY, restart=['api.service'])
    assert host_step('web1', [restarting])['deliveries'][0]['handlers'] == ['tokenops.oauth2.deliver restart']
    assert host_step('web1', [restarting], oauth2_deliver_restart='no')['deliveries'][0]['handlers'] == []


def test_the_batch_step_reports_every_host_at_once():
    web1, web2 = host_step('web1', [dict(DELIVERY, mode='abc')]), host_step('web2', [dict(DELIVERY, profile=None)])
    result = run(batch_variables(web1=web1, web2=web2), 'batch')
    assert result['failed'] and result['msg'] == (
        "oauth2_deliveries: web1, delivery 1 (env_file /srv/api.env): mode must be an octal string such as '0640', "
        "got 'abc'. web2, delivery 1 (env_file /srv/api.env): profile must be a string, got null.")


def test_the_batch_step_plans_the_requests():
    web1 = host_step('web1', [DELIVERY, dict(DELIVERY, to='vault_vars', path='/inv/a.yml')])
    web2 = host_step('web2', [dict(DELIVERY, profile='app'), dict(DELIVERY, to='vault_vars', path='/inv/a.yml')])
    result = run(batch_variables(web1=web1, web2=web2), 'batch')
    assert not result.get('failed')
    assert result['profiles'] == ['api', 'app'] and len(result['vault_files']) == 1
    assert result['force_refresh'] is False


@pytest.mark.parametrize('variables, check_mode, force', [
    (dict(oauth2_deliver_force=True), False, True),
    (dict(oauth2_deliver_force='yes'), False, True),
    (dict(oauth2_deliver_force=True), True, False),  # check mode renews nothing on purpose
    (dict(oauth2_deliver_force=False), False, False),
])
def test_the_force_switch(variables, check_mode, force):
    variables.update(batch_variables(web1=host_step('web1', [DELIVERY])))
    with mock.patch.object(plugin.display, 'deprecated') as deprecated:
        assert run(variables, 'batch', check_mode=check_mode)['force_refresh'] is force
    assert not deprecated.called


@pytest.mark.parametrize('old, new, force', [(True, False, True), ('true', None, True), (False, True, True),
                                             (False, False, False)])
def test_the_old_force_switch_still_works_with_a_deprecation_warning_naming_the_new_one(old, new, force):
    variables = dict(batch_variables(web1=host_step('web1', [DELIVERY])), oauth2_force=old, oauth2_deliver_force=new)
    with mock.patch.object(plugin.display, 'deprecated') as deprecated:
        assert run(variables, 'batch')['force_refresh'] is force
    (message,), options = deprecated.call_args
    assert message.startswith('oauth2_force is deprecated: set oauth2_deliver_force instead')
    assert options == dict(version='2.0.0', collection_name='tokenops.oauth2')


def test_a_force_switch_that_is_no_boolean_is_named():
    variables = dict(batch_variables(web1=host_step('web1', [DELIVERY])), oauth2_deliver_force=['yes'])
    result = run(variables, 'batch')
    assert result['failed'] and result['msg'] == 'oauth2_deliver_force must be true or false, got a list'


def test_the_summary_step_reads_what_every_host_registered():
    mine = host_step('web1', [DELIVERY])
    delivery = mine['deliveries'][0]
    variables = dict(
        inventory_hostname='web1', ansible_play_hosts_all=['web1', 'web2'],
        hostvars=dict(web1={plugin.MINE: mine, plugin.ENV_WRITTEN: dict(results=[dict(
            item=delivery, failed=True, msg='no such directory')])}, web2={}),
        **{plugin.TOKENS: dict(results=[dict(item='api', access_token='secret-at', expires_at='2030-01-01T00:00:00Z',
                                             from_cache=True)])})
    result = run(variables, 'summary')
    assert [entry['line'] for entry in result['summary']] == [
        'api: still valid (expires 2030-01-01T00:00:00Z) -> web1:/srv/api.env. FAILED: not written to '
        'web1:/srv/api.env (no such directory)']
    assert result['failure'].startswith('1 of 1 delivered profiles failed: api: ')
    assert 'secret-at' not in str(result)


def test_an_unknown_step_is_refused():
    result = run({}, 'everything')
    assert result['failed'] and 'value of step must be one of: host, batch, summary' in result['msg']
