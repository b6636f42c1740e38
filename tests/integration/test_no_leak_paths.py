# -*- coding: utf-8 -*-
"""Issue 7: the leak check widened to every plugin and role, on success and failure paths, in every output channel.

Real ansible-playbook runs against the real local servers (and, for the echo cases, a token endpoint of this file
that echoes each request in its errors). Each run's whole output is searched for every secret and every token the
runs used so far, raw and in the encodings requests carry them (form encoding, HTTP Basic): the default callback at
-vvvv with --diff, a callback that prints every result whole at -vvvv (ansible.posix.json, which
ansible.builtin.json redirects to, where installed; else ansible.builtin.minimal), --check --diff runs, and every
file the ansible.builtin.tree and ansible.builtin.junit callbacks record. The cache directories (controller and
host) must hold no secret and no token in the clear, though they demonstrably hold the tokens (encrypted).

So that no check can pass vacuously, every run also proves what it claims: the tokens were obtained and are in the
files written, the wrong secrets, secret headers and extra parameters really reached the servers, the failures and
warnings happened, the callbacks recorded the results.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import importlib.util
import json
import os
import re
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote_plus

import pytest
import requests
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from token_helper import basic_credentials, encoded  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache  # noqa: E402  pylint: disable=wrong-import-position

VAULT_PASSWORD = 'leak-paths-vault-pw-30517'
# Secrets that only these tests use; each is distinct, so that a hit names its origin.
WRONG_SECRET = 'leak-wrong-secret-8d41c7'
HARBOR_WRONG = 'leak-harbor-wrong-secret-2f96'
HOST_WRONG = 'leak-host-wrong-secret-61b0'
HEADER_SECRET = 'leak-header-secret-a57e2d'
HEADER_SECRET_BAD = 'leak-header-secret-bad-09c4'
EXTRA_SECRET = 'leak-extra-param-secret-3b18'
EXTRA_SECRET_BAD = 'leak-extra-param-secret-bad-7e55'
TYPO_SECRET = 'leak-typo-secret-c0ffee'
DOWN_SECRET = 'leak-down-secret-5ad1'
LOCKIT_WRONG = 'leak-lockit-wrong-secret-90d2'
SCHED_WRONG = 'leak-schedule-wrong-secret-47aa'
DELIVER_WRONG = 'leak-deliver-wrong-secret-e313'
# For the server that echoes requests: characters that form encoding changes, so that the encoded form differs.
ECHO_SECRET = 'leak echo+secret/9=&x'
ECHO_SIMPLE_SECRET = 'leak-echo-simple-secret-0b3e'
ECHO_HEADER = 'leak-echo-header-secret-1d7f'
ECHO_EXTRA = 'leak echo+extra/param'
ECHO_ACCESS = 'leak-echo-access-token-77aa41'
ECHO_REFRESH = 'leak-echo-held-refresh-token-5c2e'
FIXED_SECRETS = {VAULT_PASSWORD, WRONG_SECRET, HARBOR_WRONG, HOST_WRONG, HEADER_SECRET, HEADER_SECRET_BAD,
                 EXTRA_SECRET, EXTRA_SECRET_BAD, TYPO_SECRET, DOWN_SECRET, LOCKIT_WRONG, SCHED_WRONG, DELIVER_WRONG}
# Anything that could be a code_verifier (RFC 7636: 43 to 128 unreserved characters), as a whole word.
VERIFIER_LIKE = re.compile(r'(?<![A-Za-z0-9._~-])[A-Za-z0-9._~-]{43,128}(?![A-Za-z0-9._~-])')
TOKEN_KEYS = ('access_token', 'refresh_token', 'id_token', 'header')
RECAP = re.compile(r'^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)', re.M)
TREE_HOSTS = ('tree_token', 'tree_token_host', 'tree_token_host_fail', 'tree_lookup_fail', 'tree_env', 'tree_env_fail',
              'tree_vault', 'tree_vault_fail')


def tokens_in(value):
    """Every token string under the keys that hold tokens, in a results structure (``Bearer x`` gives ``x``)."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TOKEN_KEYS and isinstance(item, str) and item:
                found.add(item.split(' ', 1)[-1])
            else:
                found |= tokens_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= tokens_in(item)
    return found


