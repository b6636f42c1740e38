# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep secrets out of what a server says back.

Some servers (debug error pages, proxies) echo the request in their error answer, and the engine quotes such
answers to the operator. What went out is redacted wherever it shows: the profile's secrets and also what the
request carried that the profile does not hold (a refresh token from the cache, the Basic credentials built
from the client secret), each in the encodings a page may show it in (form-encoded, JSON-escaped, HTML-escaped).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.parse import quote, quote_plus

MASK = '********'
# Form fields whose values are secrets (RFC 6749, 7009, 7523, 7636, 7662, 8628).
SECRET_FIELDS = frozenset(('client_secret', 'password', 'refresh_token', 'code', 'code_verifier', 'client_assertion',
                           'assertion', 'token', 'device_code'))
SECRET_HEADERS = frozenset(('authorization', 'proxy-authorization'))
# Shorter strings are too likely to match ordinary words of a message.
MIN_SECRET_LENGTH = 4


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
