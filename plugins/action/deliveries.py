# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.deliveries: the deliver role's steps that decide, on the controller.

A thin shell: it reads the role's variables and what the role's tasks registered (on this host, or on every host
of the play through hostvars) and hands them to plugin_utils.deliveries, which holds every rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import DELIVERIES_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.plugin_utils import deliveries as rules
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.value_kind import kind_of

# What the role's tasks register (roles/deliver/tasks/main.yml), read here by name.
MINE = '__oauth2_deliver_mine'  # step host: this host's deliveries and their problems
TOKENS = '__oauth2_deliver_tokens'  # the token task, once for the batch
ENV_WRITTEN = '__oauth2_deliver_env_written'  # each host's env_file writes
VAULT_WRITTEN = '__oauth2_deliver_vault_written'  # the vault_vars writes, once for the batch
# The role's force switch, and the rotate playbook's older name for it.
FORCE = 'oauth2_deliver_force'
OLD_FORCE = 'oauth2_force'

display = Display()


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # everything it reads is on the controller
    ARGUMENT_SPEC = DELIVERIES_OPTIONS

    def run_action(self, task, task_vars, result):
        step = getattr(self, '_' + task['step'])
        try:
            result.update(step(task_vars), changed=False)
        except AnsibleError as exc:  # a role variable that does not template, or a switch that is not a boolean
            return dict(result, failed=True, msg=to_text(exc))
        return result

    def _host(self, task_vars):
        """This host's deliveries, checked and with their defaults; never fails (step batch reports them)."""
        restart = self._variable(task_vars, 'oauth2_deliver_restart')
        deliveries, problems = rules.host_deliveries(
            task_vars.get('inventory_hostname'), self._variable(task_vars, 'oauth2_deliveries'),
            boolean(restart, strict=False) if restart is not None else True)
        return dict(deliveries=deliveries, env_files=[d for d in deliveries if d.get('to') == 'env_file'],
                    problems=problems)

    def _batch(self, task_vars):
        """Every host's problems at once (the role stops before any request), else what to obtain and write."""
        batch = task_vars.get('ansible_play_batch') or [task_vars.get('inventory_hostname')]
        problems, profiles, vault_files = rules.batch_plan(dict(
            (host, self._host_variable(task_vars, host, MINE)) for host in batch))
        if problems:
            return dict(failed=True, msg='oauth2_deliveries: ' + ' '.join(problems))
        force = self._flag(task_vars, FORCE)
        if self._variable(task_vars, OLD_FORCE) is not None:
            display.deprecated('%s is deprecated: set %s instead (the deliver role and the rotate playbook both read '
                               'it)' % (OLD_FORCE, FORCE), version='2.0.0',
                               collection_name='tokenops.oauth2')
            force = force or self._flag(task_vars, OLD_FORCE)
        return dict(profiles=profiles, vault_files=vault_files,
                    force_refresh=force and not self._task.check_mode)

    def _summary(self, task_vars):
        hosts = []
        for host in task_vars.get('ansible_play_hosts_all') or [task_vars.get('inventory_hostname')]:
            mine = self._host_variable(task_vars, host, MINE) or {}
            hosts.append((host, mine.get('deliveries') or [], self._host_variable(task_vars, host, ENV_WRITTEN)))
        entries = rules.summary(native(task_vars.get(TOKENS)), native(task_vars.get(VAULT_WRITTEN)), hosts)
        return dict(summary=entries, failure=rules.failure_message(entries))

    def _variable(self, task_vars, name):
        try:
            return native(self._templar.template(task_vars.get(name)))
        except AnsibleError as exc:
            raise AnsibleError('%s: %s' % (name, to_text(exc)))

    def _flag(self, task_vars, name):
        value = self._variable(task_vars, name)
        try:
            return boolean(value, strict=True) if value is not None else False
        except TypeError:
            raise AnsibleError('%s must be true or false, got %s' % (name, kind_of(value)))

    @staticmethod
    def _host_variable(task_vars, host, name):
        """What the role registered as NAME on HOST (None where it did not)."""
        try:
            return native(task_vars.get('hostvars', {})[host].get(name))
        except (KeyError, AttributeError):  # not a host of the inventory (older cores raise, newer return a marker)
            return None
