# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security issue 12, finding 4: the cache directory and what is in it are used only when they are ours alone.

The attacks with a real second user run in tests/integration/test_cache_directory_trust.py; here each rule is
pinned with files given to another uid (the tests run as root) or links put where a file is expected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import (
    AuthorizationRequest, PendingAuthorizations)
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import MASTER_KEY_FILE, TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError

OTHER_UID = 65534  # nobody
as_root = pytest.mark.skipif(os.geteuid() != 0, reason='giving a file to another uid needs root')


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def refused(directory):
    with pytest.raises(CacheError) as caught:
        TokenCache(directory, profile_name='p')
    assert str(caught.value).startswith("profile 'p': the token cache directory %s " % directory)
    assert 'cache_dir' in caught.value.hint
    return caught.value


def test_a_symlinked_directory_is_refused(tmp_path):
    (tmp_path / 'real').mkdir(mode=0o700)
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    assert 'is a symbolic link' in refused(str(tmp_path / 'link')).message


@as_root
def test_a_directory_of_another_user_is_refused_even_for_root(tmp_path):
    (tmp_path / 'theirs').mkdir(mode=0o700)
    os.chown(str(tmp_path / 'theirs'), OTHER_UID, OTHER_UID)
    assert 'is owned by uid %d, not by you' % OTHER_UID in refused(str(tmp_path / 'theirs')).message


@pytest.mark.parametrize('mode', [0o770, 0o707, 0o1777])
def test_a_directory_others_can_write_is_refused_and_left_alone(tmp_path, mode):
    directory = tmp_path / 'open'
    directory.mkdir()
    os.chmod(str(directory), mode)
    error = refused(str(directory))
    assert 'others can write' in error.message and 'chmod 0700' in error.hint
    assert mode_of(str(directory)) == mode


@pytest.mark.parametrize('mode', [0o755, 0o750, 0o500])
def test_a_directory_of_ours_nobody_else_can_write_is_made_0700(tmp_path, mode):
    directory = tmp_path / 'ours'
    directory.mkdir()
    os.chmod(str(directory), mode)
    TokenCache(str(directory))
    assert mode_of(str(directory)) == 0o700


def test_a_directory_replaced_after_use_is_checked_again(tmp_path):
    directory = str(tmp_path / 'cache')
    TokenCache(directory).store('v2-x', 's', dict(access_token='at'))
    os.rename(directory, directory + '.old')
    os.symlink(directory + '.old', directory)
    refused(directory)


def test_reads_go_to_the_directory_that_was_checked(tmp_path):
    """A path swapped after the check cannot redirect a read: reads go through the descriptor opened then."""
    directory = str(tmp_path / 'cache')
    cache = TokenCache(directory)
    cache.store('v2-x', 's', dict(access_token='ours'))
    os.rename(directory, directory + '.moved')
    os.mkdir(directory, 0o700)  # what a swap would put there
    assert cache.load('v2-x', 's')['access_token'] == 'ours'


def test_a_lock_file_that_is_a_link_is_refused(tmp_path):
    cache = TokenCache(str(tmp_path / 'cache'))
    target = tmp_path / 'elsewhere'
    os.symlink(str(target), os.path.join(cache.directory, 'v2-x.lock'))
    with pytest.raises(CacheError) as caught:
        with cache.lock('v2-x'):
            pass
    assert 'lock file v2-x.lock' in caught.value.message and cache.directory in caught.value.message
    assert not target.exists(), 'nothing was created through the link'


@as_root
def test_a_lock_file_of_another_user_is_refused(tmp_path):
    cache = TokenCache(str(tmp_path / 'cache'))
    path = os.path.join(cache.directory, 'v2-x.lock')
    with open(path, 'w'):
        pass
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(CacheError, match='not a private file of yours'):
        with cache.lock('v2-x'):
            pass


@pytest.mark.parametrize('plant', ['symlink', 'other_uid', 'group_readable', 'fifo'])
def test_an_entry_that_is_not_a_private_file_of_ours_is_ignored_with_one_warning(tmp_path, plant):
    if plant == 'other_uid' and os.geteuid() != 0:
        pytest.skip('giving a file to another uid needs root')
    warnings = []
    cache = TokenCache(str(tmp_path / 'cache'), warn=warnings.append)
    cache.store('v2-x', 's', dict(access_token='at'))
    path = os.path.join(cache.directory, 'v2-x.token')
    if plant == 'symlink':
        os.rename(path, path + '.real')
        os.symlink(path + '.real', path)
    elif plant == 'other_uid':
        os.chown(path, OTHER_UID, OTHER_UID)
    elif plant == 'group_readable':
        os.chmod(path, 0o640)
    else:
        os.unlink(path)
        os.mkfifo(path, 0o600)  # reading it must not wait for a writer
    assert cache.load('v2-x', 's') is None and cache.load('v2-x', 's') is None
    assert len(warnings) == 1 and path in warnings[0]
    assert ('a symbolic link' if plant == 'symlink' else 'not a private file of yours') in warnings[0]


