# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the schedule role installs, worked out from its (checked) variables: when the run comes, the command it
runs, what the sandboxed service may write, and every file the run executes or reads, which the role then makes
sure only root and the run user can change (tokenops.oauth2.trusted_paths).

Pure functions of plain data; the action plugin tokenops.oauth2.schedule_plan gathers the data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
from collections import namedtuple

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_inputs import (
    PREFIX, SPANS, lifetime_seconds, span_seconds, vault_path)

# The default interval is this fraction of the shortest token lifetime: with a forced renewal on every run a
# delivered token is at most a third of its lifetime old, so two runs in a row can fail before it expires.
LIFETIME_FRACTION = 3
# ... and never shorter than this (a run starts ansible-playbook, which takes a few seconds).
MIN_INTERVAL = 60
# The default randomized delay: a tenth of the interval, at most this many seconds.
MAX_DEFAULT_DELAY = 300
# cron steps must divide an hour (minutes) or a day (hours).
MINUTE_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12, 24)

FLOCK = '/usr/bin/flock'
# flock's exit status when the previous run still holds the lock (EX_TEMPFAIL); the service counts it a success.
BUSY_STATUS = 75
# The lock of a run as root: in a directory only root can write (the role creates it). /run/lock, where it used to
# be, is writable by every user: another user could create the lock first and hold it, stopping every run.
ROOT_LOCK_DIR = '/var/lib/tokenops-oauth2'
# The PATH of the run: the cron file sets it, and systemd gives services the same.
RUN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Colours would end up in the journal as escape sequences.
BASE_ENVIRONMENT = (('ANSIBLE_NOCOLOR', '1'), ('ANSIBLE_FORCE_COLOR', '0'))
LOCAL_HOSTS = ('localhost', '127.0.0.1', '::1')

# A host of the inventory as the plan needs it: its name, whether the run reaches it with a local connection (so
# that it writes its deliveries on this machine), and its oauth2_deliveries.
Host = namedtuple('Host', 'name local deliveries')


def spans_in_seconds(settings):
    """{'interval': seconds or None, ...} for the role's time spans (checked before: None means unset)."""
    return dict((name, span_seconds(settings[PREFIX + name])) for name in SPANS)


def _deliveries(hosts):
    for host in hosts:
        for delivery in host.deliveries if isinstance(host.deliveries, list) else []:
            if isinstance(delivery, dict):
                yield host, delivery


def delivered_profiles(settings, hosts):
    """The profiles whose token lifetimes bound the interval: oauth2_schedule_profiles, or those that the
    oauth2_deliveries of any host deliver (not those being removed)."""
    if settings[PREFIX + 'profiles'] is not None:
        return list(settings[PREFIX + 'profiles'])
    return sorted(set(delivery['profile'] for host, delivery in _deliveries(hosts)
                      if isinstance(delivery.get('profile'), str) and delivery.get('state', 'present') != 'absent'))


def delivery_directories(hosts):
    """The directories the run writes on this machine: those of vault_vars deliveries (always on the controller, which
    runs the schedule) and of every delivery to a host reached with a local connection."""
    return sorted(set(os.path.dirname(delivery['path']) for host, delivery in _deliveries(hosts)
                      if (host.local or delivery.get('to') == 'vault_vars')
                      and isinstance(delivery.get('path'), str) and os.path.isabs(delivery['path'])))


def unknown_lifetimes(settings, profiles):
    """The profiles to probe: those without a lifetime in oauth2_schedule_token_lifetimes."""
    return [name for name in profiles if name not in settings[PREFIX + 'token_lifetimes']]


def known_lifetimes(settings, probed):
    """Profile -> lifetime in seconds: the given ones, then those PROBED (expires_in of a fresh token). A probed token
    without a usable expires_in is left out with a warning."""
    lifetimes = dict((name, lifetime_seconds(value)) for name, value in settings[PREFIX + 'token_lifetimes'].items())
    warnings = []
    for name, expires_in in sorted((probed or {}).items()):
        seconds = lifetime_seconds(expires_in)
        if seconds is None:
            warnings.append("the token obtained for profile %s has no lifetime (expires_in); give it in "
                            "oauth2_schedule_token_lifetimes" % name)
        else:
            lifetimes[name] = seconds
    return lifetimes, warnings


