# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's front door: a token for a profile, from the cache when it is still good, else from the server.

Renewal order for a due token: the refresh token we hold (if any), then the profile's own grant when the server
says ``invalid_grant``. A rotated refresh token is written to the cache, and then given to ``keep_refresh_token``
(the controller writes it back to the profile's vars file), before the new token is handed out, so a crash between
the two never leaves the profile with a refresh token the server has already retired.

The refresh chain. A refresh_token profile's entry is named without its configured refresh token (which changes
each time a rotated one is written back) and records the chain instead: keyed hashes of the configured refresh
token it started from and of each one it has held since (the first and the newest CHAIN_LENGTH - 1). An entry is
a profile's own only while the profile's configured refresh token is in that chain; otherwise (a new onboarding,
another account under the same profile name) the profile starts from its configured refresh token, and the held
one is never spent for it. Within its chain, a configured refresh token other than the held one is retired: it is
never sent again, since a server with reuse detection answers it by revoking the grant.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError, ProfileError, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token

REFRESH_TOKEN = 'refresh_token'
METADATA_MAX_AGE = 24 * 3600
# The refresh tokens an entry remembers (as keyed hashes): the one its chain started from, which stays configured
# wherever the profile's vars file is never written back (an AWX project checked out afresh for each job), and the
# newest others, which a vars file written back by each run is never far behind.
CHAIN_LENGTH = 32
ENTRY_NAMES = {}  # (CacheKeys, Profile) -> (the name of the profile's entry, the keyed hash of its refresh token)


