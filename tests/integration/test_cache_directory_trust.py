# -*- coding: utf-8 -*-
"""Security issue 12, finding 4: the controller cache trusts only a directory of its own, and nothing planted in it.

The intruder is a real second local user (created here, acting through setpriv). It prepares the cache directory the
operator configured (in a shared directory like /tmp) before the operator's first run, as root, and plants in it a
discovery document naming the intruder's token endpoint (the quirks server, which records what reaches it). If
the cache trusted that, the production client's Basic credentials would go to the intruder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from ansible_runner_helper import run_playbook
from token_helper import cache_env, obtain, write_vars

INTRUDER = 'tkops-cache-intruder'


class Intruder(object):
    """Another local user: runs shell commands with its own uid and gid, and no supplementary groups."""

    def __init__(self, entry):
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def sh(self, script, *args, stdin=None):
        command = ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid, '--clear-groups', '--',
                   '/bin/sh', '-c', 'umask 077; ' + script, 'sh'] + list(args)
        return subprocess.run(command, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True,
                              timeout=30).stdout.decode('utf-8', 'replace')

    def plant(self, directory, name, content):
        self.sh('cat > "$1/$2"', directory, name, stdin=content)


@pytest.fixture(scope='module')
def intruder():
    created = False
    try:
        entry = pwd.getpwnam(INTRUDER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
                        '--shell', '/usr/sbin/nologin', INTRUDER], check=True)
        created = True
        entry = pwd.getpwnam(INTRUDER)
    yield Intruder(entry)
    if created:
        subprocess.run(['userdel', INTRUDER], check=False)


@pytest.fixture
def shared_dir():
    """A directory everyone may create entries in, like /tmp (sticky, so only its owner removes an entry)."""
    path = tempfile.mkdtemp(prefix='tokenops-trust-', dir='/tmp')
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def victim_profile(oidc_provider, cache_dir):
    """client_credentials through issuer discovery, HTTP Basic: the document names where the secret goes."""
    client = oidc_provider.clients['cc_basic']
    return dict(issuer=oidc_provider.url, client_id=client['client_id'], client_secret=client['client_secret'],
                client_auth='client_secret_basic', scope='api:read', resource='urn:tokenops:api',
                cache_dir=cache_dir)


class PlantedDocument(object):
    """A discovery document in the form the cache kept them (stored_at, document), under the name it gave them
    (a SHA-256 of the public issuer), naming the intruder's endpoint: a path of the quirks server of its own."""

    def __init__(self, oidc_provider, quirks_server):
        self.quirks_server = quirks_server
        self.key = uuid.uuid4().hex  # the quirks server tells requests apart by it
        identity = json.dumps({'issuer': oidc_provider.url}, sort_keys=True, separators=(',', ':'))
        self.name = 'discovery-%s.json' % hashlib.sha256(identity.encode('utf-8')).hexdigest()
        document = dict(issuer=oidc_provider.url, token_endpoint=quirks_server.url + '/fault/ok?key=' + self.key)
        self.content = json.dumps(dict(stored_at=time.time(), document=document)).encode('utf-8')

    def stolen(self, client):
        """The requests that reached the intruder's endpoint carrying the client's secret."""
        pair = ('%s:%s' % (client['client_id'], client['client_secret'])).encode()
        basic = 'Basic ' + base64.b64encode(pair).decode()

        def carried(request):
            return request['headers'].get('Authorization') == basic or client['client_secret'] in request['body']
        return [r for r in requests.get(self.quirks_server.url + '/_requests', timeout=10).json()
                if r['query'].get('key') == self.key and carried(r)]


def run_victim(tmp_path, profile):
    """The operator's run, as root: the module, then the lookup."""
    variables = write_vars(tmp_path, dict(p=profile), token_names=['p'],
                           token_results_file=str(tmp_path / 'results.json'))
    return run_playbook('token_obtain.yml', '-e', '@' + variables, extra_env=cache_env(tmp_path), check=False)


def assert_refused(proc, directory, why):
    assert proc.returncode != 0, proc.stdout
    assert "profile 'p'" in proc.stdout and directory in proc.stdout and why in proc.stdout, proc.stdout