def challenge_of(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()


def leaks(text, needles):
    return sorted(s for s in needles if s and s in text)


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Site:
    """The inventory, vault password, profiles and directories of the runs; runs playbooks and keeps every secret
    and token seen so far (from the results the playbooks record, the files they write, the caches and the requests
    the quirks server received)."""

    def __init__(self, root, oidc, node, quirks):
        self.root, self.oidc, self.node, self.quirks = root, oidc, node, quirks
        self.cache = os.path.join(root, 'cache')
        self.host_cache = os.path.join(root, 'host-cache')
        self.files = os.path.join(root, 'files')
        self.deliver_dir = os.path.join(self.files, 'deliver')
        self.units = os.path.join(root, 'units')
        for path in (self.files, self.deliver_dir, self.units):
            os.makedirs(path)
        self.password_file = os.path.join(root, 'vault-pass')
        with open(self.password_file, 'w') as handle:
            handle.write(VAULT_PASSWORD + '\n')
        self.vault = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])
        self.outputs = {}
        self.tokens = set()
        self.wide_directories = set()

        cc_basic, cc_post, web = (oidc.clients[n] for n in ('cc_basic', 'cc_post', 'web'))
        app, admin = node.clients['app'], node.users['admin']
        harbor_client, lockit = quirks.clients['harbor_sandbox'], quirks.clients['lockit']
        self.clients = [cc_basic, cc_post, web, app, harbor_client, lockit]
        self.secrets = set(FIXED_SECRETS) | {c['client_secret'] for c in self.clients} | {admin['password']}
        pairs = [(c['client_id'], c['client_secret']) for c in self.clients]
        pairs += [(cc_basic['client_id'], s) for s in (WRONG_SECRET, TYPO_SECRET, DOWN_SECRET)]
        pairs += [(lockit['client_id'], LOCKIT_WRONG)]
        self.encoded_secrets = set().union(*(basic_credentials(i, s) for i, s in pairs))
        self.cache_secrets = [c['client_secret'] for c in self.clients] + [admin['password']]
        self.harbor_client = harbor_client

        def cc(client, **extra):
            profile = dict(token_url=oidc.url + '/token', client_id=client['client_id'],
                           client_secret=client['client_secret'], client_auth=client['client_auth'], scope='api:read',
                           resource='urn:tokenops:api')
            profile.update(extra)
            return profile

        def harbor(**extra):
            profile = dict(preset='harbor_lockers', tower_id='0100A1', base_url=quirks.url + '/harbor/sandbox',
                           client_id=harbor_client['client_id'], client_secret=harbor_client['client_secret'])
            profile.update(extra)
            return profile

        def password(**extra):
            profile = dict(token_url=node.url + '/token', grant_type='password', client_id=app['client_id'],
                           client_secret=app['client_secret'], username=admin['username'],
                           password=admin['password'], scope='read')
            profile.update(extra)
            return profile

        def lockit_profile(**extra):
            profile = dict(preset='lockitnetwork', base_url=quirks.url, client_id=lockit['client_id'],
                           client_secret=lockit['client_secret'], redirect_uri=lockit['redirect_uris'][0])
            profile.update(extra)
            return profile

        self.profiles = dict(
            cc_basic=cc(cc_basic),
            cc_post=cc(cc_post),
            host_ok=harbor(cache_dir=self.host_cache, headers={'X-Leak-Check': HEADER_SECRET},
                           extra_params={'leak_param': EXTRA_SECRET}),
            host_bad=harbor(client_secret=HOST_WRONG, headers={'X-Leak-Check': HEADER_SECRET_BAD},
                            extra_params={'leak_param': EXTRA_SECRET_BAD}, retries=0),
            password=password(cache_dir=os.path.join(self.cache, 'pw')),
            corrupt=cc(cc_post, cache_dir=os.path.join(self.cache, 'corrupt')),
            wrong_secret=cc(cc_basic, client_secret=WRONG_SECRET),
            harbor_wrong=harbor(client_secret=HARBOR_WRONG),
            typo=cc(cc_basic, client_secret=TYPO_SECRET, clientid='x'),
            down=cc(cc_basic, token_url='http://127.0.0.1:9/token', client_secret=DOWN_SECRET, retries=0),
            lockit=lockit_profile(),
            lockit_wrong=lockit_profile(client_secret=LOCKIT_WRONG),
            loopback=dict(issuer=oidc.url, client_id=web['client_id'], client_secret=web['client_secret'],
                          client_auth=web['client_auth'], redirect_uri='http://127.0.0.1/callback',
                          scope='openid offline_access'),
            sched_ok=cc(cc_basic, cache_dir=os.path.join(self.cache, 'schedule')),
            sched_bad=cc(cc_post, client_secret=SCHED_WRONG),
            dl_api=cc(cc_basic, cache_dir=os.path.join(self.cache, 'deliver-api')),
            dl_app=password(cache_dir=os.path.join(self.cache, 'deliver-app'),
                            refresh_token_vars_file=os.path.join(self.deliver_dir, 'app_refresh.yml')),
            dl_wrong=harbor(client_secret=DELIVER_WRONG),
        )
        self.good_deliveries = [
            dict(profile='dl_api', to='env_file', path=os.path.join(self.deliver_dir, 'api.env'),
                 vars=dict(API_TOKEN='access_token', API_AUTHORIZATION='header', API_EXPIRES_AT='expires_at')),
            dict(profile='dl_app', to='vault_vars', path=os.path.join(self.deliver_dir, 'app.yml'),
                 vars=dict(app_access_token='access_token', app_refresh_token='refresh_token')),
        ]
        python = dict(ansible_connection='local', ansible_python_interpreter=sys.executable)
        inventory = dict(all=dict(
            hosts=dict(localhost=dict(python)),
            vars=python,
            children=dict(
                tree=dict(hosts=dict((name, {}) for name in TREE_HOSTS)),
                deliver_bad=dict(hosts=dict(
                    deliver_bad_secret=dict(oauth2_deliveries=[dict(
                        profile='dl_wrong', to='env_file', path=os.path.join(self.deliver_dir, 'wrong.env'),
                        vars=dict(WRONG_TOKEN='access_token'))]),
                    deliver_bad_path=dict(oauth2_deliveries=[dict(
                        profile='dl_api', to='env_file', path=os.path.join(root, 'missing-dir', 'api.env'),
                        vars=dict(API_TOKEN='access_token'))]),
                )),
            )))
        self.inventory = os.path.join(root, 'hosts.yml')
        with open(self.inventory, 'w') as handle:
            json.dump(inventory, handle)  # JSON is YAML
        self.vars_file = os.path.join(root, 'vars.json')
        with open(self.vars_file, 'w') as handle:
            json.dump(dict(
                oauth2_profiles=self.profiles, leak_dir=root, leak_good_deliveries=self.good_deliveries,
                oauth2_schedule_systemctl=False, oauth2_schedule_backend='systemd', oauth2_schedule_unit_dir=self.units,
                oauth2_schedule_cron_file=os.path.join(root, 'cron-leak'), oauth2_schedule_lock_file=os.path.join(root, 'rotate.lock'),
                oauth2_schedule_inventory=self.inventory, oauth2_schedule_probe_lifetimes=True,
                oauth2_schedule_playbook=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks', 'leak_paths.yml'),
                oauth2_schedule_vault_ids=['default@%s' % self.password_file],
            ), handle)

    # --- running ----------------------------------------------------------------------------------------------------
    def quirks_requests(self):
        return requests.get(self.quirks.url + '/_requests', timeout=10).json()

    def run(self, name, playbook, *args, callback=None, record=False, fails=False):
        """Run PLAYBOOK -vvvv (with the tree and junit callbacks recording under recorded-NAME/ if RECORD); collect
        what it used; return (output, recap {host: (changed, failed)}, the requests the quirks server received
        during the run)."""
        results_file = os.path.join(self.root, '%s-results.json' % name)
        # Results carry the module's invocation (its arguments, secrets masked), as before ansible-core 2.21 made that
        # opt-in: the most a result can expose, so the greps see it.
        env = dict(TOKENOPS_OAUTH2_CACHE_DIR=self.cache, ANSIBLE_INJECT_INVOCATION='true')
        if callback:
            env['ANSIBLE_STDOUT_CALLBACK'] = callback
        if record:
            recorded = os.path.join(self.root, 'recorded-' + name)
            env.update(ANSIBLE_CALLBACKS_ENABLED='ansible.builtin.tree,ansible.builtin.junit',
                       ANSIBLE_CALLBACK_TREE_DIR=os.path.join(recorded, 'tree'),
                       JUNIT_OUTPUT_DIR=os.path.join(recorded, 'junit'))
        seen = len(self.quirks_requests())
        proc = run_playbook(playbook, '-vvvv', '-i', self.inventory, '--vault-password-file', self.password_file,
                            '-e', '@' + self.vars_file, '-e', 'leak_results_file=%s' % results_file, *args,
                            extra_env=env, check=False)
        out = proc.stdout
        self.outputs[name] = out
        received = self.quirks_requests()[seen:]
        self.collect(results_file, received)
        assert (proc.returncode != 0) == fails, out[-8000:]
        recap = dict((host, (int(changed), int(failed))) for host, changed, failed in RECAP.findall(out))
        return out, recap, received

    # --- what was used ----------------------------------------------------------------------------------------------
    def collect(self, results_file, received):
        if os.path.exists(results_file):
            with open(results_file) as handle:
                self.tokens |= tokens_in(json.load(handle))
        for name in os.listdir(self.files):
            path = os.path.join(self.files, name)
            if name.endswith('.env'):
                self.tokens |= set(self.env_values(path).values())
            elif name.endswith('.yml'):
                self.tokens |= set(self.vault_values(path).values())
        for name in os.listdir(self.deliver_dir):
            path = os.path.join(self.deliver_dir, name)
            if name.endswith('.env'):
                self.tokens |= {v for k, v in self.env_values(path).items() if 'EXPIRES' not in k}
            elif name.endswith('.yml'):
                self.tokens |= {v for k, v in self.vault_values(path).items() if 'expires' not in k and v}
        for record in self.cached_records():
            self.tokens |= tokens_in(record)
        for request in received:
            form = request.get('form') or {}
            self.secrets |= {form[k] for k in ('client_secret', 'code', 'code_verifier', 'leak_param') if form.get(k)}
            self.tokens |= {form[k] for k in ('refresh_token',) if form.get(k)}
            headers = dict((k.lower(), v) for k, v in request.get('headers', {}).items())
            if headers.get('x-leak-check'):
                self.secrets.add(headers['x-leak-check'])
            if headers.get('authorization', '').startswith('Basic '):
                self.encoded_secrets.add(headers['authorization'].split(' ', 1)[1])
        self.tokens.discard('')
        self.tokens = {t.split(' ', 1)[-1] for t in self.tokens}

    @staticmethod
    def env_values(path):
        values = {}
        with open(path) as handle:
            for line in handle:
                key, sep, value = line.rstrip('\n').partition('=')
                if sep and ('TOKEN' in key or 'AUTHORIZATION' in key):
                    values[key] = value.strip("'").split(' ', 1)[-1]
        return values

    def vault_values(self, path):
        """The variables of a vars file written by vault_vars, decrypted (values or whole file)."""
        vault = self.vault

        class Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
            pass
        Loader.add_constructor('!vault', lambda loader, node: vault.decrypt(loader.construct_scalar(node)).decode())
        Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))
        with open(path, 'rb') as handle:
            raw = handle.read()
        if raw.startswith(b'$ANSIBLE_VAULT'):
            raw = vault.decrypt(raw)
        data = yaml.load(raw.decode(), Loader=Loader) or {}
        return dict((k, v) for k, v in data.items() if isinstance(v, str))

    def cache_files(self):
        for directory in (self.cache, self.host_cache):
            for top, unused_dirs, names in os.walk(directory):
                for name in names:
                    yield top, name

    def cached_records(self):
        """Every token record the caches hold, decrypted with the secrets the profiles use."""
        records = []
        for top, name in self.cache_files():
            if not name.endswith('.token'):
                continue
            if mode_of(top) != 0o700:  # before TokenCache, which would tighten it
                self.wide_directories.add(top)
            cache = TokenCache(top)
            for secret in self.cache_secrets:
                record = cache.load(name[:-len('.token')], secret)
                if record:
                    records.append(record)
                    break
        return records

    def needles(self):
        return self.secrets | encoded(self.secrets) | self.tokens | self.encoded_secrets

    def assert_no_leak(self, text, where):
        found = leaks(text, self.needles())
        assert not found, 'leaked into %s: %s' % (where, ', '.join(s[:8] + '...' for s in found))
        # The code verifier of an authorization URL shown (such as the loopback one, never exchanged), by its
        # challenge: no word of the text may be it.
        challenges = set(re.findall(r'code_challenge=([A-Za-z0-9_-]{43})', text))
        assert not [w for w in VERIFIER_LIKE.findall(text) if challenge_of(w) in challenges], \
            'a code_verifier leaked into %s' % where


