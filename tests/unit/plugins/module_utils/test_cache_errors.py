# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every cache error names the profile it was for, like the engine's other errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils import cache as cache_module
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError


def test_an_unusable_directory_names_the_profile(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    with pytest.raises(CacheError) as caught:
        TokenCache(str(blocker), profile_name='harbor')
    assert str(caught.value).startswith("profile 'harbor': the token cache directory ")
    assert 'cache_dir' in caught.value.hint


def test_a_failed_write_names_the_profile(tmp_path, monkeypatch):
    cache = TokenCache(str(tmp_path / 'cache'), profile_name='harbor')

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(cache_module, 'write_private_file', disk_full)
    with pytest.raises(CacheError) as caught:
        cache.store('key', 'secret', dict(access_token='t'))
    assert str(caught.value).startswith("profile 'harbor': cannot write the token cache")
