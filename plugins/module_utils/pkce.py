# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof Key for Code Exchange (RFC 7636, S256 only) and the ``state`` value of an authorization request.

Only S256 is offered: RFC 9700 (OAuth 2.0 Security BCP) says ``plain`` must not be used where S256 is possible,
and every server that supports PKCE supports S256.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re
import secrets

S256 = 'S256'

# RFC 7636 section 4.1: 43 to 128 characters from the unreserved set.
VERIFIER_PATTERN = re.compile(r'^[A-Za-z0-9._~-]{43,128}$')
VERIFIER_BYTES = 48  # 64 characters once base64url-encoded: 384 bits, well above the RFC's 256-bit advice
STATE_BYTES = 24  # 192 bits: unguessable, which is all that state needs to be (RFC 6749 section 10.12)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def new_code_verifier(nbytes=VERIFIER_BYTES):
    """A fresh high-entropy code_verifier."""
    verifier = secrets.token_urlsafe(nbytes)
    if not VERIFIER_PATTERN.match(verifier):
        raise ValueError('a code_verifier must be 43 to 128 characters long; %d bytes give %d' % (
            nbytes, len(verifier)))
    return verifier


def code_challenge(verifier, method=S256):
    """The code_challenge for ``verifier``: BASE64URL(SHA256(ASCII(verifier))), without padding."""
    if method != S256:
        raise ValueError("only the S256 code_challenge_method is supported, not '%s'" % method)
    if not VERIFIER_PATTERN.match(verifier or ''):
        raise ValueError('a code_verifier must be 43 to 128 unreserved characters (RFC 7636 section 4.1)')
    return _b64url(hashlib.sha256(verifier.encode('ascii')).digest())


def new_state(nbytes=STATE_BYTES):
    """A fresh ``state``: binds the redirect to this request, against CSRF and mixed-up browser tabs."""
    return secrets.token_urlsafe(nbytes)


def same_secret(expected, received):
    """Compare a state (or any short secret) in constant time; a missing value never matches."""
    if not expected or not received:
        return False
    return hmac.compare_digest(expected.encode('utf-8'), received.encode('utf-8'))


class Pkce(object):
    """A code_verifier with its S256 challenge."""

    method = S256

    def __init__(self, verifier=None):
        self.verifier = verifier or new_code_verifier()
        self.challenge = code_challenge(self.verifier)