def cron_timing(interval, host, unit_name):
    """(minute, hour, seconds between runs) of a cron entry running about every INTERVAL seconds.

    The step is the largest that divides an hour (or a day) and is not above the interval, so that cron runs at least
    as often as asked. The offset is random but fixed per host and unit (seeded as Ansible's random filter is), so
    that many hosts do not all run at minute 0 and a second install changes nothing.
    """
    minutes = max(interval // 60, 1)
    if minutes < 60:
        step = max(s for s in MINUTE_STEPS if s <= minutes)
        offset = random.Random(host + unit_name).randrange(step)
        return ('*' if step == 1 else '%d-59/%d' % (offset, step)), '*', step * 60
    step = max(s for s in HOUR_STEPS if s <= minutes // 60)
    minute = random.Random(host + unit_name).randrange(60)
    offset = random.Random(unit_name + host).randrange(step)
    hour = str(offset) if step == 24 else ('%d-23/%d' % (offset, step) if step > 1 else '*')
    return str(minute), hour, step * 3600


def timing(spans, lifetimes, backend, host, unit_name):
    """When the runs come: the interval (given, or a third of the shortest lifetime and at least MIN_INTERVAL; None
    when neither is known), the randomized delay, cron's fields, and warnings when runs come too late."""
    shortest = min(lifetimes.values()) if lifetimes else None
    interval = spans['interval']
    if interval is None and shortest is not None:
        interval = max(shortest // LIFETIME_FRACTION, MIN_INTERVAL)
    delay = spans['randomized_delay']
    if delay is None:
        delay = min((interval or 0) // 10, MAX_DEFAULT_DELAY)
    minute, hour, cron_every = '*', '*', None
    if interval is not None and backend == 'cron':
        minute, hour, cron_every = cron_timing(interval, host, unit_name)
    effective = cron_every or interval
    warnings = []
    if cron_every is not None and cron_every != interval:
        warnings.append('cron cannot run every %ds; it runs every %ds instead (steps divide an hour or a day)'
                        % (interval, cron_every))
    for profile, lifetime in sorted(lifetimes.items(), key=lambda item: str(item[0])) if effective is not None else ():
        if effective + delay >= lifetime:
            warnings.append("the interval (%ds) plus the randomized delay (%ds) is not shorter than the lifetime of "
                            "profile %s's tokens (%ds): its delivered tokens expire before the next run renews them; "
                            "set oauth2_schedule_interval below %ds" % (effective, delay, profile, lifetime,
                                                                        lifetime - delay))
    # Without forced renewal a run renews what would otherwise expire before the run after next: one run may fail,
    # or be skipped, and no delivered token expires.
    renew_before = 2 * (effective + delay) if effective is not None else None
    return dict(interval=interval, randomized_delay=delay, lifetimes=lifetimes, shortest_lifetime=shortest,
                cron_minute=minute, cron_hour=hour, effective_interval=effective, renew_before=renew_before,
                warnings=warnings)


def lock_path(settings, home):
    """oauth2_schedule_lock_file, or by default ROOT_LOCK_DIR/UNIT.lock for root and ~/.UNIT.lock for another user
    (only root may create files in ROOT_LOCK_DIR)."""
    if settings[PREFIX + 'lock_file']:
        return settings[PREFIX + 'lock_file']
    name = settings[PREFIX + 'unit_name']
    if settings[PREFIX + 'user'] == 'root':
        return os.path.join(ROOT_LOCK_DIR, name + '.lock')
    return os.path.join(home, '.%s.lock' % name)


def ansible_playbook_command(settings, renew_before):
    """The ansible-playbook command of a run: no secret, only the paths of where the secrets are."""
    command = [settings[PREFIX + 'ansible_playbook'], settings[PREFIX + 'playbook'], '-i', settings[PREFIX + 'inventory']]
    if settings[PREFIX + 'vault_password_file']:
        command += ['--vault-password-file', settings[PREFIX + 'vault_password_file']]
    command += ['--vault-id=' + vault_id for vault_id in settings[PREFIX + 'vault_ids']]
    if boolean(settings[PREFIX + 'force_renewal'], strict=False):
        command += ['-e', 'oauth2_deliver_force=true']
    elif renew_before is not None:
        command += ['-e', 'oauth2_deliver_renew_before=%d' % renew_before]
    return command + list(settings[PREFIX + 'extra_args'])


def run_command(lock, command):
    """The whole command line: flock first (a run still going makes this one exit BUSY_STATUS at once)."""
    return [FLOCK, '--nonblock', '--conflict-exit-code', str(BUSY_STATUS), lock] + command


def run_environment(settings):
    """The environment of a run, in the order it is written: no colours, then the caller's variables."""
    environment = dict(BASE_ENVIRONMENT)
    environment.update((name, str(value)) for name, value in settings[PREFIX + 'environment'].items())
    return environment


def read_write_paths(settings, home, lock, delivery_dirs):
    """What the service may write under ProtectSystem=strict: the run user's home (ansible's temporary files, the
    token cache), the lock's directory, the cache directory if set, the delivery directories, and what was asked."""
    paths = [home, os.path.dirname(lock)]
    if 'TOKENOPS_OAUTH2_CACHE_DIR' in settings[PREFIX + 'environment']:
        paths.append(str(settings[PREFIX + 'environment']['TOKENOPS_OAUTH2_CACHE_DIR']))
    paths += list(delivery_dirs) + list(settings[PREFIX + 'read_write_paths'])
    return sorted(set(paths), key=paths.index)


def _ansible_path_variables(environment):
    """(variable, path) for each absolute path the run's environment gives ansible to read code or configuration
    from: ANSIBLE_CONFIG, ANSIBLE_LIBRARY, ANSIBLE_MODULE_UTILS, ANSIBLE_*_PLUGINS, ANSIBLE_*_PATH(S)."""
    for name, value in environment.items():
        if name == 'ANSIBLE_CONFIG' or name in ('ANSIBLE_LIBRARY', 'ANSIBLE_MODULE_UTILS') or (
                name.startswith('ANSIBLE_') and name.endswith(('_PLUGINS', '_PATH', '_PATHS'))):
            for path in str(value).split(os.pathsep):
                if os.path.isabs(path):
                    yield name, path


def paths_to_trust(settings, home, lock, backend):
    """What the run executes, reads or creates as its user, each as tokenops.oauth2.trusted_paths checks it:
    {name (for the message), path, kind, required, secret}. See the module's documentation for the kinds."""
    entries = []

    def add(name, path, kind='file', required=True, secret=False):
        entries.append(dict(name=name, path=path, kind=kind, required=required, secret=secret))

    user = settings[PREFIX + 'user']
    environment = settings[PREFIX + 'environment']
    add(PREFIX + 'ansible_playbook', settings[PREFIX + 'ansible_playbook'], kind='program')
    add('flock', FLOCK, kind='program')
    add(PREFIX + 'inventory', settings[PREFIX + 'inventory'], kind='inventory')
    if settings[PREFIX + 'vault_password_file']:
        add(PREFIX + 'vault_password_file', settings[PREFIX + 'vault_password_file'], kind='program', secret=True)
    for vault_id in settings[PREFIX + 'vault_ids']:
        add(PREFIX + 'vault_ids', vault_path(vault_id), kind='program', secret=True)
    add('the home directory of %s (ansible-playbook keeps its temporary files and the token cache there)' % user, home)
    working_dir = settings[PREFIX + 'working_dir'] or home
    if settings[PREFIX + 'working_dir']:
        add(PREFIX + 'working_dir', working_dir)
    playbook = settings[PREFIX + 'playbook']
    if '/' in playbook:  # a path, not a collection's playbook: what lies beside it is loaded too (roles, vars)
        add(PREFIX + 'playbook', os.path.dirname(os.path.join(working_dir, playbook)), kind='tree')
    add(PREFIX + 'lock_file', lock, kind='created', required=False)
    given = list(_ansible_path_variables(environment))
    for name, path in given:
        add('%senvironment (%s)' % (PREFIX, name), path, kind='file' if name == 'ANSIBLE_CONFIG' else 'tree',
            required=name == 'ANSIBLE_CONFIG')
    if 'TOKENOPS_OAUTH2_CACHE_DIR' in environment:
        add('%senvironment (TOKENOPS_OAUTH2_CACHE_DIR)' % PREFIX, str(environment['TOKENOPS_OAUTH2_CACHE_DIR']),
            kind='created', required=False)
    # Where ansible looks by default: its configuration files and the plugins and collections of the user and the
    # system (an ANSIBLE_CONFIG given replaces the configuration files).
    defaults = 'ansible configuration and plugins read by default'
    if 'ANSIBLE_CONFIG' not in environment:
        for path in (os.path.join(working_dir, 'ansible.cfg'), os.path.join(home, '.ansible.cfg'),
                     '/etc/ansible/ansible.cfg'):
            add(defaults, path, required=False)
    for path in (os.path.join(home, '.ansible', 'plugins'), '/usr/share/ansible/plugins'):
        add(defaults, path, kind='tree', required=False)
    if not any(name in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS') for name, path in given):
        for path in (os.path.join(home, '.ansible', 'collections'), '/usr/share/ansible/collections'):
            add(defaults, path, kind='tree', required=False)
    # A command is found in the first directory of the PATH that has it: whoever may add a file to one shadows it.
    for directory in search_path(settings):
        add('the PATH of the run', directory, required=False)
    # What reads the schedule itself as root: systemd its units, cron its file and the commands of its line.
    if backend == 'cron':
        add(PREFIX + 'cron_file', os.path.dirname(settings[PREFIX + 'cron_file']), required=False)
        for command in ('/bin/sh', 'sleep', 'shuf', 'logger'):
            add('the cron entry', command, kind='program')
    else:
        add(PREFIX + 'unit_dir', settings[PREFIX + 'unit_dir'], required=False)
    return entries


def search_path(settings):
    """The directories a run finds commands in (#!/usr/bin/env NAME): its PATH, unless the environment sets one."""
    return str(settings[PREFIX + 'environment'].get('PATH', RUN_PATH)).split(os.pathsep)
