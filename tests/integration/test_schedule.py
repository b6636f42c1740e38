# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tokenops.oauth2.schedule through real ansible-playbook runs: the units it renders pass ``systemd-analyze verify``
(no running systemd needed), hold no secret, and their command really runs (vault secret read from the named file,
flock against overlap); the cron entry likewise; the interval follows the token lifetimes, read from a real
oidc-provider when asked, with warnings when runs would come too late.

Unit and cron files go to a temporary directory and systemctl is not called (``oauth2_schedule_systemctl: false``).

The scheduled run executes and reads its files as root: the role refuses any that a real unprivileged user, created
for the test, could change (security issue #12, finding 6), and accepts what only root or the run user can change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import namedtuple

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import PLAYBOOK_DIR, failure_record_env, run_playbook, session_dir  # noqa: E402  pylint: disable=wrong-import-position
from local_users import as_intruder  # noqa: E402  pylint: disable=wrong-import-position
from token_helper import cache_env  # noqa: E402  pylint: disable=wrong-import-position

from tests.servers.launch import start  # noqa: E402  pylint: disable=wrong-import-position

PASSWORD = 'schedule-vault-pw-4471-not-in-units'
VAULTED_VALUE = 'the-vaulted-value-9930'
UNIT = 'tokenops-oauth2-rotate'
RECAP = re.compile(r'localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)')
# What systemd gives a system service before its Environment= lines.
BASE_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}


def _systemd_analyze():
    path = shutil.which('systemd-analyze')
    if path is None:
        pytest.skip('systemd-analyze is not installed (Debian: apt-get install -y systemd; scripts/setup.sh does)')
    return path


Run = namedtuple('Run', 'out changed result')


class Site:
    """An inventory with a vaulted value, its vault password file, and where the role writes its files."""

    def __init__(self, root):
        self.root = root
        self.inventory = root / 'inventory'
        (self.inventory / 'group_vars' / 'all').mkdir(parents=True)
        self.hosts = self.inventory / 'hosts.ini'
        self.hosts.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
        self.password_file = root / 'vault-pass'
        self.password_file.write_text(PASSWORD + '\n')
        self.password_file.chmod(0o600)
        secret = VaultSecret(PASSWORD.encode())
        encrypted = VaultLib([('prod', secret)]).encrypt(VAULTED_VALUE, secret, vault_id='prod').decode()
        (self.inventory / 'group_vars' / 'all' / 'vault.yml').write_text(
            'schedule_vaulted: !vault |\n%s\nschedule_expected: %s\n' % (
                '\n'.join('  ' + line for line in encrypted.splitlines()), VAULTED_VALUE))
        self.units = root / 'units'
        self.units.mkdir()
        self.cron_file = root / 'cron.d' / UNIT
        self.cron_file.parent.mkdir()
        self.lock = root / 'rotate.lock'
        self.work = root / 'work dir'
        self.work.mkdir()
        # Read by ansible-playbook from the directory it starts in: proves the working directory.
        (self.work / 'ansible.cfg').write_text('[defaults]\ntimeout = 37\n')
        self.marker = root / 'marker.json'
        self.result_file = root / 'result.json'
        self.delivery_dir = root / 'deliveries'

    def variables(self, **overrides):
        data = dict(
            oauth2_schedule_systemctl=False,
            oauth2_schedule_unit_dir=str(self.units),
            oauth2_schedule_cron_file=str(self.cron_file),
            oauth2_schedule_lock_file=str(self.lock),
            oauth2_schedule_inventory=str(self.hosts),
            oauth2_schedule_playbook=os.path.join(PLAYBOOK_DIR, 'schedule_target.yml'),
            oauth2_schedule_vault_ids=['prod@%s' % self.password_file],
            oauth2_schedule_working_dir=str(self.work),
            oauth2_schedule_extra_args=['-e', 'schedule_marker=%s' % self.marker,
                                        '-e', 'schedule_extra=\'50% of $HOME "quoted"\''],
            oauth2_schedule_environment={
                'ANSIBLE_COLLECTIONS_PATH': os.path.join(session_dir(), 'collections'),
                'ANSIBLE_LOCAL_TEMP': str(self.root / 'ansible tmp'),
                'SCHEDULE_MARKER_ENV': 'value with % and $HOME',
            },
            oauth2_schedule_token_lifetimes={'api': 900},
            oauth2_deliveries=[
                {'profile': 'api', 'to': 'env_file', 'path': str(self.delivery_dir / 'token.env'),
                 'vars': {'API_TOKEN': 'access_token'}},
                {'profile': 'other', 'to': 'env_file', 'path': '/srv/other/token.env', 'vars': {'T': 'header'},
                 'state': 'absent'},
            ],
            schedule_result_file=str(self.result_file),
        )
        data.update(overrides)
        return data

    def install(self, fails=False, extra_env=None, **overrides):
        """Run the role with these variables; return a Run (output, changed count, the role's result)."""
        path = self.root / ('vars-%d.yml' % len(list(self.root.glob('vars-*.yml'))))
        path.write_text(yaml.safe_dump(self.variables(**overrides)))
        proc = run_playbook('schedule_install.yml', '-e', '@%s' % path, check=False, extra_env=extra_env)
        out = proc.stdout
        assert PASSWORD not in out
        recap = RECAP.search(out)
        assert recap, out
        assert (proc.returncode != 0) == fails and (int(recap.group(3)) > 0) == fails, out
        result = None if fails else json.loads(self.result_file.read_text())
        return Run(out, int(recap.group(2)), result)

    def run_command(self, words, env, cwd):
        if self.marker.exists():
            self.marker.unlink()
        # As systemd or cron would run it, and recording its failed results like every run of the suite.
        proc = subprocess.run(words, env=dict(env, **failure_record_env()), cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=120, check=False)
        assert PASSWORD not in proc.stdout
        return proc


