# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.redaction: what a request carried is masked in any encoding a server may echo it in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from urllib.parse import urlencode

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


# --- server_text: the one sanitizer for whatever a server (or a request to the loopback listener) says -------------

from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import server_text  # noqa: E402


def test_server_text_escapes_terminal_control_sequences():
    # An OSC title change, a CSI colour, a bell, the 8-bit CSI and a right-to-left override: each would act on the
    # operator's terminal (or reorder what they read) if printed raw.
    hostile = u'\x1b]0;owned\x07 \x1b[31mred\x1b[0m \x9b2J line\nbreak\rreturn \u202eevil\u202c'
    shown = server_text(hostile)
    assert not [c for c in shown if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c in u'\u202e\u202c']
    assert '\\x1b]0;owned\\x07' in shown and '\\x9b' in shown and '\\u202e' in shown and '\\n' in shown


def test_server_text_masks_secrets_before_it_caps_the_length():
    secret = 'tail-secret-value-42'
    shown = server_text('a' * 95 + secret + 'b' * 50, [secret], limit=100)
    assert 'tail-s' not in shown and shown.startswith('a' * 95) and len(shown) <= 103
    assert server_text('x' * 5000, limit=80) == 'x' * 80 + '...'


def test_server_text_takes_anything_a_json_body_may_hold():
    assert server_text(['read', 'write']) == "['read', 'write']"
    assert server_text(42) == '42' and server_text(None) is None