def recorded_files(site, name):
    """{relative path: text} of what the tree and junit callbacks recorded for run NAME."""
    top = os.path.join(site.root, 'recorded-' + name)
    files = {}
    for directory, unused_dirs, names in os.walk(top):
        for file_name in names:
            path = os.path.join(directory, file_name)
            with open(path) as handle:
                files[os.path.relpath(path, top)] = handle.read()
    return files


def file_contents(directory):
    contents = {}
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, 'rb') as handle:
                contents[name] = handle.read()
    return contents


def json_callback():
    """ansible.builtin.json is a redirect to ansible.posix.json, which ansible-core does not ship. Where that
    collection is not installed, ansible.builtin.minimal prints every result whole, as JSON, instead."""
    try:
        found = importlib.util.find_spec('ansible_collections.ansible.posix') is not None
    except ImportError:
        found = False
    return 'ansible.posix.json' if found else 'ansible.builtin.minimal'


@pytest.fixture(scope='module')
def site(tmp_path_factory, oidc_provider, oauth2_server, quirks_server):
    return Site(str(tmp_path_factory.mktemp('leak')), oidc_provider, oauth2_server, quirks_server)


@pytest.fixture(scope='module')
def default_run(site):
    return site.run('default', 'leak_paths.yml', '--diff', record=True) + (recorded_files(site, 'default'),)


