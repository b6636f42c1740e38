# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: every file the token cache and the authorize plugin's pending requests write is private from its first
byte, whatever the umask. Under umask 000 (where a file or directory created without an explicit mode would be open to
everyone) the mode is recorded as each file is created, chmod-ed and renamed into place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import (
    AuthorizationRequest, PendingAuthorizations)
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response

ACCESS = 'leak-first-byte-access-token-91c2'
REFRESH = 'leak-first-byte-refresh-token-d40a'


@pytest.fixture
def spy(monkeypatch):
    """Record every file created (mkstemp, or os.open with O_CREAT: the mode asked for and the mode it got, and its
    size, at creation), every directory created, every chmod, and the mode of every file renamed into place."""
    events = []
    real_mkstemp, real_open, real_mkdir = tempfile.mkstemp, os.open, os.mkdir
    real_replace, real_rename, real_chmod = os.replace, os.rename, os.chmod

    def created(kind, path, fd, asked=None):
        info = os.fstat(fd)
        events.append(dict(kind=kind, path=path, asked=asked, mode=stat.S_IMODE(info.st_mode), size=info.st_size))

    def mkstemp(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)
        created('mkstemp', path, fd)
        return fd, path

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            created('open', path, fd, mode)
        return fd

    def mkdir(path, mode=0o777, *args, **kwargs):
        real_mkdir(path, mode, *args, **kwargs)
        events.append(dict(kind='mkdir', path=path, asked=mode, mode=stat.S_IMODE(os.stat(path).st_mode)))

    def renamer(real, kind):
        def rename(src, dst, *args, **kwargs):
            info = os.stat(src, dir_fd=kwargs.get('src_dir_fd'), follow_symlinks=False)
            shown = dst
            if kwargs.get('dst_dir_fd') is not None:  # private_file renames relative to the directory's descriptor
                shown = os.path.join(os.readlink('/proc/self/fd/%d' % kwargs['dst_dir_fd']), dst)
            events.append(dict(kind=kind, path=shown, mode=stat.S_IMODE(info.st_mode), size=info.st_size))
            return real(src, dst, *args, **kwargs)
        return rename

    def chmod(path, mode, *args, **kwargs):
        events.append(dict(kind='chmod', path=path, mode=mode))
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(tempfile, 'mkstemp', mkstemp)
    monkeypatch.setattr(os, 'open', spy_open)
    monkeypatch.setattr(os, 'mkdir', mkdir)
    monkeypatch.setattr(os, 'replace', renamer(real_replace, 'replace'))
    monkeypatch.setattr(os, 'rename', renamer(real_rename, 'rename'))
    monkeypatch.setattr(os, 'chmod', chmod)
    return events


def of(events, *kinds):
    return [event for event in events if event['kind'] in kinds]


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def assert_private_from_the_first_byte(events):
    """Each file was created 0600 and empty, never chmod-ed, and was still 0600 when renamed into place; each
    directory was created 0700."""
    files = of(events, 'mkstemp', 'open')
    assert files, events
    for event in files:
        assert event['mode'] == 0o600 and event['size'] == 0, event
        if event['kind'] == 'open':
            assert event['asked'] == 0o600, event
    for event in of(events, 'replace', 'rename'):
        assert event['mode'] == 0o600, event
    for event in of(events, 'mkdir'):
        assert event['asked'] == 0o700 and event['mode'] == 0o700, event
    assert not of(events, 'chmod'), 'a mode changed once the file existed: %r' % of(events, 'chmod')


def token_answer():
    return json_response({'access_token': ACCESS, 'token_type': 'Bearer', 'expires_in': 3600, 'refresh_token': REFRESH})


def test_token_cache_files_and_directory_are_private_from_creation(tmp_path, umask_000, spy):
    directory = str(tmp_path / 'cache' / 'tokens')
    os.makedirs(str(tmp_path / 'cache'))
    del spy[:]
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret'))
    TokenClient(profile, cache=TokenCache(directory), transport=FakeTransport(token_answer())).get_token()
    assert_private_from_the_first_byte(spy)
    assert [e['path'] for e in of(spy, 'mkdir')] == [directory]
    names = sorted(os.path.basename(e['path']) for e in of(spy, 'replace', 'rename'))
    assert len(names) == 2 and names[0] == '.master-key' and names[1].endswith('.token'), \
        'the master key and the token file were renamed into place'
    assert [e for e in of(spy, 'open') if e['path'].endswith('.lock')], 'the lock file was created'
    for name in os.listdir(directory):
        assert mode_of(os.path.join(directory, name)) == 0o600
        with open(os.path.join(directory, name), 'rb') as handle:
            content = handle.read()
        assert ACCESS.encode() not in content and REFRESH.encode() not in content
    assert mode_of(directory) == 0o700


def test_master_key_of_a_client_without_secret_is_private_from_creation(tmp_path, umask_000, spy):
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='public', client_auth='none'))
    cache = TokenCache(str(tmp_path / 'cache'))
    TokenClient(profile, cache=cache, transport=FakeTransport(token_answer())).get_token()
    assert_private_from_the_first_byte(spy)
    renamed = sorted(os.path.basename(e['path']) for e in of(spy, 'replace', 'rename'))
    assert '.master-key' in renamed and any(name.endswith('.token') for name in renamed), renamed
    assert mode_of(os.path.join(cache.directory, '.master-key')) == 0o600


def test_discovery_documents_are_written_private_too(tmp_path, umask_000, spy):
    cache = TokenCache(str(tmp_path / 'cache'))
    cache.store_document('issuer-key', {'token_endpoint': 'https://idp.example/token'}, 1700000000.0)
    assert_private_from_the_first_byte(spy)
    assert mode_of(os.path.join(cache.directory, 'issuer-key.json')) == 0o600


def test_pending_authorization_is_private_from_creation(tmp_path, umask_000, spy):
    """The waiting paste-flow request holds the code verifier: its directory and file are private from creation."""
    directory = str(tmp_path / 'cache')
    pending = PendingAuthorizations(directory)
    request = AuthorizationRequest('https://idp.example/authorize', 'app', 'https://app.example/callback')
    pending.save('k' * 32, request)
    assert_private_from_the_first_byte(spy)
    assert [e['path'] for e in of(spy, 'mkdir')] == [directory]
    [renamed] = of(spy, 'rename')
    assert renamed['path'] == os.path.join(directory, 'authorize-%s.json' % ('k' * 32)) and renamed['size'] > 0
    with open(renamed['path']) as handle:
        assert request.code_verifier in handle.read(), 'the file holds the verifier (so its mode matters)'
    assert mode_of(renamed['path']) == 0o600 and mode_of(directory) == 0o700
