# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the token engine.

Plugins turn these into ``fail_json`` / ``AnsibleError``; each carries what an operator needs to act: the profile,
the URL, the HTTP status, the server's own RFC 6749 section 5.2 words, and a hint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class OAuth2Error(Exception):
    """Base class: an expected failure that is reported without a traceback."""

    def __init__(self, message, profile=None, url=None, status=None, error=None, error_description=None, hint=None):
        super(OAuth2Error, self).__init__(message)
        self.message = message
        self.profile = profile
        self.url = url
        self.status = status
        self.error = error
        self.error_description = error_description
        self.hint = hint

    def __str__(self):
        parts = []
        if self.profile:
            parts.append("profile '%s': " % self.profile)
        parts.append(self.message)
        where = []
        if self.url:
            where.append('POST %s' % self.url)
        if self.status is not None:
            where.append('HTTP %s' % self.status)
        if where:
            parts.append(' (%s)' % ', '.join(where))
        said = ' - '.join(text for text in (self.error, self.error_description) if text)
        if said:
            parts.append(': %s' % said)
        if self.hint:
            parts.append('. Hint: %s' % self.hint)
        return ''.join(parts)

    def as_dict(self):
        """The fields a module returns next to ``msg`` so that a playbook can branch on them."""
        return dict(
            (k, v) for k, v in (
                ('profile', self.profile), ('url', self.url), ('status', self.status),
                ('error', self.error), ('error_description', self.error_description), ('hint', self.hint),
            ) if v is not None
        )


class ProfileError(OAuth2Error):
    """The profile is wrong: nothing was sent."""


class TransportError(OAuth2Error):
    """The token endpoint could not be reached or did not answer in time."""


class TokenEndpointError(OAuth2Error):
    """The token endpoint answered, but not with a token."""


class CacheError(OAuth2Error):
    """The controller cache could not be used (permissions, locking)."""