@pytest.fixture(scope='module')
def json_run(site, default_run):
    return site.run('json', 'leak_paths.yml', '--diff', callback=json_callback(), record=True) + \
        (recorded_files(site, 'json'),)


@pytest.fixture(scope='module')
def check_run(site, json_run):
    before = file_contents(site.files)
    return site.run('check', 'leak_paths.yml', '--check', '--diff') + (before,)


def test_the_leak_search_finds_what_it_looks_for(site):
    """The search itself can fail: a secret raw or in HTTP Basic credentials, a code verifier by its challenge."""
    assert leaks('x %s y' % HEADER_SECRET, site.needles()) == [HEADER_SECRET]
    assert leaks('nothing here', site.needles()) == []
    client = site.clients[0]
    basic = sorted(basic_credentials(client['client_id'], client['client_secret']))[0]
    assert leaks('Authorization: Basic %s' % basic, site.needles()) == [basic]
    verifier = 'leak-verifier-' + 'v' * 40
    with pytest.raises(AssertionError, match='code_verifier'):
        site.assert_no_leak('code_challenge=%s, then %s' % (challenge_of(verifier), verifier), 'a test text')


def assert_plugin_paths(site, out, recap, received):
    """What every run of leak_paths.yml must show happened (so that its leak check is not vacuous)."""
    if recap:  # (not printed by ansible.builtin.minimal; the run's exit status says the same)
        assert recap['localhost'][1] == 0 and all(recap[h][1] == 0 for h in TREE_HOSTS), recap
    assert 'RFC 9700' in out, 'the warning of a profile with the password grant'
    # Failures, each reported with its reason.
    assert out.count('invalid_client') >= 3, 'wrong secret: controller, host, lookup (harbor)'
    assert "unknown key 'clientid'" in out and 'cannot connect' in out
    assert 'the directory of' in out and 'missing-dir' in out
    assert 'the value of API_TOKEN contains a newline' in out
    assert "'leak-missing-id' is not among this run's vault ids" in out
    assert "'bad-name' is not a valid variable name" in out
    # The wrong secrets, the secret header and extra parameter really reached the server.
    sent_forms = [r.get('form') or {} for r in received]
    sent_headers = [dict((k.lower(), v) for k, v in r.get('headers', {}).items()) for r in received]
    assert any(f.get('client_secret') == HOST_WRONG and f.get('leak_param') == EXTRA_SECRET_BAD for f in sent_forms)
    assert any(f.get('client_secret') == HARBOR_WRONG for f in sent_forms)
    assert any(f.get('client_secret') == site.harbor_client['client_secret'] and f.get('leak_param') == EXTRA_SECRET
               for f in sent_forms)
    assert any(h.get('x-leak-check') == HEADER_SECRET for h in sent_headers)
    assert any(h.get('x-leak-check') == HEADER_SECRET_BAD for h in sent_headers)


