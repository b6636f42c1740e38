# -*- coding: utf-8 -*-
"""Security issue 12, finding 7: a cache entry of a client without a secret cannot be opened, nor a guess of the
user's password tested, with what the entry file and the password give.

A native app (authlib's public client, no client secret) uses the password grant through a real ansible-playbook run.
The attacker then holds a copy of the entry file and the user's password (say, guessed, or reused elsewhere), but
not the controller's local key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import shutil
import time

from token_helper import cache_env, obtain

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache


def public_password_profile(server):
    client, user = server.clients['public'], server.users['alice']
    return dict(token_url=server.url + '/oauth/token', grant_type='password', client_id=client['client_id'],
                client_auth='none', username=user['username'], password=user['password'], scope='read')


def token_entries(cache_dir):
    return [name for name in os.listdir(cache_dir) if name.endswith('.token')]


def test_entry_copied_away_does_not_open_with_the_password_alone(tmp_path, authlib_server):
    profile = public_password_profile(authlib_server)
    results = obtain(tmp_path, dict(app=profile))
    issued = results['module']['app']['access_token']
    assert results['lookup']['app']['from_cache'] and results['lookup']['app']['access_token'] == issued

    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    [entry] = token_entries(cache_dir)
    # The copy lands on the attacker's machine: same file name, any cache of theirs, the right password.
    elsewhere = TokenCache(str(tmp_path / 'elsewhere'))
    shutil.copy(os.path.join(cache_dir, entry), os.path.join(elsewhere.directory, entry))
    name = entry[:-len('.token')]
    assert elsewhere.load(name, profile['password']) is None, 'the copied entry opened with the password alone'
    with open(os.path.join(cache_dir, entry), 'rb') as handle:
        assert issued.encode() not in handle.read()


def test_key_id_does_not_test_password_guesses(tmp_path, authlib_server):
    """The attack as reported: derive a key from each guess and the entry's name with HKDF (fast, public) and
    compare with the key_id the entry shows. The right guess must not stand out."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    profile = public_password_profile(authlib_server)
    obtain(tmp_path, dict(app=profile), lookup=False)
    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    [entry] = token_entries(cache_dir)
    with open(os.path.join(cache_dir, entry), 'rb') as handle:
        envelope = json.loads(handle.read().decode('utf-8'))
    name = entry[:-len('.token')]

    def matches(guess):
        for info in (b'tokenops.oauth2 token cache v1', b'tokenops.oauth2 token cache v2'):
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=name.encode('ascii'),
                           info=info).derive(guess.encode('utf-8'))
            if envelope.get('key_id') in (hashlib.sha256(derived).hexdigest()[:16],
                                          hashlib.sha256(derived).hexdigest(),
                                          base64.urlsafe_b64encode(derived).decode('ascii')):
                return True
        return False

    guesses = ['password', 'alice', 'secret', 'alice-passw0rd', profile['password']]
    assert [g for g in guesses if matches(g)] == [], 'a password guess can be tested against the entry'


def old_format_entry(profile_data, secret, record):
    """An entry as the cache wrote them before issue 12 (format 1): named by a SHA-256 of the old identity, sealed
    with a key derived from the secret alone. Its name and key are computed here exactly as that code did."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

    profile = build_profile('old', profile_data)
    old_keys = ('client_id', 'grant_type', 'scope', 'audience', 'resource', 'username')
    identity = dict((k, profile.get(k)) for k in old_keys)
    identity['token_url'] = profile.get('token_url') or profile.get('issuer')
    name = hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(',', ':')).encode('utf-8')).hexdigest()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=name.encode('ascii'),
                   info=b'tokenops.oauth2 token cache v1').derive(secret.encode('utf-8'))
    sealed = Fernet(base64.urlsafe_b64encode(derived)).encrypt(json.dumps(record).encode('utf-8')).decode('ascii')
    envelope = dict(version=1, key_id=hashlib.sha256(derived).hexdigest()[:16], data=sealed)
    return name + '.token', json.dumps(envelope).encode('utf-8')


def test_old_format_entries_are_renewed_never_trusted_one_warning(tmp_path, authlib_server):
    """An entry written before the fix may hold another profile's token (finding 1) or have been planted (finding
    4): it is never served. The run renews, says so once, and the next run is quiet."""
    client = authlib_server.clients['basic']
    profile = dict(token_url=authlib_server.url + '/oauth/token', client_id=client['client_id'],
                   client_secret=client['client_secret'], client_auth=client['client_auth'], scope='read')
    cache_dir = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
    os.makedirs(cache_dir, mode=0o700)
    planted = 'old-format-access-token-5d1e'
    name, content = old_format_entry(profile, client['client_secret'], dict(
        access_token=planted, token_type='Bearer', refresh_token=None, scope='read', obtained_at=time.time(),
        expires_at_ts=time.time() + 86400))
    with open(os.path.join(cache_dir, name), 'wb') as handle:
        handle.write(content)

    before = authlib_server.stats()['token_requests']
    first = obtain(tmp_path, dict(p=profile))
    assert first['module']['p']['access_token'] != planted and not first['module']['p']['from_cache']
    assert authlib_server.stats()['token_requests'] - before == 1
    notices = [line for line in first['stdout'].splitlines() if 'older format' in line]
    assert len(notices) == 1 and '[WARNING]' in notices[0] and cache_dir in notices[0], first['stdout']
    assert not os.path.exists(os.path.join(cache_dir, name)), 'the old entry is gone'

    second = obtain(tmp_path, dict(p=profile))
    assert second['module']['p']['from_cache'] and 'older format' not in second['stdout']
