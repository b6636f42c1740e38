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
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import PLAYBOOK_DIR, REPO_ROOT, ansible_env  # noqa: E402

from tests.servers.launch import _walk_interactions, approve_device_code  # noqa: E402

VAULT_PASSWORD = 'onboard-vault-pw-8127'
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
# Anything that could be a code_verifier (RFC 7636: 43 to 128 unreserved characters), as a whole word.
VERIFIER_LIKE = re.compile(r'(?<![A-Za-z0-9._~-])[A-Za-z0-9._~-]{43,128}(?![A-Za-z0-9._~-])')
RECAP = re.compile(r'localhost\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d+)')


class Run:
    """A running ansible-playbook whose output is read as it comes, from a pipe or from a terminal."""

    def __init__(self, args, env, terminal=False):
        self._chunks = []
        self._changed = threading.Condition()
        if terminal:
            master, slave = pty.openpty()
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO  # our typing is not output: only what ansible-playbook writes is
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            # A session of its own with the terminal as controlling tty: ansible.builtin.pause then prompts on it.
            self.proc = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdin=slave, stdout=slave, stderr=slave,
                                         start_new_session=True,
                                         preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
            os.close(slave)
            self._fd = master
        else:
            self.proc = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
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
        return ansible_env({'TOKENOPS_OAUTH2_CACHE_DIR': str(self.cache_dir), 'PYTHONUNBUFFERED': '1'})

    def start(self, playbook, *args, terminal=False):
        run = Run(self.command(playbook, *args), self.env(), terminal=terminal)
        self.runs.append(run)
        return run

    def stop(self):
        """Kill what a failed test left running (a listener waiting for a browser that never comes)."""
        for run in self.runs:
            run.kill()

    def onboard(self, name, *args, terminal=False, capture=True):
        """Start the onboard playbook for profile NAME, storing into group_vars/all/NAME_refresh_token.yml.
        With CAPTURE, through onboard_capture.yml, which also records the registered result."""
        playbook = os.path.join(PLAYBOOK_DIR, 'onboard_capture.yml') if capture else 'tokenops.oauth2.onboard'
        extra = ['-e', 'profile=%s' % name, '-e', 'store_path=%s' % self.store_path(name), '-e', 'listen_timeout=60']
        if capture:
            extra += ['-e', 'onboard_results_file=%s' % self.results_file(name)]
        return self.start(playbook, *(extra + list(args)), terminal=terminal)

    def results_file(self, name):
        return self.root / ('%s-results.json' % name)

    def results(self, name):
        return json.loads(self.results_file(name).read_text())

    def stored_refresh_token(self, name):
        from ansible.parsing.vault import VaultLib, VaultSecret
        text = self.store_path(name).read_text()
        assert '!vault |' in text and '$ANSIBLE_VAULT;1.1;AES256' in text, text
        var = 'vault_%s_refresh_token' % name
        assert text.startswith('---\n%s: !vault |\n' % var), text
        ciphertext = '\n'.join(line.strip() for line in text.split('\n')[2:] if line.strip())
        vault = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])
        return vault.decrypt(ciphertext).decode()

    def use_stored_refresh_token(self, name, secrets):
        """Apply what the onboard run said to add to the profile, then obtain a token unattended with it."""
        self.profiles[name].update(grant_type='refresh_token',
                                   refresh_token='{{ vault_%s_refresh_token }}' % name)
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
    site = make_site({name: code_profile(oidc_provider, client)})
    run = site.onboard(name, *loopback_args(oidc_provider, client['client_id']))  # flow defaults to loopback

    url = run.wait_for(r'Authorization URL: (\S+)').group(1)
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
    assert 'grant_type: refresh_token' in out and "refresh_token: '{{ vault_%s_refresh_token }}'" % name in out
    secrets = {code, client.get('client_secret'), obtained['access_token'], obtained['refresh_token']}
    assert_no_leak(out, secrets, params['code_challenge'])

    used = site.use_stored_refresh_token(name, secrets)
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

    site.use_stored_refresh_token('lockit', secrets)


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
            run.wait_for(r'TASK \[Authorize\]', timeout=5)
            break
        except AssertionError:
            if run.proc.poll() is not None:
                raise
    rc, out = run.finish()
    assert_succeeded(rc, out)
    refresh_token = site.stored_refresh_token('lockit')
    assert_no_leak(out, {query_of(location)['code'], lockit['client_secret'], refresh_token},
                   query_of(url)['code_challenge'])


@pytest.mark.smoke
def test_device_flow_then_unattended_refresh(make_site, oidc_provider):
    client = oidc_provider.clients['device']
    profile = dict(issuer=oidc_provider.url, client_id=client['client_id'], client_auth='none',
                   scope='openid offline_access')
    site = make_site({'headless': profile})
    run = site.onboard('headless', '-e', 'flow=device')
    user_code = run.wait_for(r'User code: (\S+)').group(1)
    assert run.wait_for(r'Verification URL: (\S+)').group(1) == oidc_provider.url + '/device'
    approve_device_code(oidc_provider, user_code)
    rc, out = run.finish()
    assert_succeeded(rc, out)

    obtained = site.results('headless')
    assert obtained['flow'] == 'device' and obtained['refresh_token']
    assert userinfo(oidc_provider, obtained['access_token'])['sub'] == 'alice'
    assert site.stored_refresh_token('headless') == obtained['refresh_token']
    secrets = {obtained['access_token'], obtained['refresh_token']}
    assert_no_leak(out, secrets)
    site.use_stored_refresh_token('headless', secrets)
