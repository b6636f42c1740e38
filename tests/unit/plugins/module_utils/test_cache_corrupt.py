# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A corrupt cache file is replaced by a fresh token, with one warning, not one per read of it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response


def token_answer(access):
    return json_response({'access_token': access, 'token_type': 'Bearer', 'expires_in': 3600})


def test_a_corrupt_cache_file_warns_once_and_is_replaced(tmp_path):
    directory = str(tmp_path / 'cache')
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret'))
    TokenClient(profile, cache=TokenCache(directory), transport=FakeTransport(token_answer('first'))).get_token()
    [token_file] = glob.glob(os.path.join(directory, '*.token'))
    with open(token_file, 'w') as handle:
        handle.write('{"version": 1, "key_id": "trunc')

    warnings = []
    client = TokenClient(profile, cache=TokenCache(directory, warn=warnings.append),
                         transport=FakeTransport(token_answer('second')))
    assert client.get_token().access_token == 'second'
    assert len(warnings) == 1 and 'ignoring unreadable token cache file' in warnings[0], warnings
    assert TokenClient(profile, cache=TokenCache(directory), transport=FakeTransport()).get_token().access_token == 'second'
