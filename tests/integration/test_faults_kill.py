# -*- coding: utf-8 -*-
"""SIGKILL in the middle of a delivery, then a rerun, through real ansible-playbook runs of the rotate playbook
(`ansible-playbook tokenops.oauth2.rotate -e oauth2_force=true`) over three local hosts against oidc_provider.

Each run is killed (SIGKILL to every process of the run: ansible-playbook, its workers, the modules they run) at a
different point of its course, spread over the duration of a complete run, plus at the first temporary file of a
rewrite (the first delivery and a later one). After every kill, every destination (two padded env files per host and
a vault-encrypted vars file on the controller) holds either the complete content it had before the run or a complete
new one, never a part, with mode 0600 (a temporary file a kill left behind is 0600 too). Each kill point must hit the
state it claims: the run still going, and for the temporary file points a write interrupted (its temporary file
still there once the run is frozen); a point that misses is tried again, ATTEMPTS runs in all. Then a run without a kill
succeeds, which also shows that the run lock of the killed run (tokenops.oauth2.run_lock records the ansible-playbook
pid) is taken over and that the token cache is still usable.

Each kill is a SIGKILL of the whole run at one moment (kill_helper.py says how).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
import yaml

from ansible_runner_helper import REPO_ROOT, ansible_env, assert_no_crash
from kill_helper import MARKER, kill_run, processes_of, signal_quietly

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
HOSTS = ('h1', 'h2', 'h3')
VAULT_PASSWORD = 'faults-kill-vault-pw-2718'
# Lines that are not the module's own; a rewrite keeps them all. A few hundred kB make each rewrite (write, fsync,
# rename) last long enough for some kills to land inside one.
PADDING_LINE = '# operator notes, kept by every rewrite: %06d ..................................................\n'
PADDING_LINES = 30000
ENV_FILES = {
    'app.env': ('APP_TOKEN', 'APP_TOKEN_EXPIRES_AT'),
    'api.env': ('API_TOKEN', 'API_AUTHORIZATION', 'API_TOKEN_EXPIRES_IN'),
}
VAULT_KEYS = ('api_access_token', 'api_token_expires_at')
# Where in a complete run the kills land, as fractions of its duration.
KILL_POINTS = (0.2, 0.4, 0.5, 0.6, 0.75)
# A kill point that misses the state it claims (the run had ended; the rename beat the freeze) is tried again, up to
# this many runs in all; then the test fails.
ATTEMPTS = 3


class Site:
    """The inventory, the destinations and the runs."""

    def __init__(self, root, oidc):
        self.root = root
        self.password_file = root / 'vault-pass'
        self.password_file.write_text(VAULT_PASSWORD + '\n')
        self.vars_file = root / 'controller' / 'api_token.yml'
        self.vars_file.parent.mkdir()
        self.lock = root / 'rotate.lock'
        self.inventory = root / 'inventory.json'
        cc, post = oidc.clients['cc_basic'], oidc.clients['cc_post']
        profiles = dict(
            app=dict(token_url=oidc.url + '/token', client_id=cc['client_id'], client_secret=cc['client_secret'],
                     scope='api:read', resource='urn:tokenops:api'),
            api=dict(token_url=oidc.url + '/token', client_id=post['client_id'], client_secret=post['client_secret'],
                     client_auth='client_secret_post', scope='api:read', resource='urn:tokenops:api'),
        )
        deliveries = [
            dict(profile='app', to='env_file', path='{{ deliver_dir }}/app.env',
                 vars=dict(APP_TOKEN='access_token', APP_TOKEN_EXPIRES_AT='expires_at')),
            dict(profile='api', to='env_file', path='{{ deliver_dir }}/api.env',
                 vars=dict(API_TOKEN='access_token', API_AUTHORIZATION='header', API_TOKEN_EXPIRES_IN='expires_in')),
            dict(profile='api', to='vault_vars', path=str(self.vars_file),
                 vars=dict(api_access_token='access_token', api_token_expires_at='expires_at')),
        ]
        hosts = {}
        for host in HOSTS:
            (root / host).mkdir()
            hosts[host] = dict(ansible_connection='local', ansible_python_interpreter=sys.executable,
                               deliver_dir=str(root / host))
            # The env files hold lines of the operator's own (reset()); the module adds its keys below them.
        self.inventory.write_text(json.dumps({'all': {'hosts': hosts, 'vars': dict(
            oauth2_profiles=profiles, oauth2_deliveries=deliveries, oauth2_rotate_lock=str(self.lock))}}))
        self.runs = 0
        self.tags = []
        self.reset()

    def reset(self):
        """The destinations as before any delivery: the operator's lines only, no vars file."""
        for host in HOSTS:
            for name in ENV_FILES:
                path = self.root / host / name
                path.write_text(''.join(PADDING_LINE % i for i in range(PADDING_LINES)))
                os.chmod(str(path), 0o600)
        if self.vars_file.exists():
            self.vars_file.unlink()

    def destinations(self):
        return [self.root / host / name for host in HOSTS for name in ENV_FILES] + [self.vars_file]

    def start(self):
        """Start a forced rotation whose processes carry a marker of their own (its output in run-NN.log);
        return (Popen, marker, log)."""
        self.runs += 1
        log = self.root / ('run-%02d.log' % self.runs)
        tag = '%d-%d-%d' % (os.getpid(), id(self), self.runs)
        self.tags.append(tag)
        env = ansible_env({'TOKENOPS_OAUTH2_CACHE_DIR': str(self.root / 'cache'), MARKER: tag})
        command = [ANSIBLE_PLAYBOOK, 'tokenops.oauth2.rotate', '-i', str(self.inventory), '-e', 'oauth2_force=true',
                   '--vault-password-file', str(self.password_file)]
        with open(str(log), 'w') as handle:
            proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                    stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
        return proc, tag, log

    def run(self):
        """A complete run that must succeed; returns its duration in seconds."""
        started = time.monotonic()
        proc, tag, log = self.start()
        try:
            proc.wait(timeout=600)
        finally:
            kill_run(proc, tag)
        out = log.read_text()
        assert proc.returncode == 0, out[-8000:]
        assert ' failed=0 ' in out, out[-8000:]
        assert_no_crash()
        return time.monotonic() - started