def assert_recorded(site, recorded):
    """The tree callback recorded each tree host's plugin result and the junit callback every result, in full; none
    of what they recorded holds a secret or a token."""
    tree = dict((path[len('tree/'):], json.loads(text)) for path, text in recorded.items() if path.startswith('tree/'))
    assert sorted(h for h in tree if h.startswith('tree_')) == sorted(TREE_HOSTS), sorted(tree)
    assert tree['tree_token'].get('censored') and tree['tree_token_host'].get('censored')
    failed = tree['tree_token_host_fail']
    assert 'invalid_client' in failed['msg']
    # The module's whole invocation is recorded, its secrets masked.
    args = failed['invocation']['module_args']
    assert args['client_secret'] == args['headers']['X-Leak-Check'] == args['extra_params']['leak_param'] == \
        'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert 'invalid_client' in tree['tree_lookup_fail']['msg']
    assert tree['tree_env']['keys_changed'] == ['TREE_TOKEN'] and tree['tree_env']['diff']
    assert tree['tree_vault']['keys_changed'] == ['tree_token'] and tree['tree_vault']['diff']
    assert 'does not exist' in tree['tree_env_fail']['msg'] and 'leak-missing-id' in tree['tree_vault_fail']['msg']
    tree_token = site.env_values(os.path.join(site.files, 'tree.env'))['TREE_TOKEN']
    assert tree_token in site.tokens
    assert site.vault_values(os.path.join(site.files, 'tree.yml'))['tree_token'] == tree_token
    junit = [text for path, text in recorded.items() if path.startswith('junit/')]
    assert len(junit) == 1 and junit[0].count('<testcase') > 50, 'junit recorded every task of every host'
    for marker in ('invalid_client', 'keys_changed', 'API_TOKEN (value changed)', 'censored', 'module_args'):
        assert marker in junit[0], marker
    for path, text in recorded.items():
        site.assert_no_leak(text, 'the file %s a callback recorded' % path)


def test_plugins_default_callback_vvvv_diff_and_tree(site, default_run):
    out, recap, received, recorded = default_run
    assert_plugin_paths(site, out, recap, received)
    # The corrupt cache file, once through the module (its result's warnings), once through the lookup (Display).
    assert re.search(r'ignoring unreadable token cache file \S+ \(JSONDecodeError\)', out)
    assert re.search(r'ignoring unreadable token cache file \S+ \(ValueError\)', out)
    assert 'the server refused the held refresh token (invalid_grant); falling back' in out
    assert 'carries a different state' in out and 'no redirect reached' in out
    assert out.count('invalid_client') >= 4, 'and the authorization with a wrong secret'
    # --diff: the keys that changed, never the values.
    assert 'API_TOKEN (added)' in out and 'API_TOKEN (value changed)' in out
    assert 'api_access_token (added)' in out and 'api_access_token (value changed)' in out
    # The files hold the renewed token, the lockit refresh token is stored.
    env = site.env_values(os.path.join(site.files, 'app.env'))
    assert env['API_TOKEN'] in site.tokens and env['API_TOKEN'] == env['API_AUTHORIZATION']
    assert site.vault_values(os.path.join(site.files, 'tokens.yml'))['api_access_token'] == env['API_TOKEN']
    assert site.vault_values(os.path.join(site.files, 'tokens-file.yml'))['api_access_token'] == env['API_TOKEN']
    lockit_refresh = site.vault_values(os.path.join(site.files, 'lockit.yml'))['vault_lockit_refresh_token']
    assert lockit_refresh in site.tokens
    exchanges = [r['form'] for r in received if r['path'] == '/oauth/access-token']
    assert len(exchanges) == 2 and all(f.get('code') and f.get('code_verifier') for f in exchanges)
    assert len(site.tokens) >= 12, sorted(t[:6] for t in site.tokens)
    site.assert_no_leak(out, 'the -vvvv --diff output')
    assert_recorded(site, recorded)


def test_plugins_json_callback_vvvv_diff_and_tree(site, json_run):
    out, recap, received, recorded = json_run
    assert_plugin_paths(site, out, recap, received)
    if json_callback() == 'ansible.posix.json':
        assert '"plays": [' in out and '"stats": {' in out, 'the json callback wrote the whole run'
    else:
        assert 'localhost | SUCCESS => {' in out and 'localhost | FAILED! => {' in out, 'minimal wrote every result'
    assert 'API_TOKEN (value changed)' in out and 'api_access_token (value changed)' in out
    assert 'ignoring unreadable token cache file' in out and 'refused the held refresh token' in out
    site.assert_no_leak(out, 'the json callback output')
    assert_recorded(site, recorded)


