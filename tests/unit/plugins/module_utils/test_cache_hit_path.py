# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cache keeps per process to make a hit cheap, and what it must not weaken: a hit still reads the entry
as it is now (a token another process stored a moment ago is the one returned), an entry sealed with another
secret still misses, and nothing but the entry itself is ever written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from cryptography.fernet import Fernet

from ansible_collections.tokenops.oauth2.plugins.module_utils import cache as cache_module
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache

KEY = 'a' * 64


def record(n):
    return dict(access_token='access-%d' % n, token_type='Bearer', obtained_at=1, expires_at_ts=2)


@pytest.fixture
def cache(tmp_path):
    cache_module.DECRYPTED.clear()
    return TokenCache(str(tmp_path / 'cache'))


@pytest.fixture
def decryptions(monkeypatch):
    calls = []
    real = Fernet.decrypt

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Fernet, 'decrypt', counting)
    return calls


def test_the_same_entry_is_decrypted_once_per_process(cache, decryptions):
    cache.store(KEY, 's3cret', record(1))
    assert [cache.load(KEY, 's3cret')['access_token'] for _i in range(5)] == ['access-1'] * 5
    assert len(decryptions) == 1


def test_a_token_another_process_stored_is_the_one_read(cache, decryptions):
    cache.store(KEY, 's3cret', record(1))
    assert cache.load(KEY, 's3cret')['access_token'] == 'access-1'
    pid = os.fork()
    if pid == 0:  # another process, with its own memory, renews the token
        try:
            TokenCache(cache.directory).store(KEY, 's3cret', record(2))
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert cache.load(KEY, 's3cret')['access_token'] == 'access-2'
    assert len(decryptions) == 2


def test_another_secret_still_misses_after_a_hit(cache):
    cache.store(KEY, 's3cret', record(1))
    assert cache.load(KEY, 's3cret') is not None
    assert cache.load(KEY, 'other-secret') is None


def test_a_caller_changing_its_record_does_not_change_the_next_hit(cache):
    cache.store(KEY, 's3cret', record(1))
    cache.load(KEY, 's3cret')['access_token'] = 'changed'
    assert cache.load(KEY, 's3cret')['access_token'] == 'access-1'


def test_a_tampered_entry_is_still_refused(cache):
    cache.store(KEY, 's3cret', record(1))
    assert cache.load(KEY, 's3cret') is not None
    path = os.path.join(cache.directory, KEY + '.token')
    with open(path, 'rb') as handle:
        text = handle.read().decode('ascii')
    data_at = text.index('"data":"') + len('"data":"')
    flipped = text[:data_at + 20] + ('A' if text[data_at + 20] != 'A' else 'B') + text[data_at + 21:]
    with open(path, 'wb') as handle:
        handle.write(flipped.encode('ascii'))
    assert cache.load(KEY, 's3cret') is None


def test_the_memo_is_bounded(cache):
    for n in range(cache_module.MEMO_SIZE * 2):
        cache.store(KEY, 's3cret', record(n))
        assert cache.load(KEY, 's3cret')['access_token'] == 'access-%d' % n
    assert len(cache_module.DECRYPTED) <= cache_module.MEMO_SIZE


def test_warm_up_writes_nothing_and_keeps_nothing(tmp_path, monkeypatch):
    cache_module.DECRYPTED.clear()
    monkeypatch.chdir(tmp_path)
    TokenCache.warm_up()
    assert os.listdir(str(tmp_path)) == []
    assert cache_module.DECRYPTED == {}
