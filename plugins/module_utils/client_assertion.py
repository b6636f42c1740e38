# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``private_key_jwt`` client authentication (RFC 7523 section 2.2, OpenID Connect Core section 9): a short-lived
JWT signed with the client's private key stands in for a client secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import time
import traceback
import uuid

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
ASSERTION_LIFETIME = 60


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def load_private_key(profile):
    path = profile['client_assertion_key']
    if CRYPTOGRAPHY_IMPORT_ERROR:
        raise ProfileError('private_key_jwt needs the Python library cryptography', profile=profile.name)
    try:
        with open(path, 'rb') as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    except (IOError, OSError) as exc:
        raise ProfileError('cannot read client_assertion_key %s: %s' % (path, exc.strerror), profile=profile.name)
    except (ValueError, TypeError):
        raise ProfileError('client_assertion_key %s is not an unencrypted PEM private key' % path,
                           profile=profile.name)


def _sign(key, alg, message, profile):
    if alg == 'RS256' and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    if alg == 'ES256' and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == 'secp256r1':
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, 'big') + s.to_bytes(32, 'big')  # JWS wants r || s, not DER
    raise ProfileError('client_assertion_alg %s does not fit the key in %s (RS256 needs RSA, ES256 a P-256 key)'
                       % (alg, profile['client_assertion_key']), profile=profile.name)


def client_assertion(profile, audience, now=None):
    """A signed client assertion for ``audience`` (the token endpoint URL)."""
    key = load_private_key(profile)
    alg = profile.get('client_assertion_alg') or ('ES256' if isinstance(key, ec.EllipticCurvePrivateKey) else 'RS256')
    header = {'alg': alg, 'typ': 'JWT'}
    if profile.get('client_assertion_kid'):
        header['kid'] = profile['client_assertion_kid']
    issued = int(now if now is not None else time.time())
    claims = {'iss': profile['client_id'], 'sub': profile['client_id'], 'aud': audience, 'jti': str(uuid.uuid4()),
              'iat': issued, 'exp': issued + ASSERTION_LIFETIME}
    signing_input = '%s.%s' % (_b64(json.dumps(header, separators=(',', ':')).encode('utf-8')),
                               _b64(json.dumps(claims, separators=(',', ':')).encode('utf-8')))
    return signing_input + '.' + _b64(_sign(key, alg, signing_input.encode('ascii'), profile))