def test_plugins_check_diff(site, check_run):
    out, recap, received, before = check_run
    assert_plugin_paths(site, out, recap, received)
    # In check mode the renewed token makes env_file and vault_vars report a change, and nothing is written.
    assert 'API_TOKEN (value changed)' in out and 'api_access_token (value changed)' in out
    assert file_contents(site.files) == before
    site.assert_no_leak(out, 'the -vvvv --check --diff output')


@pytest.fixture(scope='module')
def roles_run(site, check_run):
    return site.run('roles', 'leak_roles.yml', '--diff', record=True, fails=True) + (recorded_files(site, 'roles'),)


@pytest.fixture(scope='module')
def roles_check_run(site, roles_run):
    return site.run('roles-check', 'leak_roles.yml', '--check', '--diff', callback=json_callback(), fails=True)


def assert_role_paths(site, name, out, received):
    """What every run of leak_roles.yml must show happened (so that its leak check is not vacuous)."""
    with open(os.path.join(site.root, '%s-results.json' % name)) as handle:
        results = json.load(handle)
    # schedule: the lifetime was probed with a real token; the probe with a wrong secret failed (and was rescued).
    assert 60 < results['schedule']['lifetimes']['sched_ok'] <= 3600, results
    assert results['schedule_bad'].startswith('failed at: Obtain a fresh token'), results
    service = os.path.join(site.units, 'tokenops-oauth2-rotate.service')
    with open(service) as handle:
        unit = handle.read()
    assert '--vault-id=default@%s' % site.password_file in unit
    site.assert_no_leak(unit, 'the service unit')
    # deliver: the wrong secret reached the server; that delivery's file was never written.
    assert any((r.get('form') or {}).get('client_secret') == DELIVER_WRONG for r in received)
    assert not os.path.exists(os.path.join(site.deliver_dir, 'wrong.env'))
    assert not os.path.exists(os.path.join(site.root, 'missing-dir'))


def test_roles_vvvv_diff_and_recorded(site, roles_run):
    out, recap, received, recorded = roles_run
    assert_role_paths(site, 'roles', out, received)
    assert recap['localhost'] == (recap['localhost'][0], 0) and recap['localhost'][0] > 0, recap
    assert recap['deliver_bad_secret'][1] == 1 and recap['deliver_bad_path'][1] == 1, recap
    assert re.search(r'Write the tokens into the environment files\] \*+\n(?:.*\n)*?failed: \[deliver_bad_path\]', out), \
        'the delivery into a missing directory failed in env_file'
    assert 'dl_api: still valid (expires ' in out and 'FAILED: not written to deliver_bad_path:%s' % os.path.join(
        site.root, 'missing-dir', 'api.env') in out, 'the summary names the destination that was not written'
    # The good deliveries hold the tokens the role obtained (the same as its encrypted cache holds).
    env = site.env_values(os.path.join(site.deliver_dir, 'api.env'))
    app = site.vault_values(os.path.join(site.deliver_dir, 'app.yml'))
    cached = tokens_in(site.cached_records())
    assert env['API_TOKEN'] == env['API_AUTHORIZATION'] and env['API_TOKEN'] in cached
    assert app['app_access_token'] in cached and app['app_refresh_token'] in cached
    # The unit files were rendered with --diff: their text is in the output.
    assert 'ExecStart=' in out and 'OnUnitActiveSec=' in out
    site.assert_no_leak(out, 'the roles -vvvv --diff output')
    assert any(path.startswith('junit/') for path in recorded) and 'tree/deliver_bad_secret' in recorded
    for path, text in recorded.items():
        site.assert_no_leak(text, 'the file %s a callback recorded' % path)


def test_roles_check_diff_json(site, roles_check_run):
    out, recap, received = roles_check_run
    assert_role_paths(site, 'roles-check', out, received)
    site.assert_no_leak(out, 'the roles --check --diff output')


def test_caches_hold_the_tokens_encrypted_and_nothing_in_the_clear(site, roles_check_run):
    """After every run: the controller cache (all profiles' cache_dir under it) and the host-side cache hold the
    tokens, Fernet-encrypted, in private files; no file holds a secret or a token in the clear, and no waiting
    authorization (code verifier) is left behind."""
    needles = site.needles()
    names = []
    for top, name in site.cache_files():
        path = os.path.join(top, name)
        names.append(name)
        assert mode_of(path) == 0o600, path
        assert mode_of(top) == 0o700, top
        with open(path, 'rb') as handle:
            content = handle.read().decode('latin-1')
        found = leaks(name + content, needles)
        assert not found, 'in the clear in %s: %s' % (path, ', '.join(s[:8] + '...' for s in found))
    assert not [n for n in names if n.startswith('authorize-')], 'a pending authorization was left behind'
    assert not site.wide_directories, 'cache directories open to others after a run: %s' % site.wide_directories
    # Not vacuous: the files really hold tokens, the runs' own (the planted plaintext included: the corrupt cache
    # file held a token in the clear until the plugin replaced it).
    records = site.cached_records()
    cached = tokens_in(records)
    assert len(records) >= 8 and len(cached) >= 10, (len(records), len(cached))
    assert cached <= site.tokens
    host_tokens = [n for top, n in site.cache_files() if top == site.host_cache and n.endswith('.token')]
    assert len(host_tokens) == 1, 'the token module on the host wrote its cache there'