def test_directory_created_by_another_user_is_refused_even_for_root(tmp_path, intruder, shared_dir,
                                                                    oidc_provider, quirks_server):
    cache_dir = os.path.join(shared_dir, 'cache')
    intruder.sh('mkdir -m 700 "$1"', cache_dir)
    planted = PlantedDocument(oidc_provider, quirks_server)
    intruder.plant(cache_dir, planted.name, planted.content)

    proc = run_victim(tmp_path, victim_profile(oidc_provider, cache_dir))
    assert not planted.stolen(oidc_provider.clients['cc_basic']), 'the client secret went to the intruder'
    assert_refused(proc, cache_dir, 'owned by uid %d' % intruder.uid)


def test_symlink_to_another_users_directory_is_refused(tmp_path, intruder, shared_dir, oidc_provider,
                                                       quirks_server):
    cache_dir, target = os.path.join(shared_dir, 'cache'), os.path.join(shared_dir, 'intruder')
    intruder.sh('mkdir -m 700 "$1" && ln -s "$1" "$2"', target, cache_dir)
    planted = PlantedDocument(oidc_provider, quirks_server)
    intruder.plant(target, planted.name, planted.content)

    proc = run_victim(tmp_path, victim_profile(oidc_provider, cache_dir))
    assert not planted.stolen(oidc_provider.clients['cc_basic']), 'the client secret went to the intruder'
    assert_refused(proc, cache_dir, 'symbolic link')


def test_own_directory_that_others_could_write_is_refused_not_repaired(tmp_path, intruder, shared_dir,
                                                                       oidc_provider, quirks_server):
    """Tightening the mode of such a directory would keep whatever was planted in it meanwhile."""
    cache_dir = os.path.join(shared_dir, 'cache')
    os.mkdir(cache_dir)
    os.chmod(cache_dir, 0o777)  # ours, as a umask 000 would have made it
    planted = PlantedDocument(oidc_provider, quirks_server)
    intruder.plant(cache_dir, planted.name, planted.content)

    proc = run_victim(tmp_path, victim_profile(oidc_provider, cache_dir))
    assert not planted.stolen(oidc_provider.clients['cc_basic']), 'the client secret went to the intruder'
    assert_refused(proc, cache_dir, 'others can write')
    assert os.stat(cache_dir).st_mode & 0o777 == 0o777, 'left as found, for the operator to inspect'


def test_a_changed_discovery_document_is_ignored_and_fetched_again(tmp_path, oidc_provider, quirks_server):
    """Documents are sealed like tokens: one altered in the cache (by an older version, a restore from another
    controller, anyone who could write there once) is never used."""
    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    profile = victim_profile(oidc_provider, cache_dir)
    obtain(tmp_path, dict(p=profile), lookup=False)
    [document] = [name for name in os.listdir(cache_dir) if name.endswith('.json')]
    planted = PlantedDocument(oidc_provider, quirks_server)
    with open(os.path.join(cache_dir, document), 'wb') as handle:
        handle.write(planted.content)

    results = obtain(tmp_path, dict(p=profile), token_force=True)
    assert not planted.stolen(oidc_provider.clients['cc_basic']), 'the client secret went to the intruder'
    assert not results['module']['p']['from_cache'] and results['lookup']['p']['from_cache']


AUTHORIZE_PLAY = '''
- name: Start a paste-flow authorization
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Keep the waiting request in the configured cache directory
      tokenops.oauth2.authorize:
        profile: p
        flow: paste
        start_only: true
'''


def test_pending_authorization_directory_of_another_user_is_refused(tmp_path, intruder, shared_dir,
                                                                    quirks_server):
    """The paste flow's waiting request (code verifier, state) is kept in the configured cache directory."""
    cache_dir = os.path.join(shared_dir, 'cache')
    intruder.sh('mkdir -m 700 "$1"', cache_dir)
    lockit = quirks_server.clients['lockit']
    profile = dict(preset='lockitnetwork', base_url=quirks_server.url, client_id=lockit['client_id'],
                   client_secret=lockit['client_secret'], redirect_uri=lockit['redirect_uris'][0])
    playbook = tmp_path / 'authorize.yml'
    playbook.write_text(AUTHORIZE_PLAY)
    variables = write_vars(tmp_path, dict(p=profile))
    proc = run_playbook(str(playbook), '-e', '@' + variables, check=False,
                        extra_env={'TOKENOPS_OAUTH2_CACHE_DIR': cache_dir})
    assert intruder.sh('ls -A "$1"', cache_dir) == '', 'the waiting request was written where the intruder rules'
    assert_refused(proc, cache_dir, 'owned by uid %d' % intruder.uid)