def vault_values(text):
    from ansible.parsing.vault import VaultLib, VaultSecret
    vault = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor('!vault', lambda loader, node: vault.decrypt(loader.construct_scalar(node)).decode())
    return yaml.load(text, Loader=Loader)


def complete(path, data):
    """Whether DATA is a complete file for PATH: every key with a non-empty value (and every padding line)."""
    text = data.decode('utf-8')
    if path.name in ENV_FILES:
        padding = ''.join(PADDING_LINE % i for i in range(PADDING_LINES))
        if not text.startswith(padding) or not text.endswith('\n'):
            return False
        values = dict(line.split('=', 1) for line in text[len(padding):].splitlines())
        return sorted(values) == sorted(ENV_FILES[path.name]) and all(values.values())
    values = vault_values(text)
    return isinstance(values, dict) and sorted(values) == sorted(VAULT_KEYS) and all(values.values())


def snapshot(site):
    return dict((path, path.read_bytes() if path.exists() else None) for path in site.destinations())


def check_after_kill(site, before, when):
    """Every destination holds what it held before the run, or a complete new content; mode 0600."""
    states = []
    for path in site.destinations():
        old = before[path]
        if not path.exists():
            assert old is None, '%s: %s vanished' % (when, path)
            states.append('absent')
            continue
        data = path.read_bytes()
        mode = stat.S_IMODE(os.stat(str(path)).st_mode)
        assert mode == 0o600, '%s: %s has mode %o' % (when, path, mode)
        if data == old:
            states.append('old')
        else:
            assert complete(path, data), '%s: %s is neither its previous content nor a complete new one:\n%s' % (
                when, path, data[-600:].decode('utf-8', 'replace'))
            states.append('new')
    return states