def test_every_output_and_file_against_everything_used(site, roles_check_run):
    """Tokens found after a run (in a later run's results or files, in the caches) are searched for in every
    output and recorded file of every run; the files written hold tokens and are private."""
    assert len(site.outputs) == 5
    for name, out in site.outputs.items():
        site.assert_no_leak(out, 'the output of run %s' % name)
    for name in ('default', 'json', 'roles'):
        for path, text in recorded_files(site, name).items():
            site.assert_no_leak(text, 'the file %s a callback recorded in run %s' % (path, name))
    written = [os.path.join(d, n) for d in (site.files, site.deliver_dir) for n in os.listdir(d)
               if os.path.isfile(os.path.join(d, n))]
    assert len(written) >= 8
    for path in written:
        assert mode_of(path) == 0o600, path
    # The vault_vars files hold no token in the clear, though they decrypt to tokens.
    for path in written:
        if path.endswith('.yml'):
            with open(path) as handle:
                text = handle.read()
            assert set(site.vault_values(path).values()) & site.tokens, path
            assert not leaks(text, site.needles()), path


class EchoHandler(BaseHTTPRequestHandler):
    """A token endpoint that echoes each request (Authorization and X-Leak-Check headers, form body) in its error
    answer, as debug error pages and some proxies do: JSON error_description under /json, an HTML page under /html.
    Under /rotate it first issues a token with a refresh token, then echoes the refresh request."""

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def do_POST(self):  # pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode()
        self.server.received.append(dict(path=self.path, headers=dict(self.headers.items()), body=body))
        echo = 'authorization=%s x-leak=%s body=%s' % (self.headers.get('Authorization'), self.headers.get('X-Leak-Check'), body)
        if self.path == '/rotate' and 'grant_type=refresh_token' not in body:
            status, kind, data = 200, 'application/json', json.dumps(dict(
                access_token=ECHO_ACCESS, refresh_token=ECHO_REFRESH, token_type='Bearer', expires_in=3600))
        elif self.path in ('/json', '/rotate'):
            status, kind = 401, 'application/json'
            data = json.dumps(dict(error='invalid_client', error_description='rejected: ' + echo))
        else:
            status, kind, data = 502, 'text/html', '<html><body><h1>502</h1><pre>%s</pre></body></html>' % echo
        data = data.encode()
        self.send_response(status)
        self.send_header('Content-Type', kind)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope='module')