class TokenClient(object):
    """Obtain tokens for one validated Profile. ``cache`` is a TokenCache (or a cache with its interface) or None.

    ``keep_refresh_token(token, newest)``, if given, is called with every token handed out whose refresh token is
    not the profile's configured one: after the cache holds it and before it is handed out (also when the cache fails
    to store it), and on a cache hit. The controller writes it back to the profile's vars file. ``newest`` is None
    for a token this process has just obtained, else a function that reads the refresh token the cache holds now
    (None if none): called under the vars file's lock, it keeps a cache hit from writing back an older refresh
    token over the one a renewal has meanwhile written. The hook reports its own failures."""

    def __init__(self, profile, cache=None, warn=None, clock=time.time, transport=None, keep_refresh_token=None):
        self.profile = profile
        self.cache = cache
        self.warn = warn or (lambda msg: None)
        self.clock = clock
        self._transport = transport
        self._token_url = profile.get('token_url')
        self._metadata = None
        self.keep_refresh_token = keep_refresh_token

    # -- plumbing ---------------------------------------------------------------------------------------------
    @property
    def transport(self):
        if self._transport is None:
            # Imported here so that a cache hit never pays for importing requests.
            from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import Transport
            self._transport = Transport(self.profile)
        return self._transport

    def metadata(self):
        """The issuer's discovery document ({} without an issuer), kept in the cache for a day."""
        if self._metadata is None:
            self._metadata = {}
            issuer = self.profile.get('issuer')
            if issuer:
                from ansible_collections.tokenops.oauth2.plugins.module_utils.discovery import discover
                key = cached = None
                if self.cache:
                    key = self.cache.keys.entry_name('discovery', {'issuer': issuer})
                    cached = self.cache.load_document(key, METADATA_MAX_AGE, self.clock())
                self._metadata = cached or discover(self.transport, self.profile)
                if self.cache and not cached:
                    self.cache.store_document(key, self._metadata, self.clock())
        return self._metadata

    def token_url(self):
        if not self._token_url:
            self._token_url = self.metadata()['token_endpoint']
        return self._token_url

    def _secret(self):
        """What keys the cache encryption: the client's own secret, else the signing key, else the password."""
        if self.profile.get('client_secret'):
            return self.profile['client_secret']
        if self.profile.get('client_assertion_key'):
            try:
                with open(self.profile['client_assertion_key'], 'rb') as handle:
                    return handle.read().decode('utf-8', 'replace')
            except (IOError, OSError, ValueError) as exc:
                raise ProfileError('cannot read client_assertion_key %s: %s' % (
                    self.profile['client_assertion_key'][:200], getattr(exc, 'strerror', None) or exc),
                    profile=self.profile.name, hint='give the path of a PEM private key file readable on this host')
        return self.profile.get('password')

    # -- requests ---------------------------------------------------------------------------------------------
    def request_token(self, grant_type=None, refresh_token=None):
        """One token request (with transport retries), parsed into a Token."""
        # Imported here, like the transport: grant building, client authentication and response parsing are for
        # misses; a cache hit never pays for importing them.
        from ansible_collections.tokenops.oauth2.plugins.module_utils.grants import build_token_request
        from ansible_collections.tokenops.oauth2.plugins.module_utils.responses import parse_token_response
        request = build_token_request(self.profile, self.token_url(), grant_type, refresh_token)
        deadline_at = time.monotonic() + self.profile['deadline']
        attempt = 0
        while True:
            # expires_in counts from when the server answered, which is after the request left: counting from the
            # sending time never believes a token good for longer than it is, however slow the answer.
            sent_at = self.clock()
            response = self.transport.request('POST', request.url, retry_safe=request.retry_safe,
                                              deadline_at=deadline_at, data=request.form, headers=request.headers)
            try:
                return parse_token_response(response, self.profile, sent_at, self.profile.get('scope'))
            except TokenEndpointError as exc:
                # urllib3 retries on status codes; this error arrives as a 400 body, so it is retried here.
                attempt += 1
                wait = min(10.0, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.0)
                if (exc.error != 'temporarily_unavailable' or not request.retry_safe
                        or attempt > self.profile['retries'] or time.monotonic() + wait >= deadline_at):
                    raise
                time.sleep(wait)

    def _renew(self, held):
        """A fresh token, by refresh when we hold a refresh token, else by the profile's grant. ``held`` is this
        profile's own entry (see _cached): for a refresh_token profile, its refresh token is the newest of the chain
        the configured one belongs to, so the configured one is sent only when nothing is held."""
        profile = self.profile
        refresh_tokens = []
        if held is not None and held.refresh_token:
            refresh_tokens.append(held.refresh_token)
        elif profile['grant_type'] == REFRESH_TOKEN:
            refresh_tokens.append(profile['refresh_token'])
        for refresh_token in refresh_tokens:
            try:
                token = self.request_token(REFRESH_TOKEN, refresh_token)
            except TokenEndpointError as exc:
                if exc.error != 'invalid_grant':
                    raise
                self.warn("profile '%s': the server refused the held refresh token (invalid_grant); "
                          "falling back" % profile.name)
                continue
            if not token.refresh_token:
                token.refresh_token = refresh_token  # not rotated: the old one stays valid
            return token
        if profile['grant_type'] == REFRESH_TOKEN:
            raise TokenEndpointError(
                'every refresh token held for this profile was refused (invalid_grant)', profile=profile.name,
                error='invalid_grant', hint='authorize again (playbook tokenops.oauth2.onboard) and store the new '
                                            'refresh_token in the profile')
        return self.request_token()

    # -- the front door ---------------------------------------------------------------------------------------
    def get_token(self, force_refresh=False):
        """A token that is not due for renewal."""
        if self.cache is None:
            token = self._renew(None)
            self._keep(token)
            return token
        key = self.cache_key()
        secret = self._secret()
        if not force_refresh:
            held = self._fresh(key, secret)
            if held is not None:
                return self._kept(key, secret, held)
            with self.cache.lock(key, blocking=False) as ours:
                if ours:
                    return self._renew_locked(key, secret, force_refresh)
            # Someone is renewing this token right now. Wait for them on a shared lock, which the kernel grants to
            # every waiter at once when they finish, and take what they stored. Queueing for the exclusive lock
            # instead would let fifty forks re-read the cache one after another.
            with self.cache.lock(key, shared=True):
                pass
            held = self._fresh(key, secret)
            if held is not None:
                return self._kept(key, secret, held)
        # Forced, or the renewal we waited for failed: renew ourselves, one process at a time.
        with self.cache.lock(key):
            return self._renew_locked(key, secret, force_refresh)

    def _fresh(self, key, secret):
        """The cached token if it is not due, else None."""
        held = self._cached(key, secret)
        if held is not None and not held.renew_due(self.clock(), self.profile.get('renew_before')):
            return held
        return None

    def _renew_locked(self, key, secret, force_refresh):
        """Renew and store; the caller holds the exclusive lock for ``key``."""
        # Someone else may have renewed while we waited for the lock: then their token is ours.
        held = self._cached(key, secret)
        if held is not None and not force_refresh and \
                not held.renew_due(self.clock(), self.profile.get('renew_before')):
            return held
        token = self._renew(held)
        token.refresh_chain = self._chain(held, token)
        try:
            stored = self.cache.store(key, secret, token.to_record())
        except CacheError:
            # The server may have rotated already: the new refresh token must outlive this error.
            self._keep(token)
            raise
        if stored is False:
            # A shared store's fence refused the write: another controller stored a newer token after our lock ran
            # out. Theirs is what every other controller now uses (and holds the newest refresh token): take it.
            newer = self._cached(key, secret)
            if newer is not None:
                return newer
        self._keep(token)
        return token

    def _names(self):
        """(the name of this profile's entry, the keyed hash of its configured refresh token or None)."""
        keys = self.cache.keys
        # A lookup builds a client per call but reuses its Profile (immutable once built) and the cache's CacheKeys
        # (one per directory and process), so the keyed hashes and the name are worked out once per process. Both
        # compare by identity, and the memo holds them: no other object can take their place in it.
        memo_key = (keys, self.profile)
        if memo_key not in ENTRY_NAMES:
            if len(ENTRY_NAMES) >= 256:
                ENTRY_NAMES.clear()
            configured = self.profile.get('refresh_token') if self.profile['grant_type'] == REFRESH_TOKEN else None
            ENTRY_NAMES[memo_key] = (keys.entry_name('token', self.profile.identity(keys.keyed_hash)),
                                     keys.keyed_hash(configured) if configured else None)
        return ENTRY_NAMES[memo_key]

    def cache_key(self):
        """The name of this profile's entry in the cache (which must be set)."""
        return self._names()[0]

    def _chain(self, held, token):
        """The refresh chain to record with ``token``, renewed from ``held`` (see the module docstring)."""
        start = self._names()[1]
        if start is None:
            return None
        chain = list(held.refresh_chain) if held is not None and held.refresh_chain else [start]
        link = self.cache.keys.keyed_hash(token.refresh_token) if token.refresh_token else None
        if link and link not in chain:
            chain.append(link)
        return chain[:1] + chain[1:][-(CHAIN_LENGTH - 1):]

    def held_token(self):
        """The cached token, due or not (None without a cache or an entry)."""
        return self._cached(self.cache_key(), self._secret()) if self.cache is not None else None

    def _cached(self, key, secret):
        """The entry for ``key`` as a Token, if it is this profile's own: for a refresh_token profile, one whose
        chain holds the configured refresh token."""
        record = self.cache.load(key, secret)
        if not record:
            return None
        start = self._names()[1]
        if start is not None and start not in (record.get('refresh_chain') or ()):
            return None  # another chain (a new onboarding, another account): start from the configured token
        return Token.from_record(record, self.profile.name)

    # -- writing a rotated refresh token back -------------------------------------------------------------------
    def _keep(self, token, newest=None):
        """Give ``token`` to keep_refresh_token when its refresh token is not the configured one."""
        if self.keep_refresh_token is not None and token.refresh_token and \
                token.refresh_token != self.profile.get('refresh_token'):
            self.keep_refresh_token(token, newest)

    def _kept(self, key, secret, held):
        """``held`` (a cache hit), once given to keep_refresh_token: its refresh token differs from the configured
        one when an earlier write-back failed or its process died, when another controller sharing the store
        rotated, or when this run wrote it back already (the profile was read before)."""
        def newest():
            current = self._cached(key, secret)
            return current.refresh_token if current is not None else None
        self._keep(held, newest)
        return held

    def forget(self):
        """Drop the cached token for this profile (after a revocation, say)."""
        if self.cache is not None:
            self.cache.remove(self.cache_key())

    def validate(self, token):
        """Ask the provider whether it accepts ``token``; a mapping with whom it belongs to, or an error."""
        from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import validate_token
        return validate_token(self.profile, self.transport, token, self.metadata)

    def revoke_held(self, check_mode=False):
        """Revoke the tokens held for the profile: the cached access and refresh tokens (then forgotten) and the
        refresh_token the profile gives, when it is another. Returns the kinds revoked (in check mode: would revoke).

        A server answers 200 for a token it no longer knows (RFC 7009 section 2.2), so a refresh_token given by the
        profile counts as revoked on every run. Without a cache and without a refresh_token there is nothing this
        client could ever revoke: that is an error, not a quiet success.
        """
        held = self.held_token()
        given = self.profile.get('refresh_token')
        tokens = []
        if held is not None:
            tokens.append(('refresh_token', held.refresh_token))
        if given and (held is None or given != held.refresh_token):
            tokens.append(('refresh_token', given))
        if held is not None:
            # Last: revoking a refresh token usually takes its access tokens with it (RFC 7009 section 2.1).
            tokens.append(('access_token', held.access_token))
        tokens = [(kind, value) for kind, value in tokens if value]
        if not tokens and self.cache is None:
            raise ProfileError(
                'state=absent revokes the tokens kept in the token cache and the refresh_token the profile gives, '
                'and there are none: this profile keeps no cache here and gives no refresh_token', profile=self.profile.name,
                hint='give the refresh token to revoke as refresh_token (the task option), or let the profile use '
                     'the cache (cache: true; with fetch_on=host, set cache_dir)')
        if check_mode or not tokens:
            return unique_kinds(tokens)
        from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import revoke_tokens
        if self.cache is None:
            return revoke_tokens(self.profile, self.transport, tokens, self.metadata)
        with self.cache.lock(self.cache_key()):
            revoked = revoke_tokens(self.profile, self.transport, tokens, self.metadata)
            self.forget()
        return revoked


def unique_kinds(tokens):
    """The kinds among (kind, value) pairs, each once, in order."""
    kinds = []
    for kind, _value in tokens:
        if kind not in kinds:
            kinds.append(kind)
    return kinds