@as_root
def test_a_master_key_of_another_user_is_refused(tmp_path):
    directory = tmp_path / 'cache'
    directory.mkdir(mode=0o700)
    key = directory / MASTER_KEY_FILE
    key.write_bytes(b'k' * 32)
    os.chmod(str(key), 0o600)
    os.chown(str(key), OTHER_UID, OTHER_UID)
    with pytest.raises(CacheError) as caught:
        TokenCache(str(directory), profile_name='p').load('v2-x', 's')
    assert MASTER_KEY_FILE in caught.value.message and 'remove' in caught.value.hint


def test_a_short_master_key_is_refused(tmp_path):
    directory = tmp_path / 'cache'
    directory.mkdir(mode=0o700)
    (directory / MASTER_KEY_FILE).write_bytes(b'')
    os.chmod(str(directory / MASTER_KEY_FILE), 0o600)
    with pytest.raises(CacheError, match='too short'):
        TokenCache(str(directory)).store('v2-x', 's', dict(access_token='at'))


def test_documents_are_sealed_and_an_altered_one_is_ignored(tmp_path):
    cache = TokenCache(str(tmp_path / 'cache'), warn=lambda msg: None)
    cache.store_document('v2-d', {'token_endpoint': 'https://idp.example/token'}, 1000.0)
    path = os.path.join(cache.directory, 'v2-d.json')
    with open(path, 'rb') as handle:
        assert b'idp.example' not in handle.read()
    assert cache.load_document('v2-d', 60, 1030.0) == {'token_endpoint': 'https://idp.example/token'}
    assert cache.load_document('v2-d', 60, 1061.0) is None, 'too old'
    with open(path, 'w') as handle:
        handle.write('{"stored_at": 1000.0, "document": {"token_endpoint": "https://attacker.example/token"}}')
    assert cache.load_document('v2-d', 60, 1030.0) is None


def test_format_1_files_are_removed_once_with_one_warning(tmp_path):
    """Entries of format 1 are never read (their names differ); the first use of the directory removes them and
    says so, and only then."""
    directory = tmp_path / 'cache'
    directory.mkdir(mode=0o700)
    digest = hashlib.sha256(b'x').hexdigest()
    old = [digest + '.token', digest + '.lock', 'discovery-%s.json' % digest, '.local-key', 'local-key.lock']
    kept = ['authorize-%s.json' % digest[:32], 'notes.txt']
    for name in old + kept:
        (directory / name).write_text('old')
    warnings = []
    TokenCache(str(directory), warn=warnings.append).store('v2-x', 's', dict(access_token='at'))
    assert sorted(os.listdir(str(directory))) == sorted(kept + ['.master-key', 'master-key.lock', 'v2-x.token'])
    assert len(warnings) == 1 and 'removed 1 token cache entry of an older format from %s' % directory in warnings[0]
    TokenCache(str(directory), warn=warnings.append).load('v2-x', 's')
    assert len(warnings) == 1


@as_root
def test_a_pending_directory_of_another_user_is_refused(tmp_path):
    directory = tmp_path / 'theirs'
    directory.mkdir(mode=0o700)
    os.chown(str(directory), OTHER_UID, OTHER_UID)
    pending = PendingAuthorizations(str(directory), profile_name='p')
    with pytest.raises(CacheError) as caught:
        pending.save('k' * 32, AuthorizationRequest('https://idp.example/authorize', 'app', 'https://app/cb'))
    assert 'owned by uid %d' % OTHER_UID in caught.value.message and caught.value.profile == 'p'
    assert os.listdir(str(directory)) == []


def test_a_pending_request_that_is_a_link_is_not_read(tmp_path):
    pending = PendingAuthorizations(str(tmp_path / 'cache'))
    request = AuthorizationRequest('https://idp.example/authorize', 'app', 'https://app/cb', created_at=1000.0)
    pending.save('k' * 32, request)
    path = os.path.join(str(tmp_path / 'cache'), 'authorize-%s.json' % ('k' * 32))
    os.rename(path, str(tmp_path / 'planted.json'))
    os.symlink(str(tmp_path / 'planted.json'), path)
    assert PendingAuthorizations(str(tmp_path / 'cache'), clock=lambda: 1000.0).load('k' * 32) is None


def test_a_directory_descriptor_closed_behind_our_back_is_opened_again(tmp_path):
    directory = str(tmp_path / 'cache')
    first = TokenCache(directory)
    first.store('v2-x', 's', dict(access_token='at'))
    os.close(first._directory.fd)  # pylint: disable=protected-access  # as a careless library might
    assert TokenCache(directory).load('v2-x', 's')['access_token'] == 'at'
    assert first._directory.fd == -1, 'the stale number is never used, nor closed, again'  # pylint: disable=protected-access
