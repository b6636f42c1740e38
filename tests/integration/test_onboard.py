# -*- coding: utf-8 -*-
"""The first authorization (tokenops.oauth2.authorize, playbook tokenops.oauth2.onboard) end to end, no human.

ansible-playbook runs as the operator would run it; the test reads the authorization URL or the user code from its
output as it appears, plays the person with a scripted browser (oidc-provider's devInteractions login and consent,
or LockitNetwork's reproduction, which approves at once), and for the paste flow answers the prompt on a terminal.
Then a second, unattended run uses the stored refresh token through tokenops.oauth2.token. Every run is -vvvv and
its whole output is searched for the code, the code verifier, the tokens and the client secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import fcntl
import hashlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import termios
import threading
import time

import pytest
import requests
import yaml
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import PLAYBOOK_DIR, REPO_ROOT, ansible_env  # noqa: E402
from local_users import as_intruder  # noqa: E402

from tests.servers.launch import _walk_interactions, approve_device_code  # noqa: E402

VAULT_PASSWORD = 'onboard-vault-pw-8127'
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# Anything that could be a code_verifier (RFC 7636: 43 to 128 unreserved characters), as a whole word.
VERIFIER_LIKE = re.compile(r'(?<![A-Za-z0-9._~-])[A-Za-z0-9._~-]{43,128}(?![A-Za-z0-9._~-])')
RECAP = re.compile(r'localhost\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d+)')


class Run:
    """A running ansible-playbook whose output is read as it comes, from a pipe or from a terminal."""

    def __init__(self, args, env, terminal=False, cwd=REPO_ROOT):
        self._chunks = []
        self._changed = threading.Condition()
        if terminal:
            master, slave = pty.openpty()
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO  # our typing is not output: only what ansible-playbook writes is
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            # A session of its own with the terminal as controlling tty: ansible.builtin.pause then prompts on it.
            self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                                         start_new_session=True,
                                         preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
            os.close(slave)
            self._fd = master
        else:
            self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            self._fd = self.proc.stdout.fileno()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                data = b''
            with self._changed:
                if data:
                    self._chunks.append(data.decode('utf-8', 'replace'))
                else:
                    self._chunks.append(None)
                self._changed.notify_all()
            if not data:
                return

    @property
    def output(self):
        return ''.join(c for c in self._chunks if c is not None).replace('\r\n', '\n')

    def wait_for(self, pattern, timeout=30):
        """The first match of PATTERN in the output, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                match = re.search(pattern, self.output)
                if match:
                    return match
                if (self._chunks and self._chunks[-1] is None) or time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError('no %r in the output:\n%s' % (pattern, self.output))
                self._changed.wait(0.2)

    def kill(self):
        """Kill ansible-playbook and its workers (one of them may be listening for a redirect)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(10)

    def type(self, text):
        os.write(self._fd, text.encode('utf-8'))

    def finish(self, timeout=60):
        try:
            self.proc.wait(timeout)
        finally:
            self.kill()  # workers too, should any outlive the main process
        self._reader.join(10)
        if self._fd != getattr(self.proc.stdout, 'fileno', lambda: None)():
            os.close(self._fd)
        return self.proc.returncode, self.output


class Site:
    """An inventory (profiles in group_vars/all), a vault password file, a cache directory; runs playbooks."""

    def __init__(self, root, profiles):
        self.root = root
        self.inventory = root / 'inventory'
        self.group_vars = self.inventory / 'group_vars' / 'all'
        self.group_vars.mkdir(parents=True)
        (self.inventory / 'hosts.ini').write_text(
            'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
        self.password_file = root / 'vault-pass'
        self.password_file.write_text(VAULT_PASSWORD + '\n')
        self.cache_dir = root / 'cache'
        self.profiles = profiles
        self.extra_env = {}
        self.runs = []
        self.write_profiles()

    def write_profiles(self):
        (self.group_vars / 'profiles.yml').write_text(json.dumps({'oauth2_profiles': self.profiles}, indent=1))

    def store_path(self, name):
        return self.group_vars / ('%s_refresh_token.yml' % name)

    def command(self, playbook, *args):
        return [ANSIBLE_PLAYBOOK, playbook, '-vvvv', '-i', str(self.inventory / 'hosts.ini'),
                '--vault-password-file', str(self.password_file)] + list(args)

    def env(self):
        return ansible_env(dict({'TOKENOPS_OAUTH2_CACHE_DIR': str(self.cache_dir), 'PYTHONUNBUFFERED': '1'},
                                **self.extra_env))

    def start(self, playbook, *args, terminal=False, cwd=REPO_ROOT):
        run = Run(self.command(playbook, *args), self.env(), terminal=terminal, cwd=cwd)
        self.runs.append(run)
        return run

    def stop(self):
        """Kill what a failed test left running (a listener waiting for a browser that never comes)."""
        for run in self.runs:
            run.kill()

    def onboard(self, name, *args, terminal=False, capture=True, store_path=True, cwd=REPO_ROOT):
        """Start the onboard playbook for profile NAME, storing into group_vars/all/NAME_refresh_token.yml (with
        STORE_PATH, given as -e store_path; else the profile says where). With CAPTURE, through onboard_capture.yml,
        which also records the registered result."""
        playbook = os.path.join(PLAYBOOK_DIR, 'onboard_capture.yml') if capture else 'tokenops.oauth2.onboard'
        extra = ['-e', 'profile=%s' % name, '-e', 'listen_timeout=60']
        if store_path:
            extra += ['-e', 'store_path=%s' % self.store_path(name)]
        if capture:
            extra += ['-e', 'onboard_results_file=%s' % self.results_file(name)]
        return self.start(playbook, *(extra + list(args)), terminal=terminal, cwd=cwd)

    def results_file(self, name):
        return self.root / ('%s-results.json' % name)

    def results(self, name):
        return json.loads(self.results_file(name).read_text())

    def stored_refresh_token(self, name, var=None):
        from ansible.parsing.vault import VaultLib, VaultSecret
        text = self.store_path(name).read_text()
        assert '!vault |' in text and '$ANSIBLE_VAULT;1.1;AES256' in text, text
        var = var or 'vault_%s_refresh_token' % name
        assert text.startswith('---\n%s: !vault |\n' % var), text
        ciphertext = '\n'.join(line.strip() for line in text.split('\n')[2:] if line.strip())
        vault = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])
        return vault.decrypt(ciphertext).decode()

    def use_stored_refresh_token(self, name, secrets, onboard_output):
        """Apply what the onboard run said to add to the profile, then obtain a token unattended with it."""
        self.profiles[name].update(shown_settings(onboard_output, name))
        self.write_profiles()
        run = self.start(os.path.join(PLAYBOOK_DIR, 'onboard_use.yml'), '-e', 'profile=%s' % name,
                         '-e', 'onboard_results_file=%s' % self.results_file(name + '-use'))
        rc, out = run.finish()
        assert rc == 0, out
        used = self.results(name + '-use')
        assert used['access_token'] and used['from_cache'] is False
        assert_no_leak(out, set(secrets) | {used['access_token'], used['refresh_token']})
        return used

    def pending_files(self):
        return [n for n in os.listdir(str(self.cache_dir)) if n.startswith('authorize-')] \
            if self.cache_dir.exists() else []


@pytest.fixture
def make_site(tmp_path):
    sites = []

    def make(profiles):
        sites.append(Site(tmp_path, profiles))
        return sites[-1]
    yield make
    for site in sites:
        site.stop()


def challenge_of(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()


def assert_no_leak(output, secrets, code_challenge=None):
    """None of SECRETS is in OUTPUT, nor (given the challenge of the URL) the code verifier behind it."""
    leaked = sorted(s for s in secrets if s and s in output)
    assert not leaked, 'leaked into the -vvvv output: %s' % ', '.join(s[:6] + '...' for s in leaked)
    if code_challenge:
        verifiers = [w for w in VERIFIER_LIKE.findall(output) if challenge_of(w) == code_challenge]
        assert not verifiers, 'the code_verifier leaked into the -vvvv output'


def shown_settings(output, name):
    """The profile keys the onboard run told the person to add: the indented YAML block after its sentence."""
    lines = output.split('\n')
    intro = 'set these keys in oauth2_profiles.%s, replacing its grant_type:' % name
    start = next(i for i, line in enumerate(lines) if line.endswith(intro))
    assert lines[start + 1] == '', 'a blank line, then the block'
    block = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        assert line.startswith('    '), line
        block.append(line[4:])
    settings = yaml.safe_load('\n'.join(block))
    assert [line for line in lines if line.endswith('replacing its grant_type:')] == [lines[start]], 'shown once'
    return settings


def assert_shows_only_its_own_steps(output):
    """What a person reads: no task of another flow shown as skipped."""
    skipped = [line for line in output.split('\n') if line.startswith('skipping:')]
    assert not skipped, skipped


def assert_waits_after(run, last_line):
    """The run, waiting for the person, shows LAST_LINE last: what they act on is not scrolled away."""
    time.sleep(1)  # what the run would write after it, it would have written by now
    assert run.output.rstrip('\n').split('\n')[-1] == last_line, run.output[-400:]


def query_of(url):
    return dict((k, v[0]) for k, v in parse_qs(urlsplit(url).query).items())


def assert_succeeded(rc, out):
    recap = RECAP.search(out)
    assert rc == 0 and recap and recap.group(1) == '0', out


def loopback_args(server, client_id):
    """How the loopback listener may be reached by this server's redirects.

    RFC 8252 section 7.3 servers accept any port on a loopback redirect URI: then the listener takes any free port.
    oidc-provider only does that for clients registered as native; for the others the redirect URI must be the
    registered http://127.0.0.1/callback exactly, so the listener needs port 80 (loopback_port), root only.
    """
    probe = requests.get(server.url + '/auth', allow_redirects=False, timeout=10, params=dict(
        response_type='code', client_id=client_id, redirect_uri='http://127.0.0.1:1/callback', scope='openid',
        code_challenge='x' * 43, code_challenge_method='S256'))
    if probe.status_code in (302, 303):
        return []
    if os.geteuid() == 0:
        return ['-e', 'loopback_port=80']
    pytest.skip('the server accepts only http://127.0.0.1/callback for %s, and port 80 needs root' % client_id)


def browse(server, url, redirect_base, abort=False):
    """What the person's browser does: open URL, log in, consent (or abort), follow the redirect to the listener.
    Returns (the redirect address, the listener's answer)."""
    session = requests.Session()
    first = session.get(url, allow_redirects=False, timeout=10)
    if abort:  # the "Abort" link of the login page: the server redirects with error=access_denied
        page = session.get(urljoin(first.url, first.headers['Location']), timeout=10)
        response = session.get(urljoin(page.url, re.search(r'href="([^"]*/abort)"', page.text).group(1)),
                               allow_redirects=False, timeout=10)
        location = _walk_interactions(session, response, 'alice', lambda loc: loc.startswith(redirect_base))
    else:
        location = _walk_interactions(session, first, 'alice', lambda loc: loc.startswith(redirect_base))
    assert isinstance(location, str) and location.startswith(redirect_base), location
    return location, requests.get(location, timeout=10)


def code_profile(server, client, **extra):
    profile = dict(issuer=server.url, client_id=client['client_id'], client_auth=client['client_auth'],
                   redirect_uri=server.info['redirect_uri'], scope='openid offline_access')
    if client.get('client_secret'):
        profile['client_secret'] = client['client_secret']
    profile.update(extra)
    return profile


def userinfo(server, access_token):
    answer = requests.get(server.url + '/me', headers={'Authorization': 'Bearer ' + access_token}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.serial  # the listener may need port 80 (loopback_args): one at a time
@pytest.mark.parametrize('client_name', ['web', 'public'])
def test_loopback_flow_then_unattended_refresh(make_site, oidc_provider, client_name):
    client = oidc_provider.clients[client_name]
    name = 'idp_%s' % client_name
    vars_file = 'group_vars/all/%s_refresh_token.yml' % name
    if client_name == 'web':  # -e store_path, relative to the current directory
        site = make_site({name: code_profile(oidc_provider, client)})
        run = site.onboard(name, '-e', 'store_path=inventory/' + vars_file,
                           *loopback_args(oidc_provider, client['client_id']), store_path=False, cwd=str(site.root))
    else:  # the profile's refresh_token_vars_file, relative to the inventory
        site = make_site({name: code_profile(oidc_provider, client, refresh_token_vars_file=vars_file)})
        run = site.onboard(name, *loopback_args(oidc_provider, client['client_id']), store_path=False)

    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
    assert_waits_after(run, 'Authorization URL: ' + url)
    params = query_of(url)
    assert url.startswith(oidc_provider.url + '/auth?')
    assert params['code_challenge_method'] == 'S256' and len(params['code_challenge']) == 43
    assert len(params['state']) >= 32 and params['prompt'] == 'consent'
    assert params['scope'] == 'openid offline_access' and params['client_id'] == client['client_id']
    redirect_base = params['redirect_uri']
    assert urlsplit(redirect_base).hostname == '127.0.0.1' and redirect_base.endswith('/callback')

    location, page = browse(oidc_provider, url, redirect_base)
    assert page.status_code == 200 and 'Authorization received' in page.text
    code = query_of(location)['code']
    rc, out = run.finish()
    assert_succeeded(rc, out)

    obtained = site.results(name)
    assert obtained['refresh_token'] and obtained['access_token'] and obtained['flow'] == 'loopback'
    assert userinfo(oidc_provider, obtained['access_token'])['sub'] == 'alice'
    assert site.stored_refresh_token(name) == obtained['refresh_token']
    assert shown_settings(out, name) == dict(grant_type='refresh_token', refresh_token='{{ vault_%s_refresh_token }}'
                                             % name, refresh_token_vars_file=vars_file)
    assert_shows_only_its_own_steps(out)
    secrets = {code, client.get('client_secret'), obtained['access_token'], obtained['refresh_token']}
    assert_no_leak(out, secrets, params['code_challenge'])

    used = site.use_stored_refresh_token(name, secrets, out)
    assert used['access_token'] != obtained['access_token']
    assert userinfo(oidc_provider, used['access_token'])['sub'] == 'alice'


@pytest.mark.serial  # the listener may need port 80 (loopback_args): one at a time
def test_loopback_flow_reports_a_refusal_with_the_servers_words(make_site, oidc_provider):
    client = oidc_provider.clients['public']
    site = make_site({'refused': code_profile(oidc_provider, client)})
    run = site.onboard('refused', *loopback_args(oidc_provider, client['client_id']))
    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
    location, page = browse(oidc_provider, url, query_of(url)['redirect_uri'], abort=True)
    assert page.status_code == 400 and 'access_denied' in page.text
    rc, out = run.finish()
    assert rc != 0
    assert 'access_denied - End-User aborted interaction' in out and 'refused the authorization' in out
    assert not site.store_path('refused').exists()
    assert_no_leak(out, set(), query_of(url)['code_challenge'])


def test_loopback_flow_survives_requests_from_other_local_processes_and_web_pages(make_site, oidc_provider):
    """Issue #12, finding 5: before the person approves, other local processes (or a web page the browser shows)
    send requests to the listener: without the state, with a wrong one, with an error and a phishing error_uri.
    Each gets 400 and the run keeps waiting; the genuine redirect then completes the authorization, and none of the
    strays' words reach the operator."""
    client = oidc_provider.clients['public']
    site = make_site({'contested': code_profile(oidc_provider, client)})
    run = site.onboard('contested', *loopback_args(oidc_provider, client['client_id']))
    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
    redirect_base = query_of(url)['redirect_uri']
    strays = ['?code=attacker-code-1', '?code=attacker-code-2&state=attacker-state',
              '?error=access_denied&error_description=Stray+words+call+0800&error_uri=https%3A%2F%2Fphish.invalid%2F',
              '?error=server_error&error_description=Stray+words+again&state=attacker-state', '']
    for stray in strays:
        answer = requests.get(redirect_base + stray, timeout=10)
        assert answer.status_code == 400, (stray, answer.status_code)
    assert requests.get(redirect_base.rsplit('/', 1)[0] + '/favicon.ico', timeout=10).status_code == 404
    assert run.proc.poll() is None, 'the run ended on a stray request:\n' + run.output

    location, page = browse(oidc_provider, url, redirect_base)
    assert page.status_code == 200 and 'Authorization received' in page.text
    rc, out = run.finish()
    assert_succeeded(rc, out)
    obtained = site.results('contested')
    assert obtained['refresh_token'] and userinfo(oidc_provider, obtained['access_token'])['sub'] == 'alice'
    assert 'Stray words' not in out and 'phish.invalid' not in out and 'attacker-code' not in out
    assert_no_leak(out, {query_of(location)['code'], obtained['access_token'], obtained['refresh_token']},
                   query_of(url)['code_challenge'])


def test_paste_flow_against_lockitnetwork_by_running_again(make_site, tmp_path, quirks_server):
    lockit = quirks_server.clients['lockit']
    requests.post(quirks_server.url + '/_requests/reset', timeout=10)
    profile = dict(preset='lockitnetwork', base_url=quirks_server.url, client_id=lockit['client_id'],
                   client_secret=lockit['client_secret'], redirect_uri=lockit['redirect_uris'][0])
    site = make_site({'lockit': profile})

    # First run, no terminal: the URL is shown, the request kept, and the run says how to finish.
    rc, out = site.onboard('lockit', '-e', 'flow=paste', capture=False).finish()
    assert rc != 0 and "run again with -e redirect_url='" in out, out
    url = re.search(r'Authorization URL: (\S+)', out).group(1)
    params = query_of(url)
    assert url.startswith(quirks_server.url + '/oauth/authorize?') and params['redirect_uri'] == lockit['redirect_uris'][0]
    assert len(site.pending_files()) == 1
    assert_no_leak(out, {lockit['client_secret']}, params['code_challenge'])

    # The person approves; the browser lands on the (unreachable) redirect URI, whose address they copy.
    location = requests.get(url, allow_redirects=False, timeout=10).headers['Location']
    code = query_of(location)['code']

    # An address with another state is refused, and the waiting request survives it. On the command line, the
    # address is echoed by ansible-playbook -vvvv itself (its extra_vars line), and nowhere else.
    forged = location.replace('state=' + params['state'], 'state=forged-state-0123456789')
    rc, out = site.onboard('lockit', '-e', 'flow=paste', '-e', 'redirect_url=%s' % forged).finish()
    assert rc != 0 and 'carries a different state' in out, out
    echoed = [line for line in out.splitlines() if code in line]
    assert len(echoed) == 1 and echoed[0].startswith('extra_vars: ('), echoed
    assert_no_leak(out.replace(echoed[0], ''), {code, lockit['client_secret']}, params['code_challenge'])
    assert len(site.pending_files()) == 1

    # From a file (-e @FILE), the address stays out of the output altogether.
    answer = tmp_path / 'redirect.yml'
    answer.write_text(json.dumps({'redirect_url': location}))
    run = site.onboard('lockit', '-e', 'flow=paste', '-e', '@%s' % answer)
    rc, out = run.finish()
    assert_succeeded(rc, out)
    obtained = site.results('lockit')
    assert site.stored_refresh_token('lockit') == obtained['refresh_token']
    assert obtained['expires_in'] > 604000 and not site.pending_files()

    exchange = [r for r in requests.get(quirks_server.url + '/_requests', timeout=10).json()
                if r['path'] == '/oauth/access-token']
    assert len(exchange) == 1, 'one exchange, with the verifier of the first run and the registered redirect URI'
    form = exchange[0]['form']
    assert form['grant_type'] == 'authorization_code' and form['redirect_uri'] == lockit['redirect_uris'][0]
    assert challenge_of(form['code_verifier']) == params['code_challenge']
    secrets = {code, form['code_verifier'], lockit['client_secret'], obtained['access_token'],
               obtained['refresh_token']}
    assert_no_leak(out, secrets, params['code_challenge'])

    site.use_stored_refresh_token('lockit', secrets, out)


def test_paste_flow_at_the_prompt(make_site, quirks_server):
    lockit = quirks_server.clients['lockit']
    profile = dict(preset='lockitnetwork', base_url=quirks_server.url, client_id=lockit['client_id'],
                   client_secret=lockit['client_secret'], redirect_uri=lockit['redirect_uris'][0])
    site = make_site({'lockit': profile})
    run = site.onboard('lockit', '-e', 'flow=paste', terminal=True, capture=False)  # as the operator types it
    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
    location = requests.get(url, allow_redirects=False, timeout=10).headers['Location']
    run.wait_for(r'Paste the whole address')
    for _attempt in range(3):  # the prompt flushes what was typed before it listens
        time.sleep(0.5)
        run.type(location + '\r')
        try:
            run.wait_for(r'TASK \[Authorize with the address the browser was sent to\]', timeout=5)
            break
        except AssertionError:
            if run.proc.poll() is not None:
                raise
    rc, out = run.finish()
    assert_succeeded(rc, out)
    assert_shows_only_its_own_steps(out)
    assert shown_settings(out, 'lockit')['refresh_token_vars_file'] == 'group_vars/all/lockit_refresh_token.yml'
    refresh_token = site.stored_refresh_token('lockit')
    assert_no_leak(out, {query_of(location)['code'], lockit['client_secret'], refresh_token},
                   query_of(url)['code_challenge'])


@pytest.mark.smoke
def test_device_flow_then_unattended_refresh(make_site, oidc_provider):
    client = oidc_provider.clients['device']
    profile = dict(issuer=oidc_provider.url, client_id=client['client_id'], client_auth='none',
                   scope='openid offline_access', refresh_token_vars_file='group_vars/all/headless_refresh_token.yml')
    site = make_site({'headless': profile})
    run = site.onboard('headless', '-e', 'flow=device', '-e', 'store_var=headless_rt', store_path=False)
    user_code = run.wait_for(r'User code: (\S+)').group(1)
    assert run.wait_for(r'Verification URL: (\S+)').group(1) == oidc_provider.url + '/device'
    assert_waits_after(run, run.wait_for(r'The code expires in \d+ s; checking for approval every \d+ s\.').group(0))
    approve_device_code(oidc_provider, user_code)
    rc, out = run.finish()
    assert_succeeded(rc, out)
    assert_shows_only_its_own_steps(out)

    obtained = site.results('headless')
    assert obtained['flow'] == 'device' and obtained['refresh_token']
    assert userinfo(oidc_provider, obtained['access_token'])['sub'] == 'alice'
    assert site.stored_refresh_token('headless', 'headless_rt') == obtained['refresh_token']
    assert shown_settings(out, 'headless') == dict(
        grant_type='refresh_token', refresh_token='{{ headless_rt }}',
        refresh_token_vars_file='group_vars/all/headless_refresh_token.yml', refresh_token_var='headless_rt')
    assert 'the one stored now is spent on first use' in out
    secrets = {obtained['access_token'], obtained['refresh_token']}
    assert_no_leak(out, secrets)
    site.use_stored_refresh_token('headless', secrets, out)


# A browser as a desktop starts one: the URL on its command line, where every user of the machine can read it
# (/proc/PID/cmdline). It records what it was given, and stays open like a browser does.
FAKE_BROWSER = """#!%(python)s
import json, os, sys, time
with open(%(record)r + '.tmp', 'w') as handle:
    json.dump(dict(pid=os.getpid(), url=sys.argv[-1]), handle)
os.rename(%(record)r + '.tmp', %(record)r)
time.sleep(120)
"""
# What another local user sees of every process: its command line.
READ_COMMAND_LINES = 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f" 2>/dev/null; echo; done'


@pytest.fixture
def fake_browser(tmp_path):
    """The BROWSER to give ansible-playbook, and a function that waits for what it was asked to open."""
    record = tmp_path / 'browser-opened.json'
    browser = tmp_path / 'fake-browser'
    browser.write_text(FAKE_BROWSER % dict(python=sys.executable, record=str(record)))
    browser.chmod(0o700)
    opened = []

    def wait_for_url(timeout=30):
        deadline = time.monotonic() + timeout
        while not record.exists():
            assert time.monotonic() < deadline, 'no browser was started'
            time.sleep(0.1)
        opened.append(json.loads(record.read_text()))
        return opened[-1]['url']
    yield str(browser), wait_for_url
    for browser_run in opened:
        try:
            os.kill(browser_run['pid'], signal.SIGKILL)
        except OSError:
            pass


def test_open_browser_gives_the_browser_nothing_another_local_user_could_answer_the_listener_with(
        make_site, oidc_provider, fake_browser, intruder):
    """open_browser puts a URL on the browser's command line, which every user of the machine can read. Were it the
    authorization URL, its state (and code_challenge) would let another user answer the listener in the person's
    place, with a code for an account of their own obtained for that challenge: the profile would then renew as
    them. The browser is given a one-time link to the listener instead, which sends it on."""
    browser, opened_url = fake_browser
    client = oidc_provider.clients['public']
    site = make_site({'desktop': code_profile(oidc_provider, client)})
    site.extra_env = dict(BROWSER=browser)
    run = site.onboard('desktop', '-e', 'open_browser=true', *loopback_args(oidc_provider, client['client_id']))
    params = query_of(run.wait_for(r'Authorization URL: (\S+)').group(1))
    link = opened_url()

    seen = as_intruder(intruder, READ_COMMAND_LINES)
    assert link in seen, 'the other user reads the command line the browser was started with'
    assert params['state'] not in seen and params['code_challenge'] not in seen

    location, page = browse(oidc_provider, link, params['redirect_uri'])
    assert page.status_code == 200 and 'Authorization received' in page.text
    rc, out = run.finish()
    assert_succeeded(rc, out)
    assert site.stored_refresh_token('desktop') == site.results('desktop')['refresh_token']
    assert_no_leak(out, {query_of(location)['code']}, params['code_challenge'])


def test_the_link_given_to_the_browser_works_once(make_site, oidc_provider, fake_browser):
    """Whoever requests the browser's link second (another user who read it, or the browser after them) ends the
    authorization: the person sees it fail, rather than the other user finishing it unseen."""
    browser, opened_url = fake_browser
    client = oidc_provider.clients['public']
    site = make_site({'twice': code_profile(oidc_provider, client)})
    site.extra_env = dict(BROWSER=browser)
    run = site.onboard('twice', '-e', 'open_browser=true', *loopback_args(oidc_provider, client['client_id']))
    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
    link = opened_url()
    first = requests.get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers['Location'] == url
    second = requests.get(link, allow_redirects=False, timeout=10)
    assert second.status_code == 400 and 'Location' not in second.headers
    rc, out = run.finish()
    assert rc != 0 and 'was requested twice' in out, out
    assert not site.store_path('twice').exists()


def test_what_is_wrong_is_said_before_anyone_is_asked_to_authorize(make_site, oidc_provider):
    client = oidc_provider.clients['device']
    profile = dict(issuer=oidc_provider.url, client_id=client['client_id'], client_auth='none', scope='openid')
    site = make_site({'nowhere': profile})
    rc, out = site.onboard('nowhere', '-e', 'flow=device', store_path=False).finish()
    assert rc != 0 and "Profile 'nowhere' names no vars file for its refresh token" in out, out
    assert 'User code' not in out

    rc, out = site.onboard('nowhere', '-e', 'flow=browser').finish()
    assert rc != 0 and 'flow' in out and 'loopback, paste, device' in out and 'User code' not in out

    rc, out = site.onboard('nowhere', '-e', 'flow=device', '-e', 'store_var=not-a-name').finish()
    assert rc != 0 and "'refresh_token_var' must be an Ansible variable name" in out and 'User code' not in out


def test_check_mode_says_where_the_refresh_token_would_go_and_authorizes_nothing(make_site, oidc_provider):
    client = oidc_provider.clients['device']
    profile = dict(issuer=oidc_provider.url, client_id=client['client_id'], client_auth='none',
                   scope='openid offline_access', refresh_token_vars_file='group_vars/all/rehearsal_refresh_token.yml')
    site = make_site({'rehearsal': profile})
    rc, out = site.onboard('rehearsal', '-e', 'flow=device', '--check', store_path=False, capture=False).finish()
    assert_succeeded(rc, out)
    assert "Profile 'rehearsal' is ready for the device flow; its refresh token would be stored as " \
           "vault_rehearsal_refresh_token in %s" % site.store_path('rehearsal') in out
    assert 'User code' not in out and not site.store_path('rehearsal').exists()
