# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.redaction: what a request carried is masked in any encoding a server may echo it in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible.module_utils.six.moves.urllib.parse import urlencode

from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import MASK, redact, sent_secrets

SECRET = 'p@ss word+/=&"<x>'


def test_secret_masked_raw_form_encoded_json_escaped_and_html_escaped():
    echoes = [SECRET, urlencode({'client_secret': SECRET}), json.dumps({'client_secret': SECRET}),
              SECRET.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')]
    for echo in echoes:
        masked = redact('server said: %s' % echo, [SECRET])
        assert MASK in masked and 'word' not in masked, (echo, masked)


def test_sent_secrets_cover_held_refresh_tokens_and_basic_credentials():
    basic = 'Basic ' + base64.b64encode(b'client:secret-value').decode()
    secrets = sent_secrets({'grant_type': 'refresh_token', 'refresh_token': 'held-rt-123', 'scope': 'api:read'},
                           {'Authorization': basic, 'Accept': 'application/json'})
    assert 'held-rt-123' in secrets and basic in secrets and basic.split(' ')[1] in secrets
    assert 'api:read' not in secrets and 'refresh_token' not in secrets and 'application/json' not in secrets
    echoed = 'rejected: authorization=%s body=grant_type=refresh_token&refresh_token=held-rt-123' % basic
    assert redact(echoed, secrets) == 'rejected: authorization=%s body=grant_type=refresh_token&refresh_token=%s' % (
        MASK, MASK)


def test_short_values_and_empty_input_are_left_alone():
    assert redact('a code of abc', ['abc', '', None]) == 'a code of abc'
    assert sent_secrets(None, None) == []