def leftovers(site):
    """Temporary files beside the destinations (a killed rename leaves its temporary file behind)."""
    found = []
    for directory in [site.root / host for host in HOSTS] + [site.vars_file.parent]:
        found += [str(directory / n) for n in os.listdir(str(directory)) if n.endswith('.tmp')]
    return found


@pytest.fixture
def site(tmp_path, oidc_provider):
    created = Site(tmp_path, oidc_provider)
    yield created
    for tag in created.tags:  # whatever a failed assertion left running
        for pid in processes_of(tag):
            signal_quietly(pid, signal.SIGKILL)


def kill_at(site, proc, tag, delay, patience):
    """Wait DELAY seconds (None: until the first temporary file of a rewrite shows up), then SIGKILL the run.
    Returns whether the run was still going when it was killed."""
    if delay is None:
        # As soon as a rewrite has created its temporary file: the write, fsync or rename is under way.
        deadline = time.monotonic() + patience
        while not leftovers(site) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
    else:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
    running = proc.poll() is None
    kill_run(proc, tag)
    return running


def kill_once(site, before, when, delay, patience):
    """Start a run, kill it at WHEN, check every destination; return whether the kill hit the state WHEN claims: the
    run was still going, and (a kill at a temporary file) it was frozen while that file existed, mid-write."""
    proc, tag = site.start()[:2]
    running = kill_at(site, proc, tag, delay, patience)
    if site.lock.exists():
        # The killed run still "holds" the lock: the rerun must see that its holder is dead and take it over.
        assert site.lock.read_text().strip() == str(proc.pid), when
    states = check_after_kill(site, before, when)
    stale = leftovers(site)  # after the freeze: a temporary file here was being written when the run stopped
    for path in stale:  # a kill between creating and renaming it: it may hold a token, so it must be private
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, '%s: %s' % (when, path)
    hit = running and (delay is not None or bool(stale))
    print('%s: killed while running=%s, files %s, temporary files left %d -> %s' % (
        when, running, ' '.join(states), len(stale), 'hit' if hit else 'missed'))
    return dict(hit=hit, running=running, lock_left=site.lock.exists(), stale=len(stale))


def rerun(site, when):
    """A run without a kill takes over the dead run's lock, renews, and leaves every file complete and private;
    returns (its duration, the new snapshot)."""
    took = site.run()
    assert not site.lock.exists()
    # A completed write removes what killed writers left beside its file.
    assert leftovers(site) == [], '%s: the rerun left temporary files: %s' % (when, leftovers(site))
    after = snapshot(site)
    for path, data in after.items():
        assert complete(path, data), '%s: after the rerun, %s is incomplete' % (when, path)
        assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600, '%s: %s' % (when, path)
    return took, after


def test_sigkill_mid_delivery_leaves_old_or_new_files_and_a_rerun_succeeds(site):
    kills = [('first delivery, at its first temporary file', None)]
    duration = None
    locks_left = []
    while kills:
        when, delay = kills.pop(0)
        for attempt in range(1, ATTEMPTS + 1):
            if delay is None and when.startswith('first delivery'):
                site.reset()  # each attempt at the first delivery starts from files that were never delivered
            before = snapshot(site)
            outcome = kill_once(site, before, '%s (attempt %d)' % (when, attempt), delay,
                                patience=600 if duration is None else 3 * duration + 60)
            if outcome['lock_left']:
                locks_left.append(when)
            took, before = rerun(site, when)
            if duration is None:
                # How long a complete run lasts here and now places the following kills.
                duration = took
                print('a complete run: %.1f s' % duration)
            if outcome['hit']:
                break
        # Each point must be hit as it claims: mid-run, and for the temporary file points, mid-write.
        assert outcome['hit'], '%s: missed in %d attempts (%s)' % (
            when, ATTEMPTS, 'the run had ended before the kill' if not outcome['running'] else
            'no temporary file was left when the run was frozen, so no write was interrupted')
        if delay is None and when.startswith('first delivery'):
            kills += [('at %d%% of a run' % (fraction * 100), fraction * duration) for fraction in KILL_POINTS]
            kills.append(('at the first temporary file', None))

    assert locks_left, 'no kill left the run lock behind, so no rerun had to take it over'
