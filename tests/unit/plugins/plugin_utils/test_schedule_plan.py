# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.schedule_plan: the interval from the lifetimes, cron's steps, the command of a run, and the paths
that must be changeable by root and the run user only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from ansible.plugins.filter.core import rand

from ansible_collections.tokenops.oauth2.plugins.plugin_utils import schedule_plan as plan

from .test_schedule_inputs import defaults


def spans(interval=None, delay=None):
    return dict(interval=interval, randomized_delay=delay, on_boot=120, run_timeout=900)


def test_a_third_of_the_shortest_lifetime_at_least_a_minute_and_a_tenth_of_that_as_delay():
    timing = plan.timing(spans(), {'api': 900, 'slow': 7200}, 'systemd', 'host', 'unit')
    assert (timing['interval'], timing['randomized_delay'], timing['shortest_lifetime']) == (300, 30, 900)
    assert timing['warnings'] == [] and timing['renew_before'] == 660
    assert plan.timing(spans(), {'api': 120}, 'systemd', 'h', 'u')['interval'] == 60
    assert plan.timing(spans(), {'api': 36000}, 'systemd', 'h', 'u')['randomized_delay'] == 300  # at most 5 min


def test_nothing_known_gives_no_interval():
    timing = plan.timing(spans(), {}, 'cron', 'host', 'unit')
    assert timing['interval'] is None and timing['effective_interval'] is None and timing['renew_before'] is None
    assert (timing['cron_minute'], timing['cron_hour'], timing['warnings']) == ('*', '*', [])


def test_warns_when_runs_come_later_than_a_token_lives():
    timing = plan.timing(spans(900), {'short': 600, 'api': 3600}, 'systemd', 'h', 'u')
    assert timing['warnings'] == [
        "the interval (900s) plus the randomized delay (90s) is not shorter than the lifetime of profile short's "
        "tokens (600s): its delivered tokens expire before the next run renews them; set oauth2_schedule_interval "
        "below 510s"]


@pytest.mark.parametrize('interval, minute, hour, every', [
    (45, r'\*', r'\*', 60), (60, r'\*', r'\*', 60), (780, r'\d+-59/12', r'\*', 720),
    (1200, r'\d+-59/20', r'\*', 1200), (3599, r'\d+-59/30', r'\*', 1800), (3600, r'\d+', r'\*', 3600), (7200, r'\d+', r'\d+-23/2', 7200),
    (5 * 3600, r'\d+', r'\d+-23/4', 4 * 3600), (86400, r'\d+', r'\d+', 86400), (2 * 86400, r'\d+', r'\d+', 86400),
])
def test_cron_steps_divide_an_hour_or_a_day(interval, minute, hour, every):
    got = plan.cron_timing(interval, 'web1', 'tokenops-oauth2-rotate')
    assert re.fullmatch(minute, got[0]) and re.fullmatch(hour, got[1]) and got[2] == every, got
    timing = plan.timing(spans(interval, 0), {}, 'cron', 'web1', 'tokenops-oauth2-rotate')
    assert timing['effective_interval'] == every
    assert bool(timing['warnings']) == (every != interval)


@pytest.mark.parametrize('host', ['web1', 'localhost', 'db-07.example.org'])
def test_cron_offsets_are_those_of_ansibles_random_filter_so_an_upgrade_changes_no_cron_file(host):
    unit = 'tokenops-oauth2-rotate'
    assert plan.cron_timing(1200, host, unit)[0] == '%d-59/20' % rand(None, 20, seed=host + unit)
    minute, hour, every = plan.cron_timing(3 * 3600, host, unit)
    assert (minute, hour) == (str(rand(None, 60, seed=host + unit)), '%d-23/3' % rand(None, 3, seed=unit + host))


def test_known_lifetimes_take_probes_and_skip_a_token_without_expires_in():
    settings = defaults(token_lifetimes={'given': '1800'})
    lifetimes, warnings = plan.known_lifetimes(settings, {'probed': 120, 'silent': None})
    assert lifetimes == {'given': 1800, 'probed': 120}
    assert warnings == ["the token obtained for profile silent has no lifetime (expires_in); give it in "
                        "oauth2_schedule_token_lifetimes"]


