# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Token: what a token endpoint granted, when it expires, and when it is due for renewal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

# Renew this long before expiry, or 10 % of the lifetime when that is shorter (a 30 s token is renewed at 27 s).
DEFAULT_RENEW_BEFORE = 60


def iso_utc(timestamp):
    return datetime.datetime.fromtimestamp(int(timestamp), tz=UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


try:
    UTC = datetime.timezone.utc
except AttributeError:  # pragma: no cover - Python 2 has no timezone; managed hosts run Python 3
    UTC = None


class Token(object):
    """An access token with its metadata. ``obtained_at``, ``expires_at_ts`` and ``refresh_expires_at_ts`` (when
    the server said when the refresh token expires, else None) are epoch seconds. ``refresh_chain`` is the cache's
    bookkeeping for a refresh_token profile (TokenClient): keyed hashes of the refresh tokens this token's line has
    held, never the tokens themselves."""

    FIELDS = ('access_token', 'token_type', 'refresh_token', 'scope', 'obtained_at', 'expires_at_ts',
              'refresh_expires_at_ts', 'refresh_chain')

    def __init__(self, access_token, token_type, obtained_at, expires_at_ts, refresh_token=None, scope=None,
                 profile=None, from_cache=False, refresh_expires_at_ts=None, refresh_chain=None):
        self.access_token = access_token
        self.token_type = token_type
        self.obtained_at = obtained_at
        self.expires_at_ts = expires_at_ts
        self.refresh_token = refresh_token
        self.refresh_expires_at_ts = refresh_expires_at_ts
        self.refresh_chain = refresh_chain
        self.scope = scope
        self.profile = profile
        self.from_cache = from_cache

    @property
    def lifetime(self):
        return max(0, self.expires_at_ts - self.obtained_at)

    def renew_at(self, renew_before=None):
        """When this token counts as due."""
        if renew_before is None:
            renew_before = min(DEFAULT_RENEW_BEFORE, self.lifetime * 0.1)
        return self.expires_at_ts - renew_before

    def renew_due(self, now, renew_before=None):
        return now >= self.renew_at(renew_before)

    def header(self):
        return '%s %s' % (self.token_type, self.access_token)

    def as_result(self, now):
        """The public mapping, as returned by the module and by the lookup's ``field='all'``."""
        return dict(
            access_token=self.access_token,
            token_type=self.token_type,
            expires_in=max(0, int(self.expires_at_ts - now)),
            expires_at=iso_utc(self.expires_at_ts),
            refresh_token=self.refresh_token,
            scope=self.scope,
            profile=self.profile,
            from_cache=self.from_cache,
            header=self.header(),
        )

    def to_record(self):
        """What the cache stores."""
        return dict((k, getattr(self, k)) for k in self.FIELDS)

    @classmethod
    def from_record(cls, record, profile=None):
        return cls(profile=profile, from_cache=True, **dict((k, record.get(k)) for k in cls.FIELDS))
