# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's front door: a token for a profile, from the cache when it is still good, else from the server.

Renewal order for a due token: the refresh token we hold (if any), then the profile's own grant when the server
says ``invalid_grant``. A rotated refresh token is written to the cache before the new token is handed out, so a
crash between the two never leaves the profile with a refresh token the server has already retired.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token

REFRESH_TOKEN = 'refresh_token'
METADATA_MAX_AGE = 24 * 3600


class TokenClient(object):
    """Obtain tokens for one validated Profile. ``cache`` is a TokenCache or None."""

    def __init__(self, profile, cache=None, warn=None, clock=time.time, transport=None):
        self.profile = profile
        self.cache = cache
        self.warn = warn or (lambda msg: None)
        self.clock = clock
        self._transport = transport
        self._token_url = profile.get('token_url')
        self._metadata = None

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
                key = 'discovery-' + self._hash({'issuer': issuer})
                cached = self.cache.load_document(key, METADATA_MAX_AGE, self.clock()) if self.cache else None
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
            response = self.transport.request('POST', request.url, retry_safe=request.retry_safe,
                                              deadline_at=deadline_at, data=request.form, headers=request.headers)
            try:
                return parse_token_response(response, self.profile, self.clock(), self.profile.get('scope'))
            except TokenEndpointError as exc:
                # urllib3 retries on status codes; this error arrives as a 400 body, so it is retried here.
                attempt += 1
                wait = min(10.0, 0.5 * 2 ** attempt) * random.uniform(0.5, 1.0)
                if (exc.error != 'temporarily_unavailable' or not request.retry_safe
                        or attempt > self.profile['retries'] or time.monotonic() + wait >= deadline_at):
                    raise
                time.sleep(wait)

    def _renew(self, held):
        """A fresh token, by refresh when we hold a refresh token, else by the profile's grant."""
        profile = self.profile
        refresh_tokens = []
        if held is not None and held.refresh_token:
            refresh_tokens.append(held.refresh_token)
        if profile['grant_type'] == REFRESH_TOKEN and profile['refresh_token'] not in refresh_tokens:
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
            return self._renew(None)
        key = self.cache_key()
        secret = self._secret()
        if not force_refresh:
            held = self._fresh(key, secret)
            if held is not None:
                return held
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
                return held
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
        if self.cache.store(key, secret, token.to_record()) is False:
            # A shared store's fence refused the write: another controller stored a newer token after our lock ran
            # out. Theirs is what every other controller now uses (and holds the newest refresh token): take it.
            newer = self._cached(key, secret)
            if newer is not None:
                return newer
        return token

    @staticmethod
    def _hash(identity):
        from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import cache_key
        return cache_key(identity)

    def cache_key(self):
        return self._hash(self.profile.identity())

    def held_token(self):
        """The cached token, due or not (None without a cache or an entry)."""
        return self._cached(self.cache_key(), self._secret()) if self.cache is not None else None

    def _cached(self, key, secret):
        record = self.cache.load(key, secret)
        return Token.from_record(record, self.profile.name) if record else None

    def forget(self):
        """Drop the cached token for this profile (after a revocation, say)."""
        if self.cache is not None:
            self.cache.remove(self.cache_key())

    def validate(self, token):
        """Ask the provider whether it accepts ``token``; a mapping with whom it belongs to, or an error."""
        from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import validate_token
        return validate_token(self, token)

    def revoke_held(self, check_mode=False):
        """Revoke the cached access and refresh tokens and forget them; return the kinds revoked."""
        held = self.held_token()
        if held is None:
            return []
        if check_mode:
            return [kind for kind in ('refresh_token', 'access_token') if getattr(held, kind)]
        from ansible_collections.tokenops.oauth2.plugins.module_utils.token_checks import revoke_token
        with self.cache.lock(self.cache_key()):
            revoked = revoke_token(self, held)
            self.forget()
        return revoked