def unit_entries(path):
    """``[(key, value), ...]`` of a unit file, comments and section headers left out."""
    entries = []
    for line in path.read_text().splitlines():
        if line and not line.startswith(('#', ';', '[')):
            key, value = line.split('=', 1)
            entries.append((key, value))
    return entries


def systemd_words(value):
    """A command line or Environment= value split as systemd does for what the role writes (double quotes with
    backslash escapes; %% and $$ for a literal % and $)."""
    return [word.replace('%%', '%').replace('$$', '$') for word in shlex.split(value)]


def check_marker(site):
    record = json.loads(site.marker.read_text())
    assert record == dict(vault_value_ok=True, deliver_force=True, config_timeout=37,
                          marker_env='value with % and $HOME', extra='50% of $HOME "quoted"'), record


@pytest.mark.smoke
def test_systemd_units_verify_hold_no_secret_and_run(tmp_path):
    analyze = _systemd_analyze()
    site = Site(tmp_path)
    out, changed, result = site.install(oauth2_schedule_backend='systemd')
    assert changed >= 2 and result['backend'] == 'systemd' and result['warnings'] == []
    # A third of the only lifetime, and a tenth of that as randomized delay.
    assert (result['interval'], result['randomized_delay'], result['lifetimes']) == (300, 30, {'api': 900})
    service, timer = site.units / (UNIT + '.service'), site.units / (UNIT + '.timer')

    verify = subprocess.run([analyze, 'verify', '--man=no', str(service), str(timer)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    # verify exits 0 on unknown keys and unparsable values (it only says "ignoring"): any output is a finding.
    assert verify.returncode == 0 and verify.stdout.strip() == '', verify.stdout
    for path in (service, timer):
        assert PASSWORD not in path.read_text() and VAULTED_VALUE not in path.read_text()

    entries = unit_entries(service)
    settings = dict(entries)
    assert settings['Type'] == 'oneshot' and settings['User'] == 'root'
    assert settings['StandardOutput'] == 'journal' and settings['StandardError'] == 'journal'
    assert settings['NoNewPrivileges'] == 'yes' and settings['ProtectSystem'] == 'strict'
    assert settings['SuccessExitStatus'] == '75'
    writable = systemd_words(settings['ReadWritePaths'])
    assert '-%s' % site.delivery_dir in writable and '-' + os.path.expanduser('~') in writable
    # A delivery with state absent still edits its file (it removes its variables).
    assert '-/srv/other' in writable and '-%s' % site.lock.parent in writable
    timer_settings = dict(unit_entries(timer))
    assert timer_settings['OnUnitActiveSec'] == '300s' and timer_settings['RandomizedDelaySec'] == '30s'
    assert timer_settings['Unit'] == UNIT + '.service' and timer_settings['OnBootSec'] == '120s'

    command = systemd_words(settings['ExecStart'])
    assert command[:5] == ['/usr/bin/flock', '--nonblock', '--conflict-exit-code', '75', str(site.lock)]
    assert command[5] == os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    assert command[7:9] == ['-i', str(site.hosts)] and '--vault-id=prod@%s' % site.password_file in command
    env = dict(BASE_ENV, HOME=os.path.expanduser('~'))
    env.update(systemd_words(value)[0].split('=', 1) for key, value in entries if key == 'Environment')
    cwd = settings['WorkingDirectory'].replace('%%', '%')  # taken whole, not split into words
    assert cwd == str(site.work)

    # The command as systemd would start it: the vault secret comes from the file, the arguments arrive intact.
    proc = site.run_command(command, env, cwd)
    assert proc.returncode == 0, proc.stdout
    check_marker(site)

    # While another run holds the lock, a run exits 75 at once (SuccessExitStatus) and does nothing.
    with open(str(site.lock), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        began = time.monotonic()
        proc = site.run_command(command, env, cwd)
    assert proc.returncode == 75 and time.monotonic() - began < 5 and not site.marker.exists(), proc.stdout

    out, changed = site.install(oauth2_schedule_backend='systemd')[:2]
    assert changed == 0, 'a second run changed something:\n' + out

    out, changed, result = site.install(oauth2_schedule_state='absent')
    assert changed > 0 and not service.exists() and not timer.exists(), out
    assert result['state'] == 'absent' and result['backend'] is None


def test_cron_entry_runs_and_replaces_the_units(tmp_path):
    site = Site(tmp_path)
    for suffix in ('.service', '.timer'):  # as a systemd install left them
        (site.units / (UNIT + suffix)).write_text('[Unit]\n')

    result = site.install(oauth2_schedule_backend='cron', oauth2_schedule_interval='20min',
                          oauth2_schedule_randomized_delay=2).result
    assert result['backend'] == 'cron' and (result['interval'], result['randomized_delay']) == (1200, 2)
    assert not (site.units / (UNIT + '.timer')).exists() and not (site.units / (UNIT + '.service')).exists(), \
        'switching to cron left the systemd units, so the rotation would run twice'
    text = site.cron_file.read_text()
    assert PASSWORD not in text and VAULTED_VALUE not in text
    assert oct(site.cron_file.stat().st_mode & 0o777) == '0o644'

    env_lines = [line for line in text.splitlines() if re.match(r'^[A-Z_]+=', line)]
    jobs = [line for line in text.splitlines() if line and not line.startswith('#') and line not in env_lines]
    assert len(jobs) == 1, text
    minute, hour, dom, month, dow, user, command = jobs[0].split(None, 6)
    offset, step = re.match(r'^(\d+)-59/(\d+)$', minute).groups()
    assert step == '20' and 0 <= int(offset) < 20 and (hour, dom, month, dow, user) == ('*', '*', '*', '*', 'root')
    assert command.startswith('sleep $(shuf -i 0-2 -n 1); cd ') and '/usr/bin/flock --nonblock' in command
    assert command.endswith(' 2>&1 | logger -t %s' % UNIT)
    assert '%' not in command.replace('\\%', ''), 'an unescaped % would end the cron command'

    # The command as cron would run it: % unescaped by cron, then /bin/sh with the file's variables.
    env = dict(BASE_ENV, HOME=os.path.expanduser('~'))
    env.update(line.split('=', 1) for line in env_lines)
    proc = site.run_command(['/bin/sh', '-c', command.replace('\\%', '%')], env, os.path.expanduser('~'))
    assert proc.returncode == 0, proc.stdout
    check_marker(site)


def test_interval_follows_the_lifetimes_and_warns(tmp_path):
    analyze = _systemd_analyze()
    site = Site(tmp_path)
    # An interval given as a time span. A profile whose tokens live less than a run's spacing gets a warning.
    # Without forced renewal a run renews what would expire before the run after next: runs up to 16.5 min apart
    # renew a token 33 min before it expires.
    run = site.install(oauth2_schedule_backend='systemd', oauth2_schedule_interval='15min',
                       oauth2_schedule_force_renewal=False,
                       oauth2_schedule_token_lifetimes={'short': 600, 'api': 3600})
    result = run.result
    assert (result['interval'], result['randomized_delay']) == (900, 90) and len(result['warnings']) == 1, result
    assert "WARNING: the interval (900s) plus the randomized delay (90s) is not shorter than the lifetime of " \
           "profile short's tokens (600s)" in run.out
    assert 'oauth2_deliver_force=true' not in result['command']
    assert 'oauth2_deliver_renew_before=1980' in result['command'], result['command']
    timespan = subprocess.run([analyze, 'timespan', '15min'], stdout=subprocess.PIPE, universal_newlines=True,
                              check=True).stdout
    assert re.search(r'μs: %d\b' % (900 * 10 ** 6), timespan), 'systemd reads 15min otherwise: ' + timespan
    assert ('OnUnitActiveSec', '900s') in unit_entries(site.units / (UNIT + '.timer'))

    # Nothing known: the role says what to give, naming the delivered profiles (not the removed delivery's).
    out = site.install(fails=True, oauth2_schedule_backend='systemd', oauth2_schedule_token_lifetimes={}).out
    assert 'No interval: set oauth2_schedule_interval' in out and '(api) and read its lifetime' in out


def test_probe_reads_the_lifetime_from_a_real_server(tmp_path):
    site = Site(tmp_path)
    with start('oidc_provider', client_credentials_ttl=120) as server:
        client = server.clients['cc_basic']
        profiles = {'api': dict(token_url=server.url + '/token', client_id=client['client_id'],
                                client_secret=client['client_secret'], scope='api:read',
                                resource='urn:tokenops:api')}
        server.reset_stats()
        # The backend: auto, which is systemd where it runs the host (/run/systemd/system), cron elsewhere.
        run = site.install(oauth2_schedule_backend='auto', oauth2_schedule_token_lifetimes={'slow': 7200},
                           oauth2_schedule_probe_lifetimes=True, oauth2_profiles=profiles,
                           extra_env=cache_env(tmp_path))
        stats = server.stats()
    assert run.result['backend'] == ('systemd' if os.path.isdir('/run/systemd/system') else 'cron')
    # A third of the shortest lifetime (about 120 s), but never under 60 s; a tenth of that as delay.
    assert 110 <= run.result['lifetimes']['api'] <= 120 and run.result['lifetimes']['slow'] == 7200, run.result
    assert (run.result['interval'], run.result['randomized_delay'], run.result['warnings']) == (60, 6, [])
    assert client['client_secret'] not in run.out
    # One token request for the one profile, while the role ran.
    assert stats['token_requests'] == 1 and stats['by_grant'] == {'client_credentials': 1}, stats


def test_refuses_prompts_relative_paths_and_missing_files(tmp_path):
    site = Site(tmp_path)
    out = site.install(fails=True, oauth2_schedule_inventory='inventory/hosts.ini',
                       oauth2_schedule_vault_ids=['prod@prompt'], oauth2_schedule_extra_args=['--ask-vault-pass'],
                       oauth2_schedule_interval='5 parsecs').out
    for expected in ('oauth2_schedule_inventory must be the absolute path',
                     "oauth2_schedule_vault_ids: 'prod@prompt' must be LABEL@/absolute/path",
                     "oauth2_schedule_extra_args: '--ask-vault-pass' prompts",
                     "oauth2_schedule_interval: '5 parsecs' is not a number of seconds"):
        assert expected in out, out
    out = site.install(fails=True, oauth2_schedule_ansible_playbook='/nonexistent/bin/ansible-playbook').out
    assert 'oauth2_schedule_ansible_playbook: /nonexistent/bin/ansible-playbook' in out and 'not found' in out


# ---------------------------------------------------------------------------------------------------------------------
# Finding 6: a root job must not run what another user can change.

def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def test_refuses_files_another_user_can_change(tmp_path, intruder):
    """Finding 6 as reported: a world-writable ansible-playbook, an inventory another user owns and a 0777 vault
    password file were installed into a root job (ok=17 failed=0)."""
    site = Site(tmp_path)
    base = intruder.base
    playbook_bin = write(os.path.join(base, 'bin', 'ansible-playbook'),
                         '#!/bin/sh\nexec %s "$@"\n' % os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                         0o777)
    inventory = write(os.path.join(base, 'inventory', 'hosts.ini'), site.hosts.read_text(), 0o644)
    os.chown(inventory, intruder.uid, intruder.gid)
    as_intruder(intruder, 'echo "# the intruder can rewrite this" >> %s' % shlex.quote(inventory))
    password_file = write(os.path.join(base, 'vault-pass'), PASSWORD + '\n', 0o777)

    out = site.install(fails=True, oauth2_schedule_backend='systemd', oauth2_schedule_ansible_playbook=playbook_bin,
                       oauth2_schedule_inventory=inventory, oauth2_schedule_vault_ids=['prod@%s' % password_file]).out
    for expected in ('%s can be written by every user (mode 0777)' % playbook_bin, 'chmod go-w %s' % playbook_bin,
                     '%s is owned by %s' % (inventory, intruder.name), 'chown root:root %s' % inventory,
                     '%s can be written by every user (mode 0777)' % password_file, 'chmod go-w %s' % password_file):
        assert expected in out, out
    assert 'oauth2_schedule_ansible_playbook' in out and 'oauth2_schedule_inventory' in out
    assert 'oauth2_schedule_vault_ids' in out
    assert not list(site.units.iterdir()) and not site.cron_file.exists(), 'the role installed the job anyway'


def test_refuses_what_sits_in_directories_another_user_controls(tmp_path, intruder):
    """What a path names can be changed through any directory above it, a symlink on the way, the interpreter of a
    script and the venv it runs from, a file deep in an inventory or collections tree, or a lock file planted first."""
    site = Site(tmp_path)
    base = intruder.base
    # A venv whose library another user's group can write, and the ansible-playbook script that runs with it.
    venv = os.path.join(base, 'venv')
    write(os.path.join(venv, 'pyvenv.cfg'), 'home = %s\n' % os.path.dirname(os.path.realpath(sys.executable)), 0o644)
    os.makedirs(os.path.join(venv, 'bin'))
    os.symlink(os.path.realpath(sys.executable), os.path.join(venv, 'bin', 'python'))
    writable_module = write(os.path.join(venv, 'lib', 'python3', 'site-packages', 'ansible_hook.py'), '', 0o664)
    playbook_bin = write(os.path.join(venv, 'bin', 'ansible-playbook'), '#!%s/bin/python\n' % venv, 0o755)
    # A root-owned vault password file, in a directory the intruder owns.
    os.mkdir(os.path.join(base, 'mine'))
    os.chown(os.path.join(base, 'mine'), intruder.uid, intruder.gid)
    password_file = write(os.path.join(base, 'mine', 'vault-pass'), PASSWORD + '\n', 0o600)
    # An inventory directory holding a file the intruder wrote.
    inventory = os.path.join(base, 'inventory')
    write(os.path.join(inventory, 'hosts.ini'), site.hosts.read_text(), 0o644)
    os.mkdir(os.path.join(inventory, 'group_vars'))
    os.chown(os.path.join(inventory, 'group_vars'), intruder.uid, intruder.gid)
    as_intruder(intruder, 'echo "ansible_python_interpreter: /tmp/x" > inventory/group_vars/all.yml')
    planted_vars = os.path.join(inventory, 'group_vars', 'all.yml')
    # A collections path with a plugin the intruder wrote.
    collections = os.path.join(base, 'collections')
    plugin = write(os.path.join(collections, 'ansible_collections', 'evil', 'x', 'plugins', 'vars', 'x.py'), '', 0o644)
    os.chown(plugin, intruder.uid, intruder.gid)
    # A lock file the intruder planted as a symlink in a sticky directory anyone can write (like /run/lock).
    sticky = os.path.join(base, 'lock')
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    as_intruder(intruder, 'ln -s /etc/shadow lock/rotate.lock')
    lock = os.path.join(sticky, 'rotate.lock')

    out = site.install(fails=True, oauth2_schedule_backend='cron', oauth2_schedule_ansible_playbook=playbook_bin,
                       oauth2_schedule_inventory=inventory, oauth2_schedule_vault_ids=['prod@%s' % password_file],
                       oauth2_schedule_working_dir=os.path.join(base, 'mine'), oauth2_schedule_lock_file=lock,
                       oauth2_schedule_environment={'ANSIBLE_COLLECTIONS_PATH': collections}).out
    mine = os.path.join(base, 'mine')
    for expected in ('%s can be written by its group (mode 0664)' % writable_module,
                     '%s is owned by %s' % (mine, intruder.name), 'chown root:root %s' % mine,
                     '%s is owned by %s' % (planted_vars, intruder.name),
                     '%s is owned by %s' % (plugin, intruder.name),
                     '%s is owned by %s' % (lock, intruder.name),
                     '%s can be written by every user (mode 1777)' % sticky):
        assert expected in out, out
    for name in ('oauth2_schedule_ansible_playbook', 'oauth2_schedule_vault_ids', 'oauth2_schedule_inventory',
                 'oauth2_schedule_working_dir', 'oauth2_schedule_lock_file', 'ANSIBLE_COLLECTIONS_PATH'):
        assert name in out, out
    assert not site.cron_file.exists(), 'the role installed the job anyway'


def test_accepts_sticky_directories_and_files_of_the_run_user(tmp_path, intruder):
    """Control: a root-owned file in a sticky directory (like /tmp) cannot be replaced by others, and the run user may
    own what it runs; the lock then defaults to the run user's home."""
    site = Site(tmp_path)
    shared = os.path.join(intruder.base, 'shared')
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    password_file = write(os.path.join(shared, 'vault-pass'), PASSWORD + '\n', 0o600)
    inventory = write(os.path.join(shared, 'hosts.ini'), site.hosts.read_text(), 0o644)
    os.chown(inventory, intruder.uid, intruder.gid)

    result = site.install(oauth2_schedule_backend='systemd', oauth2_schedule_user=intruder.name,
                          oauth2_schedule_inventory=inventory, oauth2_schedule_vault_ids=['prod@%s' % password_file],
                          oauth2_schedule_lock_file='').result
    assert result['command'][2:4] == ['-i', inventory]
    service = dict(unit_entries(site.units / (UNIT + '.service')))
    assert service['User'] == intruder.name
    assert systemd_words(service['ExecStart'])[4] == os.path.join(intruder.home, '.%s.lock' % UNIT)
