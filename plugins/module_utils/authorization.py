# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The browser half of the authorization code grant (RFC 6749 section 4.1, RFC 7636, RFC 8252, RFC 9207).

An AuthorizationRequest is built with a fresh ``state`` and PKCE pair; the operator's browser goes to its URL; the
redirect that comes back (caught by a loopback listener, or pasted) is checked here and its code exchanged at the
token endpoint. Nothing in this file ever puts the code, the code_verifier or a token into a message.

Between the two halves of the paste flow (two tasks, or two runs of a playbook) the request waits in a pending
file: 0600 in the controller cache directory, removed once its code has been exchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import time

from ansible.module_utils.six.moves.urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import trusted_directory
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError, OAuth2Error, ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.pkce import Pkce, new_state, same_secret
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import write_private_file
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile, scope_list
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import rfc6749_error, server_text

# Parameters this file sets itself; an extra parameter may not replace them.
RESERVED_PARAMS = ('response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method')
PENDING_MAX_AGE = 900
PENDING_HINT = ('set cache_dir (the profile option, [tokenops_oauth2] cache_dir or TOKENOPS_OAUTH2_CACHE_DIR) to a '
                'directory of your own that only you can write')

# RFC 6749 section 4.1.2.1, in the words an operator needs.
REDIRECT_ERROR_HINTS = {
    'access_denied': 'the user (or a policy) refused the authorization: approve it in the browser, or check the '
                     "account's permissions",
    'invalid_request': 'check redirect_uri (it must be registered for the client exactly) and authorization_params',
    'unauthorized_client': 'the client may not use the authorization code grant: check its registration',
    'unsupported_response_type': 'the server does not offer the authorization code grant to this client',
    'invalid_scope': 'check scope against the scopes this client may request',
    'server_error': 'the authorization server failed: try again later, or ask its operators',
    'temporarily_unavailable': 'the authorization server is overloaded or in maintenance: try again later',
}


class AuthorizationError(OAuth2Error):
    """The authorization did not produce a usable code: refused, mismatched, malformed or timed out."""


class StrayRedirect(AuthorizationError):
    """A redirect without this request's ``state``: not the answer to it, whatever it says. Any local process or web
    page can send one to the loopback listener, which refuses it and keeps waiting for the real one."""