def hosts():
    return [
        plan.Host('controller', True, [
            {'profile': 'api', 'to': 'env_file', 'path': '/srv/api/token.env'},
            {'profile': 'gone', 'to': 'env_file', 'path': '/srv/gone/token.env', 'state': 'absent'}]),
        plan.Host('web1', False, [
            {'profile': 'web', 'to': 'env_file', 'path': '/etc/web/token.env'},
            {'profile': 'vv', 'to': 'vault_vars', 'path': '/srv/inventory/group_vars/all/token.yml'},
            {'profile': ['not', 'a', 'name'], 'to': 'env_file', 'path': 'relative'}, 'not a delivery']),
        plan.Host('empty', False, None),
    ]


def test_delivered_profiles_and_the_directories_written_on_this_machine():
    assert plan.delivered_profiles(defaults(), hosts()) == ['api', 'vv', 'web']
    assert plan.delivered_profiles(defaults(profiles=['x']), hosts()) == ['x']
    assert plan.delivery_directories(hosts()) == ['/srv/api', '/srv/gone', '/srv/inventory/group_vars/all']
    assert plan.unknown_lifetimes(defaults(token_lifetimes={'api': 60}), ['api', 'web']) == ['web']


def test_the_lock_of_root_is_in_a_directory_only_root_may_write():
    assert plan.lock_path(defaults(), '/root') == '/var/lib/tokenops-oauth2/tokenops-oauth2-rotate.lock'
    assert plan.lock_path(defaults(user='rotator', unit_name='u'), '/home/rotator') == '/home/rotator/.u.lock'
    assert plan.lock_path(defaults(lock_file='/srv/x.lock'), '/root') == '/srv/x.lock'


def test_the_command_holds_paths_only():
    settings = defaults(vault_password_file='/etc/vault-pass', vault_ids=['prod@/usr/local/bin/client.py'],
                        extra_args=['--limit', 'web'])
    assert plan.ansible_playbook_command(settings, 600) == [
        '/usr/bin/ansible-playbook', 'tokenops.oauth2.rotate', '-i', '/srv/inventory', '--vault-password-file',
        '/etc/vault-pass', '--vault-id=prod@/usr/local/bin/client.py', '-e', 'oauth2_deliver_force=true', '--limit',
        'web']
    command = plan.ansible_playbook_command(defaults(force_renewal='no'), 660)
    assert command[-2:] == ['-e', 'oauth2_deliver_renew_before=660']
    assert plan.run_command('/l.lock', ['x']) == ['/usr/bin/flock', '--nonblock', '--conflict-exit-code', '75',
                                                  '/l.lock', 'x']


def test_environment_and_writable_paths():
    settings = defaults(environment={'ANSIBLE_NOCOLOR': '0', 'TOKENOPS_OAUTH2_CACHE_DIR': '/var/cache/t', 'N': 5},
                        read_write_paths=['/srv/api', '/extra'])
    assert list(plan.run_environment(settings).items()) == [
        ('ANSIBLE_NOCOLOR', '0'), ('ANSIBLE_FORCE_COLOR', '0'), ('TOKENOPS_OAUTH2_CACHE_DIR', '/var/cache/t'),
        ('N', '5')]
    assert plan.read_write_paths(settings, '/root', '/var/lib/x/u.lock', ['/srv/api']) == [
        '/root', '/var/lib/x', '/var/cache/t', '/srv/api', '/extra']


def by_name(entries):
    found = {}
    for entry in entries:
        found.setdefault(entry['name'], []).append((entry['path'], entry['kind'], entry['required'], entry['secret']))
    return found


