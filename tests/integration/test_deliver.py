# -*- coding: utf-8 -*-
"""tokenops.oauth2.deliver through real ansible-playbook runs over three local-connection hosts, against two real
authorization servers: oauth2_server (password grant; its /me accepts the token) and oidc_provider (client
credentials; its introspection endpoint vouches for the token).

The consumers are tests/integration/consumer.py, run by the play's handlers ("restarted") and by the tests: they
read the env file and call the server with the token. Systemd units are restarted through the real
ansible.builtin.systemd_service module; this machine runs no systemd, so a stand-in ``systemctl`` first on PATH
answers ``show`` like systemd and logs every call. Every run is made with -vvvv and its whole output is searched for
every token delivered so far and every secret of the run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import run_playbook, target_python  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = ('web1', 'web2', 'web3')
VAULT_PASSWORD = 'deliver-vault-pw-6170'
RECAP = re.compile(r'^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)', re.M)
FAKE_SYSTEMCTL = '''#!/bin/sh
# Stands in for systemctl: logs the call, and answers "show" as systemd does for a loaded, running unit.
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
if [ "$1" = show ]; then
  printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nUnitFileState=enabled\\n' "$2"
fi
'''


class Site:
    """An inventory of three local hosts with group_vars/all (profiles, deliveries), the consumers' configs, the
    stand-in systemctl and the vault password; runs the playbooks and remembers every token it has seen."""

    def __init__(self, root, oidc, node):
        self.root, self.oidc, self.node = root, oidc, node
        self.inventory = root / 'inventory'
        self.group_vars = self.inventory / 'group_vars' / 'all'
        self.group_vars.mkdir(parents=True)
        self.vault_file = self.group_vars / 'api_token.yml'
        self.record_dir = root / 'records'
        self.record_dir.mkdir()
        self.bin = root / 'bin'
        self.bin.mkdir()
        (self.bin / 'systemctl').write_text(FAKE_SYSTEMCTL)
        (self.bin / 'systemctl').chmod(0o755)
        self.systemctl_log = root / 'systemctl.log'
        self.systemctl_log.write_text('')
        self.password_file = root / 'vault-pass'
        self.password_file.write_text(VAULT_PASSWORD + '\n')
        self.cache_dir = root / 'cache'

        lines = ['[web]']
        for host in HOSTS:
            (root / host).mkdir()
            lines.append('%s deliver_dir=%s' % (host, root / host))
        lines += ['', '[all:vars]', 'ansible_connection=local', 'ansible_python_interpreter=%s' % target_python()]
        (self.inventory / 'hosts.ini').write_text('\n'.join(lines) + '\n')

        cc, app, admin = oidc.clients['cc_basic'], node.clients['app'], node.users['admin']
        self.secrets = {cc['client_secret'], app['client_secret'], admin['password'], VAULT_PASSWORD}
        self.tokens = set()
        profiles = dict(
            api=dict(token_url=oidc.url + '/token', client_id=cc['client_id'], client_secret=cc['client_secret'],
                     client_auth='client_secret_basic', scope='api:read', resource='urn:tokenops:api'),
            app=dict(token_url=node.url + '/token', grant_type='password', client_id=app['client_id'],
                     client_secret=app['client_secret'], username=admin['username'], password=admin['password'],
                     scope='read'),
        )
        self.deliveries = [
            dict(profile='app', to='env_file', path='{{ deliver_dir }}/app.env', vars=dict(APP_TOKEN='access_token'),
                 restart=['app.service', 'shared.service'], notify=['Restart app consumer']),
            dict(profile='api', to='env_file', path='{{ deliver_dir }}/api.env', mode='0640',
                 vars=dict(API_TOKEN='access_token', API_TOKEN_EXPIRES_AT='expires_at', API_AUTHORIZATION='header',
                           API_TOKEN_EXPIRES_IN='expires_in'),
                 restart=['shared.service'], notify=['Restart api consumer']),
            dict(profile='api', to='vault_vars', path='{{ inventory_dir }}/group_vars/all/api_token.yml',
                 vars=dict(api_access_token='access_token', api_token_expires_at='expires_at'),
                 notify=['Note the vars file change']),
        ]
        # JSON is YAML: the inventory's group_vars, as an operator would keep them (secrets unvaulted, a test).
        (self.group_vars / 'main.yml').write_text(json.dumps(dict(
            oauth2_profiles=profiles, oauth2_deliveries=self.deliveries,
            consumer_dir=str(root), record_dir=str(self.record_dir))))
        (root / 'app.json').write_text(json.dumps(dict(key='APP_TOKEN', check='me', url=node.url + '/me')))
        (root / 'api.json').write_text(json.dumps(dict(
            key='API_TOKEN', check='introspect', url=oidc.url + '/token/introspection',
            client_id=cc['client_id'], client_secret=cc['client_secret'])))

    def requests(self):
        return self.node.stats()['token_requests'], self.oidc.stats()['token_requests']

    def run(self, playbook, *args, run_id='run', fails=False):
        """Run PLAYBOOK -vvvv; check it failed or not as FAILS says and that no token or secret is in its output.
        Returns (output, {host: changed count}, (token requests to oauth2_server, to oidc_provider))."""
        before = self.requests()
        command = [playbook, '-vvvv', '-i', str(self.inventory / 'hosts.ini'), '-e', 'run_id=%s' % run_id,
                   '--vault-password-file', str(self.password_file)] + list(args)
        proc = run_playbook(*command, check=False, extra_env=dict(
            PATH='%s:%s' % (self.bin, os.environ['PATH']), FAKE_SYSTEMCTL_LOG=str(self.systemctl_log),
            TOKENOPS_OAUTH2_CACHE_DIR=str(self.cache_dir)))
        after = self.requests()
        out = proc.stdout
        self.collect_tokens()
        leaked = [s for s in self.secrets | self.tokens if s in out]
        assert not leaked, 'leaked into the -vvvv output: %s' % ', '.join(s[:6] + '...' for s in leaked)
        recap = dict((host, (int(changed), int(failed))) for host, changed, failed in RECAP.findall(out))
        assert recap, out
        assert (proc.returncode != 0) == fails, out[-6000:]
        return out, dict((h, c) for h, (c, _f) in recap.items()), (after[0] - before[0], after[1] - before[1])

    def env(self, host, name):
        """The env file as a mapping, read the way a consumer reads it."""
        from dotenv import dotenv_values
        return dotenv_values(str(self.root / host / name))

    def vault_values(self):
        import yaml
        from ansible.parsing.vault import VaultLib, VaultSecret
        vault = VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))])

        class Loader(yaml.SafeLoader):
            pass
        Loader.add_constructor('!vault', lambda loader, node: vault.decrypt(loader.construct_scalar(node)).decode())
        with open(str(self.vault_file)) as handle:
            return yaml.load(handle, Loader=Loader)

    def collect_tokens(self):
        for host in HOSTS:
            for name in ('app.env', 'api.env'):
                if (self.root / host / name).exists():
                    values = self.env(host, name)
                    self.tokens.update(v for k, v in values.items() if k in ('APP_TOKEN', 'API_TOKEN') and v)
        if self.vault_file.exists():
            self.tokens.add(self.vault_values()['api_access_token'])

    def records(self, host, consumer):
        path = self.root / host / ('%s.records' % consumer)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def systemctl_calls(self, verb):
        return [line for line in self.systemctl_log.read_text().splitlines() if line.startswith(verb + ' ')]

    def consume(self, host, consumer):
        """Run the consumer as the test; return its record."""
        proc = subprocess.run([sys.executable, os.path.join(HERE, 'consumer.py'),
                               '--config', str(self.root / ('%s.json' % consumer)),
                               '--env-file', str(self.root / host / ('%s.env' % consumer))],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.fixture
def site(tmp_path, oidc_provider, oauth2_server):
    return Site(tmp_path, oidc_provider, oauth2_server)


@pytest.mark.smoke
def test_deliver_once_for_all_hosts_then_nothing_then_forced_rotation(site):
    # First run: one token request per profile for three hosts, every file written, every consumer started.
    out, changed, requests = site.run('deliver_site.yml', run_id='first')
    assert requests == (1, 1)
    assert all(changed[h] > 0 for h in HOSTS)
    app_token = site.env('web1', 'app.env')['APP_TOKEN']
    api = site.env('web1', 'api.env')
    for host in HOSTS:
        assert site.env(host, 'app.env') == dict(APP_TOKEN=app_token)
        assert site.env(host, 'api.env') == api
        assert mode_of(site.root / host / 'app.env') == 0o600  # the default
        assert mode_of(site.root / host / 'api.env') == 0o640
        for consumer, token in (('app', app_token), ('api', api['API_TOKEN'])):
            assert [(r['tag'], r['accepted'], r['token_sha256']) for r in site.records(host, consumer)] == [
                ('first', True, sha256(token))]
    assert api['API_AUTHORIZATION'] == 'Bearer ' + api['API_TOKEN'] and int(api['API_TOKEN_EXPIRES_IN']) > 3000
    assert site.records('web1', 'app')[0]['owner'] == 'admin@example.org'
    # Each host restarts each of its units once, though shared.service is named by both of its deliveries.
    assert sorted(site.systemctl_calls('restart')) == sorted(
        ['restart app.service'] * 3 + ['restart shared.service'] * 3)
    vault_values = site.vault_values()
    assert vault_values == dict(api_access_token=api['API_TOKEN'], api_token_expires_at=api['API_TOKEN_EXPIRES_AT'])
    assert mode_of(site.vault_file) == 0o600 and site.vault_file.read_text().count('!vault |') == 2
    assert (site.record_dir / 'vault.records').read_text() == 'first web1\n'  # once, for the play's first host
    assert site.consume('web2', 'app')['accepted']

    # Second run while the tokens are good: nothing changes, nothing is asked, nothing restarts.
    files = dict((p, (p.read_bytes(), os.stat(str(p)).st_ino)) for p in site.root.glob('web*/*.env'))
    vault_bytes = site.vault_file.read_bytes()
    out, changed, requests = site.run('deliver_site.yml', run_id='second')
    assert changed == dict((h, 0) for h in HOSTS) and requests == (0, 0)
    assert 'RUNNING HANDLER' not in out and len(site.systemctl_calls('restart')) == 6
    assert files == dict((p, (p.read_bytes(), os.stat(str(p)).st_ino)) for p in site.root.glob('web*/*.env'))
    assert site.vault_file.read_bytes() == vault_bytes
    assert all(len(site.records(h, c)) == 1 for h in HOSTS for c in ('app', 'api'))

    # A new host (web2 lost its app.env): check mode says what would change and restart there, and does nothing.
    (site.root / 'web2' / 'app.env').unlink()
    shows = len(site.systemctl_calls('show'))
    out, changed, requests = site.run('deliver_site.yml', '--check', run_id='check')
    assert changed['web2'] > 0 and changed['web1'] == changed['web3'] == 0
    assert 'changed: [web2] => (item=app.service)' in out and 'changed: [web2] => (item=shared.service)' in out
    assert not (site.root / 'web2' / 'app.env').exists()
    assert len(site.systemctl_calls('restart')) == 6 and len(site.systemctl_calls('show')) == shows + 2
    # The real run restarts web2's consumers of app.env only.
    out, changed, requests = site.run('deliver_site.yml', run_id='restore')
    assert changed['web2'] > 0 and changed['web1'] == changed['web3'] == 0 and requests == (0, 0)
    assert site.systemctl_calls('restart')[6:] == ['restart app.service', 'restart shared.service']
    assert [r['tag'] for r in site.records('web2', 'app')] == ['first', 'restore']
    assert [r['tag'] for r in site.records('web1', 'app')] == ['first']
    assert [r['tag'] for r in site.records('web2', 'api')] == ['first']

    # Forced rotation, while a reader keeps reading web1's app.env: it only ever sees a whole file, old or new.
    app_env = site.root / 'web1' / 'app.env'
    inode = os.stat(str(app_env)).st_ino
    seen, stop = [], threading.Event()

    def read_constantly():
        while not stop.is_set():
            seen.append(app_env.read_text())
    reader = threading.Thread(target=read_constantly)
    reader.start()
    try:
        out, changed, requests = site.run('deliver_site.yml', '-e', 'oauth2_deliver_force=true', run_id='rotation')
    finally:
        stop.set()
        reader.join()
    assert requests == (1, 1)
    new_app_token = site.env('web1', 'app.env')['APP_TOKEN']
    new_api = site.env('web1', 'api.env')
    assert new_app_token != app_token and new_api['API_TOKEN'] != api['API_TOKEN']
    assert set(seen) == {'APP_TOKEN=%s\n' % app_token, 'APP_TOKEN=%s\n' % new_app_token}
    assert os.stat(str(app_env)).st_ino != inode and mode_of(app_env) == 0o600  # renamed into place, still 0600
    for host in HOSTS:
        for consumer, token in (('app', new_app_token), ('api', new_api['API_TOKEN'])):
            last = site.records(host, consumer)[-1]
            assert (last['tag'], last['accepted'], last['token_sha256']) == ('rotation', True, sha256(token))
    assert len(site.systemctl_calls('restart')) == 8 + 6
    assert site.vault_values()['api_access_token'] == new_api['API_TOKEN']
    assert (site.record_dir / 'vault.records').read_text() == 'first web1\nrotation web1\n'
    assert site.consume('web3', 'app')['token_sha256'] == sha256(new_app_token)
    assert site.consume('web3', 'api')['accepted']

    # A later run loads the rotated token from group_vars (vault decrypted) and the server accepts it.
    site.run('deliver_vault_load.yml', '-e', 'introspection_url=%s/token/introspection' % site.oidc.url)
    assert len(site.tokens) == 4  # two tokens per profile, none of which reached an output


def test_state_absent_removes_the_keys_and_restarts_their_consumers(site):
    site.run('deliver_site.yml', '--limit', 'web1', run_id='first')
    absent = [dict(site.deliveries[1], state='absent', vars=dict(API_TOKEN_EXPIRES_IN='expires_in')),
              dict(site.deliveries[2], state='absent', vars=dict(api_token_expires_at='expires_at'))]
    extra = site.root / 'absent.json'
    extra.write_text(json.dumps(dict(oauth2_deliveries=absent)))
    out, changed, requests = site.run('deliver_site.yml', '--limit', 'web1', '-e', '@%s' % extra, run_id='absent')
    assert requests == (0, 0), 'removing needs no token'
    assert 'API_TOKEN_EXPIRES_IN' not in site.env('web1', 'api.env') and 'API_TOKEN' in site.env('web1', 'api.env')
    assert list(site.vault_values()) == ['api_access_token']
    assert [r['tag'] for r in site.records('web1', 'api')] == ['first', 'absent']
    assert site.systemctl_calls('restart')[-1] == 'restart shared.service'
    out, changed, requests = site.run('deliver_site.yml', '--limit', 'web1', '-e', '@%s' % extra, run_id='again')
    assert changed == dict(web1=0)


@pytest.mark.parametrize('delivery, message', [
    (dict(to='file'), 'value of to must be one of: env_file, vault_vars, got: file found in oauth2_deliveries'),
    (dict(path=None), 'missing required arguments: path found in oauth2_deliveries'),
    (dict(vars=dict(TOKEN='acces_token')), "delivery 1 (env_file /tmp/x.env): TOKEN asks for 'acces_token', which is "
                                           "not a token field (one of access_token, expires_at, expires_in"),
    (dict(vars={'1TOKEN': 'access_token'}), "'1TOKEN' is not a valid variable name"),
    (dict(vars={'TOKEN\n': 'access_token'}), "is not a valid variable name"),
    (dict(to='vault_vars', restart=['a.service']), 'owner, group and restart apply to env_file deliveries only'),
    (dict(restrat=['a.service']), 'oauth2_deliveries.restrat. Supported parameters include: follow, group, mode, notify'),
], ids=['unknown-destination', 'missing-path', 'bad-field', 'bad-name', 'name-ending-in-newline', 'restart-on-vault-vars', 'unknown-key'])
def test_invalid_deliveries_are_reported_before_any_request(site, delivery, message):
    bad = dict(profile='api', to='env_file', path='/tmp/x.env', vars=dict(TOKEN='access_token'))
    bad.update(delivery)
    bad = dict((k, v) for k, v in bad.items() if v is not None)
    extra = site.root / 'bad.json'
    extra.write_text(json.dumps(dict(oauth2_deliveries=[bad])))
    out, changed, requests = site.run('deliver_site.yml', '-e', '@%s' % extra, fails=True)
    assert message in out
    assert requests == (0, 0)