def echo_run(tmp_path_factory):
    """leak_echo.yml at -vvvv against the echoing endpoint; (output, the requests the endpoint received)."""
    server = ThreadingHTTPServer(('127.0.0.1', 0), EchoHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root = str(tmp_path_factory.mktemp('echo'))
    url = 'http://127.0.0.1:%d' % server.server_address[1]

    def profile(path, client_auth):
        return dict(token_url=url + path, client_id='echo-client', client_secret=ECHO_SECRET, client_auth=client_auth,
                    headers={'X-Leak-Check': ECHO_HEADER}, extra_params={'leak_param': ECHO_EXTRA}, retries=0)
    profiles = dict(
        echo_basic_json=profile('/json', 'client_secret_basic'), echo_post_json=profile('/json', 'client_secret_post'),
        echo_basic_html=profile('/html', 'client_secret_basic'), echo_post_html=profile('/html', 'client_secret_post'),
        echo_refresh=dict(token_url=url + '/rotate', client_id='echo-client', client_secret=ECHO_SIMPLE_SECRET,
                          retries=0))
    variables = os.path.join(root, 'vars.json')
    with open(variables, 'w') as handle:
        json.dump(dict(oauth2_profiles=profiles), handle)
    try:
        proc = run_playbook('leak_echo.yml', '-vvvv', '-e', '@' + variables, check=False,
                            extra_env=dict(TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(root, 'cache')))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout, server.received


def test_a_server_echoing_the_request_gets_its_raw_secrets_redacted(echo_run):
    out, received = echo_run
    # Every case reached the endpoint with its secrets, and its echo reached the output.
    assert [r['path'] for r in received] == ['/json', '/json', '/html', '/html', '/rotate', '/rotate']
    assert sum(r['headers'].get('X-Leak-Check') == ECHO_HEADER for r in received) == 4
    assert sum('client_secret=%s' % quote_plus(ECHO_SECRET) in r['body'] for r in received) == 2
    assert sum(r['headers'].get('Authorization', '').startswith('Basic ') for r in received) == 4
    assert 'refresh_token=%s' % ECHO_REFRESH in received[-1]['body']
    assert out.count('rejected: authorization=') >= 3 and out.count('answered with text/html') >= 2
    assert 'x-leak=********' in out, 'the raw header secret was redacted from the echo'
    found = leaks(out, {ECHO_SECRET, ECHO_HEADER, ECHO_EXTRA, ECHO_SIMPLE_SECRET, ECHO_ACCESS})
    assert not found, found


def test_a_server_echoing_the_request_leaks_no_basic_credentials(echo_run):
    out = echo_run[0]
    needles = basic_credentials('echo-client', ECHO_SECRET) | basic_credentials('echo-client', ECHO_SIMPLE_SECRET)
    found = leaks(out, needles)
    assert not found, 'base64 client credentials in the -vvvv output: %s' % found


def test_a_server_echoing_the_request_leaks_no_form_encoded_secret(echo_run):
    out = echo_run[0]
    found = leaks(out, encoded([ECHO_SECRET, ECHO_EXTRA]))
    assert not found, 'form-encoded secrets in the -vvvv output: %s' % found


def test_a_server_echoing_the_request_leaks_no_held_refresh_token(echo_run):
    out = echo_run[0]
    assert ECHO_REFRESH not in out, 'the held refresh token is in the -vvvv output'


# --- issue #12: echoes in the "error" field and in a Location, terminal attacks, a hostile device endpoint ----------
HOSTILE_SECRET = 'leak hostile+secret/7=&y'
HOSTILE_HEADER = 'leak-hostile-header-secret-4c1d'
HOSTILE_EXTRA = 'leak hostile+extra/param-e2'
# A raw escape or bell character, or one a JSON callback escaped: either means the server's bytes reached the output.
TERMINAL_CONTROLS = ('\x1b', '\x07', '\x9b', '\u202e', '\\u001b', '\\u0007')


@pytest.fixture(scope='module')
def hostile_run(tmp_path_factory, quirks_server):
    """leak_hostile.yml at -vvvv against the quirks server's hostile endpoints; (output, the requests it received)."""
    root = str(tmp_path_factory.mktemp('hostile'))
    url = quirks_server.url + '/fault/'

    def profile(path, client_auth='client_secret_basic', **extra):
        options = dict(token_url=url + path, client_id='hostile-client', client_secret=HOSTILE_SECRET,
                       client_auth=client_auth, headers={'X-Leak-Check': HOSTILE_HEADER},
                       extra_params={'leak_param': HOSTILE_EXTRA}, retries=0)
        options.update(extra)
        return options
    profiles = dict(
        echo_error_basic=profile('echo-error'), echo_error_post=profile('echo-error', 'client_secret_post'),
        echo_location_basic=profile('echo-location'),
        echo_location_post=profile('echo-location', 'client_secret_post'),
        hostile_text=profile('hostile-text'), hostile_token=profile('hostile-token'),
        hostile_device=dict(token_url=url + 'invalid-grant', device_authorization_url=url + 'hostile-device',
                            client_id='hostile-device-client', client_auth='none', retries=0))
    variables = os.path.join(root, 'vars.json')
    with open(variables, 'w') as handle:
        json.dump(dict(oauth2_profiles=profiles, hostile_deliver_path=os.path.join(root, 'echo.env')), handle)
    seen = len(requests.get(quirks_server.url + '/_requests', timeout=10).json())
    proc = run_playbook('leak_hostile.yml', '-vvvv', '-e', '@' + variables, check=False,
                        extra_env=dict(TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(root, 'cache')))
    received = requests.get(quirks_server.url + '/_requests', timeout=10).json()[seen:]
    assert proc.returncode == 0, proc.stdout
    assert not os.path.exists(os.path.join(root, 'echo.env'))
    return proc.stdout, received


def test_a_server_echoing_in_the_error_field_and_the_location_gets_every_secret_redacted(hostile_run):
    out, received = hostile_run
    # Not vacuous: every case reached its endpoint with its secrets, and each echo or refusal reached the output.
    paths = [r['path'] for r in received]
    assert paths.count('/fault/echo-error') == 3 and paths.count('/fault/echo-location') == 2, paths
    assert sum(r['headers'].get('X-Leak-Check') == HOSTILE_HEADER for r in received) == 7
    assert sum((r.get('form') or {}).get('client_secret') == HOSTILE_SECRET for r in received) == 2
    needles = {HOSTILE_SECRET, HOSTILE_HEADER, HOSTILE_EXTRA} | encoded([HOSTILE_SECRET, HOSTILE_EXTRA]) | \
        basic_credentials('hostile-client', HOSTILE_SECRET)
    found = leaks(out, needles)
    assert not found, 'leaked into the -vvvv output: %s' % found
    # The echoes did reach the output, redacted (and the deliver summary names the failure).
    assert out.count('invalid_client authorization=********') >= 2, 'the echo in the error field, redacted'
    assert out.count('redirected to https://elsewhere.invalid/echo/') >= 2
    assert 'echo_error_basic: FAILED, left as they were' in out, 'the deliver summary names the failure'


def test_a_hostile_server_cannot_reach_the_terminal_or_point_the_operator_elsewhere(hostile_run):
    out, received = hostile_run
    assert any(r['path'] == '/fault/hostile-device' for r in received)
    found = [c for c in TERMINAL_CONTROLS if c in out]
    assert not found, 'terminal control characters from the server in the output: %r' % found
    assert 'phish.invalid' not in out, 'an error_uri was shown'
    # Each hostile answer was refused or shown escaped, with a message that says why.
    assert 'refused with an error code that is not RFC 6749 (not shown)' in out
    assert "the device authorization response's verification_uri must be an ASCII URL" in out
    assert 'which is not an HTTP authentication scheme' in out