def test_paths_to_trust_cover_what_the_run_executes_reads_and_creates():
    settings = defaults(vault_password_file='/etc/vault-pass', vault_ids=['prod@/usr/local/bin/client.py'],
                        playbook='playbooks/rotate.yml', working_dir='/srv/ansible')
    entries = by_name(plan.paths_to_trust(settings, '/root', '/var/lib/tokenops-oauth2/u.lock', 'systemd'))
    assert entries['oauth2_schedule_ansible_playbook'] == [('/usr/bin/ansible-playbook', 'program', True, False)]
    assert entries['flock'] == [('/usr/bin/flock', 'program', True, False)]
    assert entries['oauth2_schedule_inventory'] == [('/srv/inventory', 'inventory', True, False)]
    assert entries['oauth2_schedule_vault_password_file'] == [('/etc/vault-pass', 'program', True, True)]
    assert entries['oauth2_schedule_vault_ids'] == [('/usr/local/bin/client.py', 'program', True, True)]
    assert entries['oauth2_schedule_working_dir'] == [('/srv/ansible', 'file', True, False)]
    assert entries['oauth2_schedule_playbook'] == [('/srv/ansible/playbooks', 'tree', True, False)]
    assert entries['oauth2_schedule_lock_file'] == [('/var/lib/tokenops-oauth2/u.lock', 'created', False, False)]
    home = [name for name in entries if name.startswith('the home directory of root')]
    assert entries[home[0]] == [('/root', 'file', True, False)]
    assert entries['ansible configuration and plugins read by default'] == [
        ('/srv/ansible/ansible.cfg', 'file', False, False), ('/root/.ansible.cfg', 'file', False, False),
        ('/etc/ansible/ansible.cfg', 'file', False, False), ('/root/.ansible/plugins', 'tree', False, False),
        ('/usr/share/ansible/plugins', 'tree', False, False), ('/root/.ansible/collections', 'tree', False, False),
        ('/usr/share/ansible/collections', 'tree', False, False)]
    assert entries['the PATH of the run'] == [(path, 'file', False, False) for path in plan.RUN_PATH.split(':')]
    assert entries['oauth2_schedule_unit_dir'] == [('/etc/systemd/system', 'file', False, False)]
    assert 'the cron entry' not in entries


def test_paths_to_trust_of_a_cron_entry():
    entries = by_name(plan.paths_to_trust(defaults(), '/root', '/l/u.lock', 'cron'))
    assert entries['oauth2_schedule_cron_file'] == [('/etc/cron.d', 'file', False, False)]
    assert entries['the cron entry'] == [('/bin/sh', 'program', True, False), ('sleep', 'program', True, False),
                                         ('shuf', 'program', True, False), ('logger', 'program', True, False)]
    assert 'oauth2_schedule_unit_dir' not in entries


def test_paths_the_environment_gives_ansible_replace_the_defaults():
    settings = defaults(environment={'ANSIBLE_CONFIG': '/etc/rot/ansible.cfg',
                                     'ANSIBLE_COLLECTIONS_PATH': '/opt/c1:relative:/opt/c2',
                                     'ANSIBLE_FILTER_PLUGINS': '/opt/filters', 'ANSIBLE_LIBRARY': '/opt/lib',
                                     'ANSIBLE_LOCAL_TEMP': '/tmp/x', 'TOKENOPS_OAUTH2_CACHE_DIR': '/var/cache/t',
                                     'PATH': '/opt/bin:/usr/bin'})
    entries = by_name(plan.paths_to_trust(settings, '/root', '/l/u.lock', 'systemd'))
    env = 'oauth2_schedule_environment (%s)'
    assert entries[env % 'ANSIBLE_CONFIG'] == [('/etc/rot/ansible.cfg', 'file', True, False)]
    assert entries[env % 'ANSIBLE_COLLECTIONS_PATH'] == [
        ('/opt/c1', 'tree', False, False), ('/opt/c2', 'tree', False, False)]
    assert entries[env % 'ANSIBLE_FILTER_PLUGINS'] == [('/opt/filters', 'tree', False, False)]
    assert entries[env % 'ANSIBLE_LIBRARY'] == [('/opt/lib', 'tree', False, False)]
    assert entries[env % 'TOKENOPS_OAUTH2_CACHE_DIR'] == [('/var/cache/t', 'created', False, False)]
    assert env % 'ANSIBLE_LOCAL_TEMP' not in entries
    assert [path for path, kind, required, secret in entries['ansible configuration and plugins read by default']] == [
        '/root/.ansible/plugins', '/usr/share/ansible/plugins']
    assert plan.search_path(settings) == ['/opt/bin', '/usr/bin']
    assert entries['the PATH of the run'] == [('/opt/bin', 'file', False, False), ('/usr/bin', 'file', False, False)]
    assert plan.search_path(defaults()) == plan.RUN_PATH.split(':')
