# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.schedule_plan: the schedule role's variables checked, and what it installs.

A thin shell: it reads the role's oauth2_schedule_* variables (as ansible.builtin.validate_argument_spec does, from
the task's variables, templated) and the deliveries of every host, and hands them to plugin_utils: schedule_inputs
checks them, schedule_plan works the schedule out, schedule_units renders the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import SCHEDULE_PLAN_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.plugin_utils import schedule_plan as plan
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_inputs import PREFIX, input_problems
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_units import cron_entry, service_unit, timer_unit

# The role's variables, all with defaults in roles/schedule/defaults/main.yml.
SETTINGS = tuple(PREFIX + name for name in (
    'state', 'backend', 'playbook', 'inventory', 'ansible_playbook', 'vault_password_file', 'vault_ids', 'extra_args',
    'environment', 'force_renewal', 'interval', 'randomized_delay', 'on_boot', 'run_timeout', 'token_lifetimes',
    'probe_lifetimes', 'profiles', 'user', 'group', 'working_dir', 'unit_name', 'unit_dir', 'cron_file', 'lock_file',
    'systemctl', 'hardening', 'read_write_paths'))
ABSENT_RESULT = dict(state='absent', backend=None, interval=None, randomized_delay=None, lifetimes={}, warnings=[],
                     command=[])


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # the host's facts come as arguments
    ARGUMENT_SPEC = SCHEDULE_PLAN_OPTIONS

    def run_action(self, task, task_vars, result):
        try:
            settings = dict((name, self._variable(task_vars, name)) for name in SETTINGS)
            problems = input_problems(settings)
            if problems:
                return dict(result, failed=True, msg=' '.join(problems))
            if settings[PREFIX + 'state'] == 'absent':
                return dict(result, changed=False, result=ABSENT_RESULT)
            hosts = self._hosts(task_vars)
        except AnsibleError as exc:
            return dict(result, failed=True, msg=to_text(exc))
        profiles = plan.delivered_profiles(settings, hosts)
        result.update(changed=False, profiles=profiles, unknown_lifetimes=plan.unknown_lifetimes(settings, profiles))
        if task['home'] is None:  # the first call: the inputs only, before the host is asked anything
            return result
        result.update(self._plan(settings, hosts, task, task_vars.get('inventory_hostname', '')))
        return result

    def _variable(self, task_vars, name):
        try:
            return self._templar.template(task_vars.get(name))
        except AnsibleError as exc:
            raise AnsibleError('%s: %s' % (name, to_text(exc)))

    def _hosts(self, task_vars):
        """Every host of the inventory (and this one, which may be the implicit localhost), with its deliveries."""
        me = task_vars.get('inventory_hostname')
        names = list(task_vars.get('groups', {}).get('all', []))
        names += [me] if me not in names else []
        hostvars = task_vars.get('hostvars', {})
        hosts = []
        for name in names:
            variables = hostvars[name]
            try:
                deliveries = variables.get('oauth2_deliveries') or []
                connection = variables.get('ansible_connection') or ''
            except AnsibleError as exc:
                raise AnsibleError('cannot read the oauth2_deliveries of host %s: %s' % (name, to_text(exc)))
            local = name == me or name in plan.LOCAL_HOSTS or connection == 'local'
            hosts.append(plan.Host(name, local, deliveries))
        return hosts

    @staticmethod
    def _plan(settings, hosts, args, hostname):
        spans = plan.spans_in_seconds(settings)
        backend = settings[PREFIX + 'backend']
        if backend == 'auto':
            backend = 'systemd' if args['systemd_runs_host'] else 'cron'
        lifetimes, probe_warnings = plan.known_lifetimes(settings, args['probed_lifetimes'])
        timing = plan.timing(spans, lifetimes, backend, hostname, settings[PREFIX + 'unit_name'])
        warnings = probe_warnings + timing.pop('warnings')
        home = args['home']
        lock = plan.lock_path(settings, home)
        command = plan.ansible_playbook_command(settings, timing['renew_before'])
        unit = dict(timing, playbook=settings[PREFIX + 'playbook'], user=settings[PREFIX + 'user'],
                    group=settings[PREFIX + 'group'], working_dir=settings[PREFIX + 'working_dir'],
                    environment=plan.run_environment(settings), run=plan.run_command(lock, command),
                    unit_name=settings[PREFIX + 'unit_name'], on_boot=spans['on_boot'],
                    run_timeout=spans['run_timeout'], hardening=boolean(settings[PREFIX + 'hardening'], strict=False),
                    read_write_paths=plan.read_write_paths(settings, home, lock, plan.delivery_directories(hosts)))
        files = {}  # without an interval the role stops after checking the paths, and says what to set
        if timing['interval']:
            files = dict(service=service_unit(unit), timer=timer_unit(unit)) if backend == 'systemd' else dict(
                cron=cron_entry(unit))
        return dict(
            # Not 'warnings': ansible would take those from the result as its own and show them as [WARNING].
            timing, backend=backend, command=command, lock=lock, files=files, schedule_warnings=warnings,
            lock_directory=plan.ROOT_LOCK_DIR if lock.startswith(plan.ROOT_LOCK_DIR + '/') else None,
            paths_to_trust=plan.paths_to_trust(settings, home, lock, backend), search_path=plan.search_path(settings),
            result=dict(state='present', backend=backend, interval=timing['effective_interval'],
                        randomized_delay=timing['randomized_delay'], lifetimes=timing['lifetimes'],
                        warnings=warnings, command=command))
