# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make what a server says fit to show: no secret, nothing that acts on a terminal, no flood.

Some servers (debug error pages, proxies) echo the request in their error answer, and the engine quotes such
answers to the operator. What went out is redacted wherever it shows: the profile's secrets and also what the
request carried that the profile does not hold (a refresh token from the cache, the Basic credentials built
from the client secret), each in the encodings a page may show it in (form-encoded, JSON-escaped, HTML-escaped).

A hostile server (or whatever sends a request to the onboarding listener) may also send escape sequences that
retitle, clear or recolour the operator's terminal, right-to-left overrides that reorder what they read, or
megabytes of text. ``server_text`` is the one door for every string a server controls on its way to a message,
a result, a warning or the screen: secrets masked, cut to a length, control characters shown as escapes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import unicodedata

from ansible.module_utils.six.moves.urllib.parse import quote, quote_plus

MASK = '********'
# Form fields whose values are secrets (RFC 6749, 7009, 7523, 7636, 7662, 8628).
SECRET_FIELDS = frozenset(('client_secret', 'password', 'refresh_token', 'code', 'code_verifier', 'client_assertion',
                           'assertion', 'token', 'device_code'))
SECRET_HEADERS = frozenset(('authorization', 'proxy-authorization'))
# Shorter strings are too likely to match ordinary words of a message.
MIN_SECRET_LENGTH = 4
# How much of a server's string is shown, by default (an error_description, a discovery field, an owner).
SERVER_TEXT_LIMIT = 300
# RFC 6749 section 5.2 (and 4.1.2.1): an error code is 1*NQSCHAR, printable ASCII but the quote and backslash.
RFC6749_ERROR = re.compile(r'^[\x20\x21\x23-\x5b\x5d-\x7e]+\Z')
ERROR_CODE_LIMIT = 100
_NAMED_ESCAPES = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def sent_secrets(form=None, headers=None):
    """The secret values of a request's form body and headers (for Basic and Bearer, the credentials too)."""
    values = []
    for key, value in (form or {}).items():
        if key in SECRET_FIELDS and value:
            values.append(str(value))
    for key, value in (headers or {}).items():
        if str(key).lower() in SECRET_HEADERS and value:
            values.extend((str(value), str(value).split(' ', 1)[-1]))
    return values


def _html_escape(text):
    return (text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')
            .replace("'", '&#x27;'))


def encodings(secret):
    """The ways ``secret`` may appear in an echoed request or page."""
    return set((secret, quote_plus(secret), quote(secret, safe=''), json.dumps(secret)[1:-1], _html_escape(secret)))


def redact(text, secrets):
    """``text`` with every secret of ``secrets``, in any of its encodings, masked."""
    variants = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            variants.update(v for v in encodings(secret) if len(v) >= MIN_SECRET_LENGTH)
    for variant in sorted(variants, key=len, reverse=True):  # longest first: a secret may contain another
        text = text.replace(variant, MASK)
    return text


def _escape(char):
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code if code < 0x10000 else '\\U%08x' % code


def _acts_on_display(char):
    # C0/C1 controls and DEL (escape sequences, bell, line breaks), format characters (bidirectional overrides,
    # zero-width characters), and the Unicode line and paragraph separators.
    category = unicodedata.category(char)
    return category[0] == 'C' or category in ('Zl', 'Zp')


def printable(text):
    """TEXT with every character that would act on a terminal instead of showing written as an escape
    (``\\x1b``, ``\\u202e``, ``\\n``)."""
    return ''.join(_escape(c) if _acts_on_display(c) else c for c in text)


def server_text(value, secrets=(), limit=SERVER_TEXT_LIMIT):
    """What a server said (a string, or any JSON value), fit to show: every secret of ``secrets`` masked, cut to
    ``limit`` characters, control characters escaped. None stays None.

    Masking comes first, on the whole text, so that the cut never leaves part of a secret behind.
    """
    if value is None:
        return None
    text = redact(value if isinstance(value, str) else str(value), secrets)
    return printable(text[:limit]) + ('...' if len(text) > limit else '')


def rfc6749_error(value, secrets=()):
    """The RFC 6749 error code a server (or a redirect) sent, fit to show; None when it is not one: anything outside
    the section 5.2 character set may be an attack on the terminal, and is not shown at all."""
    if not isinstance(value, str) or not RFC6749_ERROR.match(value):
        return None
    return server_text(value, secrets, ERROR_CODE_LIMIT)