def add_query(url, params):
    """URL with PARAMS appended to its query. RFC 6749 section 3.1: an endpoint's own query must be kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class AuthorizationRequest(object):
    """One authorization request: where the browser goes, and what its redirect must carry to be accepted."""

    FIELDS = ('endpoint', 'client_id', 'redirect_uri', 'state', 'code_verifier', 'scope', 'params', 'created_at')

    def __init__(self, endpoint, client_id, redirect_uri, state=None, code_verifier=None, scope=None, params=None,
                 created_at=None):
        self.endpoint = endpoint
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.state = state or new_state()
        self.pkce = Pkce(code_verifier)
        self.scope = scope
        self.params = dict(params or {})
        self.created_at = created_at if created_at is not None else time.time()

    @property
    def code_verifier(self):
        return self.pkce.verifier

    @property
    def url(self):
        """The URL to open in a browser. It holds state and code_challenge, which may be shown; never the verifier."""
        query = [('response_type', 'code'), ('client_id', self.client_id), ('redirect_uri', self.redirect_uri)]
        if self.scope:
            query.append(('scope', self.scope))
        query += [('state', self.state), ('code_challenge', self.pkce.challenge),
                  ('code_challenge_method', self.pkce.method)]
        for key in sorted(self.params):
            values = self.params[key]
            for value in values if isinstance(values, (list, tuple)) else [values]:
                query.append((key, str(value)))
        return add_query(self.endpoint, query)

    def to_record(self):
        return dict((k, getattr(self, k)) for k in self.FIELDS)

    @classmethod
    def from_record(cls, record):
        return cls(**dict((k, record.get(k)) for k in cls.FIELDS))


def new_request(profile, endpoint, redirect_uri, params=None):
    """An AuthorizationRequest for PROFILE, with the profile's scope, resource and audience.

    ``params`` are extra query parameters (``prompt``, ``login_hint``, ``access_type``...). With scope
    ``offline_access`` and no ``prompt``, ``prompt=consent`` is added: OpenID Connect Core section 11 lets a
    provider drop ``offline_access`` (and so the refresh token this whole flow is for) without it.
    """
    params = dict(params or {})
    clash = sorted(k for k in params if k in RESERVED_PARAMS)
    if clash:
        raise ProfileError("authorization_params may not set %s: the authorize plugin sets it itself" % clash[0],
                           profile=profile.name)
    if profile.get('resource') and 'resource' not in params:
        params['resource'] = profile['resource']  # RFC 8707 section 2.1
    if profile.get('audience') and 'audience' not in params:
        params['audience'] = profile['audience']
    if 'offline_access' in scope_list(profile.get('scope')) and 'prompt' not in params:
        params['prompt'] = 'consent'
    return AuthorizationRequest(endpoint, profile['client_id'], redirect_uri, scope=profile.get('scope'),
                                params=params)


def _same_endpoint(a, b):
    def norm(url):
        parts = urlsplit(url)
        default = {'http': 80, 'https': 443}.get(parts.scheme.lower())
        return (parts.scheme.lower(), (parts.hostname or '').lower(), parts.port or default,
                parts.path.rstrip('/') or '/')
    return norm(a) == norm(b)


def parse_redirect(url, request, profile_name=None, issuer=None):
    """The authorization code from the redirect URL, once its state (and RFC 9207 ``iss``, if sent) are checked.

    The state comes first: until it matches, nothing the redirect says is the authorization server's (StrayRedirect).
    An error redirect with the right state raises AuthorizationError with the server's error and error_description
    (never its error_uri: a link the operator is invited to open). Messages never contain the URL itself, since it
    carries the code.
    """
    common = dict(profile=profile_name)
    text = (url or '').strip()
    if not text:
        raise AuthorizationError('no redirect URL was given', **common)
    parts = urlsplit(text)
    if parts.scheme and parts.netloc and not _same_endpoint(text, request.redirect_uri):
        raise AuthorizationError(
            'the URL given is not an address under the redirect URI %s' % request.redirect_uri,
            hint='copy the whole address the browser was sent to after approving (it starts with the redirect URI)',
            **common)
    query = parts.query if (parts.scheme or '?' in text) else text
    fields = dict(parse_qsl(query, keep_blank_values=True))
    if 'code' not in fields and 'error' not in fields and parts.fragment:
        fields = dict(parse_qsl(parts.fragment, keep_blank_values=True))  # a response_mode=fragment server

    if not same_secret(request.state, fields.get('state')):
        raise StrayRedirect(
            'the redirect %s the state of this authorization request, so it is not the answer to it' % (
                'does not carry' if not fields.get('state') else 'carries a different state than'),
            hint='use the address from the browser tab opened with the latest authorization URL; an older tab, '
                 'or a redirect crafted by someone else, cannot be used', **common)
    if issuer and fields.get('iss') and fields['iss'].rstrip('/') != issuer.rstrip('/'):
        raise AuthorizationError(
            "the redirect names issuer '%s', not '%s' (RFC 9207): it comes from another authorization server"
            % (server_text(fields['iss'], limit=200), issuer),
            hint='start again, and check which server the browser was sent to', **common)
    if fields.get('error'):
        error = rfc6749_error(fields['error'])
        raise AuthorizationError(
            'the authorization server refused the authorization' + (
                '' if error else ' with an error code that is not RFC 6749 (not shown)'),
            error=error, error_description=server_text(fields.get('error_description') or None),
            hint=REDIRECT_ERROR_HINTS.get(error), **common)
    if not fields.get('code'):
        raise AuthorizationError('the redirect carries neither a code nor an error',
                                 hint='copy the whole address, including everything after the question mark',
                                 **common)
    return fields['code']


def exchange_code(profile, request, code, transport=None, clock=time.time):
    """Exchange CODE at the token endpoint (RFC 6749 section 4.1.3, with the PKCE code_verifier); a Token."""
    from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
    data = dict(profile.options)
    # The scope was asked for at the authorization endpoint; RFC 6749 does not define it for the code exchange.
    data.pop('scope', None)
    exchange = build_profile(profile.name, data, dict(
        grant_type='authorization_code', code=code, redirect_uri=request.redirect_uri,
        code_verifier=request.code_verifier))
    token = TokenClient(exchange, transport=transport, clock=clock).request_token()
    token.scope = token.scope or request.scope
    return token


class PendingAuthorizations(object):
    """Authorization requests waiting for their pasted redirect, one per profile, in 0600 files.

    They hold the code verifier and the state, and say where the code is exchanged: they live in the controller
    cache directory, trusted as the token cache trusts it (ours alone, no link), and are read only as files of ours.
    """

    def __init__(self, directory, max_age=PENDING_MAX_AGE, clock=time.time, profile_name=None):
        self.directory = directory
        self.max_age = max_age
        self.clock = clock
        self.profile_name = profile_name

    def _trusted(self):
        try:
            return trusted_directory(self.directory, self.profile_name)
        except CacheError as exc:
            raise CacheError('cannot keep the waiting authorization request: %s' % exc.message,
                             profile=self.profile_name, hint=PENDING_HINT)

    @staticmethod
    def key(profile, endpoint):
        identity = json.dumps([profile.name, profile.get('client_id'), endpoint], sort_keys=True)
        return hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]

    @staticmethod
    def _name(key):
        return 'authorize-%s.json' % key

    def _path(self, key):
        return os.path.join(self._trusted().path, self._name(key))

    def save(self, key, request):
        directory = self._trusted()
        try:
            write_private_file(self._path(key), json.dumps(request.to_record()).encode('utf-8'))
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the configured directory
            raise CacheError('cannot keep the waiting authorization request in %s: %s' % (
                directory.path[:200], getattr(exc, 'strerror', None) or exc), profile=self.profile_name,
                hint=PENDING_HINT)

    def load(self, key):
        """The pending request, or None when there is none, it is not a file of ours, or it is older than max_age
        (then it is removed)."""
        try:
            raw = self._trusted().read(self._name(key))
            record = json.loads(raw.decode('utf-8')) if raw is not None else None
        except (OSError, ValueError):
            return None
        if record is None:
            return None
        request = AuthorizationRequest.from_record(record)
        if self.clock() - request.created_at > self.max_age:
            self.remove(key)
            return None
        return request

    def remove(self, key):
        self._trusted().unlink(self._name(key))
