# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The schedule_plan action plugin in-process: it reads the role's variables and every host's deliveries, refuses
bad inputs with one message, and plans only once it has the host's facts. Its parts are tested in
tests/unit/plugins/plugin_utils/test_schedule_*.py, the role as a whole in tests/integration/test_schedule.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest
from ansible.errors import AnsibleUndefinedVariable
from ansible.playbook.task import Task

from ansible_collections.tokenops.oauth2.plugins.action.schedule_plan import ActionModule

from ..plugin_utils.test_schedule_inputs import defaults


def run(variables, template=None, **args):
    task = Task()
    task.args = args
    templar = mock.MagicMock()
    templar.template.side_effect = template or (lambda value: value)
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=templar,
                          shared_loader_obj=None)
    return action.run(task_vars=variables)


def variables(**overrides):
    data = defaults(**overrides)
    data.update(inventory_hostname='ctl', groups={'all': ['ctl', 'web1']}, hostvars={
        'ctl': {'oauth2_deliveries': [{'profile': 'api', 'to': 'env_file', 'path': '/srv/api/t.env'}]},
        'web1': {'ansible_connection': 'ssh',
                 'oauth2_deliveries': [{'profile': 'web', 'to': 'env_file', 'path': '/etc/web/t.env'}]}})
    return data


def test_without_the_hosts_facts_only_the_inputs_are_checked():
    result = run(variables(token_lifetimes={'api': 600}))
    assert not result.get('failed') and result['profiles'] == ['api', 'web'] and result['unknown_lifetimes'] == ['web']
    assert 'files' not in result and 'result' not in result


def test_every_problem_in_one_message():
    result = run(variables(inventory='relative', interval='soon'))
    assert result['failed'] and result['msg'].startswith('oauth2_schedule_inventory must be the absolute path')
    assert "oauth2_schedule_interval: 'soon' is not a number of seconds" in result['msg']


def test_a_variable_that_cannot_be_templated_is_named():
    def template(value):
        if value == '{{ nope }}':
            raise AnsibleUndefinedVariable("'nope' is undefined")
        return value
    result = run(variables(group='{{ nope }}'), template=template)
    assert result['failed'] and result['msg'].startswith("oauth2_schedule_group: 'nope' is undefined")


def test_removal_reports_an_empty_schedule():
    result = run(variables(state='absent', inventory=''))
    assert result['result'] == dict(state='absent', backend=None, interval=None, randomized_delay=None, lifetimes={},
                                    warnings=[], command=[])


def test_the_plan_with_the_hosts_facts():
    result = run(variables(token_lifetimes={'api': 900}, backend='auto'), home='/root', systemd_runs_host=False,
                 probed_lifetimes={'web': 120})
    assert (result['backend'], result['interval'], result['effective_interval'], result['randomized_delay']) == (
        'cron', 60, 60, 6)
    assert result['lock'] == '/var/lib/tokenops-oauth2/tokenops-oauth2-rotate.lock'
    assert result['lock_directory'] == '/var/lib/tokenops-oauth2' and list(result['files']) == ['cron']
    assert result['result']['lifetimes'] == {'api': 900, 'web': 120} and result['schedule_warnings'] == []
    assert 'warnings' not in result  # ansible would show those as its own
    assert result['result']['command'][:4] == ['/usr/bin/ansible-playbook', 'tokenops.oauth2.rotate', '-i',
                                               '/srv/inventory']
    # web1 is reached over ssh: its delivery directory is not written on this machine.
    assert 'ReadWritePaths' not in result['files']['cron'] and '/etc/web' not in str(result['paths_to_trust'])
    systemd = run(variables(interval=600, backend='systemd', hardening='yes'), home='/root')
    assert sorted(systemd['files']) == ['service', 'timer']
    assert 'ReadWritePaths=-/root -/var/lib/tokenops-oauth2 -/srv/api\n' in systemd['files']['service']


@pytest.mark.parametrize('backend', ['systemd', 'cron'])
def test_without_an_interval_there_is_nothing_to_render_but_the_paths_are_listed(backend):
    result = run(variables(backend=backend), home='/root')
    assert result['interval'] is None and result['files'] == {} and result['paths_to_trust']


def test_bad_arguments_are_refused():
    result = run(variables(), home=['not', 'a', 'path'], probed_lifetimes='x')
    assert result['failed'] and 'probed_lifetimes' in result['msg']
