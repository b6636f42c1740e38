# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device authorization grant (RFC 8628), for a controller without a browser.

The device code (what this controller polls with) is a secret like an authorization code: it is never shown or
returned. The user code and verification URI are meant for the person approving, and are shown: so they must be a
plain URL and a short printable code, or the answer is refused (a hostile server could otherwise send escape
sequences to the operator's terminal).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import (
    device_authorization_request, json_object)
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.grants import DEVICE_CODE_GRANT, build_token_request
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import printable, server_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.responses import (
    error_from_response, parse_token_response)
from ansible_collections.tokenops.oauth2.plugins.module_utils.url_rules import url_problem, without_userinfo

DEFAULT_INTERVAL = 5  # RFC 8628 section 3.2, when the server names none
SLOW_DOWN_STEP = 5  # RFC 8628 section 3.5: every slow_down adds 5 seconds, for the rest of the flow
MIN_INTERVAL = 1
# How long a run waits for the approval at most, whatever expires_in says: providers give 10 to 30 minutes, and a
# hostile or broken server's expires_in of years would otherwise keep the run polling that long.
MAX_WAIT = 3600
# RFC 8628 section 6.1 suggests 8 characters; a code a person types is never this long.
USER_CODE_LENGTH = 64


class DeviceFlowError(OAuth2Error):
    """The device authorization ended without a token: denied, expired, or refused by the server."""


class DeviceAuthorization(object):
    """The device authorization response (RFC 8628 section 3.2)."""

    def __init__(self, device_code, user_code, verification_uri, expires_in, interval=None,
                 verification_uri_complete=None):
        self.device_code = device_code
        self.user_code = user_code
        self.verification_uri = verification_uri
        self.verification_uri_complete = verification_uri_complete
        self.expires_in = min(expires_in, MAX_WAIT)
        self.interval = max(MIN_INTERVAL, interval if interval is not None else DEFAULT_INTERVAL)


def _number(body, key, default=None):
    """BODY[KEY] as a whole number of seconds; None when it is not a finite number (NaN and Infinity are floats
    too: JSON decoders read the bare words, and 1e999 is Infinity)."""
    value = body.get(key)
    if value is None:
        return default
    try:
        return None if isinstance(value, bool) else int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def request_device_authorization(profile, url, transport):
    """Ask for a device code and user code (RFC 8628 section 3.1); a DeviceAuthorization."""
    response = device_authorization_request(profile, url).send(transport)
    what = 'device authorization request'
    if response.status != 200:
        raise error_from_response(response, profile, what, option='device_authorization_url')
    body = json_object(response)
    if body is None or isinstance(body.get('error'), str):
        raise error_from_response(response, profile, what, option='device_authorization_url')
    # Google's early implementation says verification_url; everyone else follows the RFC.
    verification_uri = body.get('verification_uri') or body.get('verification_url')
    expires_in = _number(body, 'expires_in')
    interval = _number(body, 'interval', DEFAULT_INTERVAL)
    missing = [k for k, v in (('device_code', body.get('device_code')), ('user_code', body.get('user_code')),
                              ('verification_uri', verification_uri), ('expires_in', expires_in),
                              ('interval', interval)) if not v and v != 0]
    if missing or expires_in <= 0:
        raise TokenEndpointError(
            'the device authorization response lacks a usable %s' % (missing[0] if missing else 'expires_in'),
            profile=profile.name, url=url, status=response.status,
            hint='check device_authorization_url: it must be the RFC 8628 device authorization endpoint')
    if interval >= min(expires_in, MAX_WAIT):
        # Waiting that long before the first poll would only end in "expired": say why now.
        raise TokenEndpointError(
            'the device authorization response asks to wait %d s between polls, but the code is waited for %d s'
            % (interval, min(expires_in, MAX_WAIT)), profile=profile.name, url=url, status=response.status,
            hint='the server is not RFC 8628 compliant, or hostile: report it to its operators')
    shown = dict(user_code=body['user_code'], verification_uri=verification_uri,
                 verification_uri_complete=body.get('verification_uri_complete'))
    for key, value in shown.items():
        problem = _unshowable(key, value)
        if problem:
            raise TokenEndpointError(
                "the device authorization response's %s %s, got '%s'" % (
                    key, problem, server_text(ascii_only(without_userinfo(value)), limit=100)),
                profile=profile.name, url=url, status=response.status,
                hint='the server is not RFC 8628 compliant, or hostile: report it to its operators')
    return DeviceAuthorization(body['device_code'], body['user_code'], verification_uri, expires_in, interval,
                               body.get('verification_uri_complete'))


def ascii_only(value):
    """VALUE with anything outside ASCII as escapes: a refused look-alike URL (a Cyrillic a in a host name) is
    quoted so that it cannot pass for the real one."""
    return value.encode('ascii', 'backslashreplace').decode('ascii') if isinstance(value, str) else value


def _unshowable(key, value):
    """Why VALUE, meant for the person approving, cannot be shown to them; None when it can."""
    if key == 'user_code':
        if not isinstance(value, str) or printable(value) != value or len(value) > USER_CODE_LENGTH:
            return 'must be a short line of printable characters'
        return None
    return url_problem(value) if value is not None else None


def poll_for_token(profile, token_url, authorization, transport, sleep=time.sleep, clock=time.monotonic,
                   wall_clock=time.time, started_at=None):
    """Poll the token endpoint until the user approves (a Token), denies, or the device code expires.

    Waits ``interval`` seconds before each request, adds 5 seconds for every ``slow_down``, and never sends a
    request after ``expires_in`` (counted from ``started_at``, the monotonic time the device code was issued).
    """
    started_at = clock() if started_at is None else started_at
    expires_at = started_at + authorization.expires_in
    interval = authorization.interval
    common = dict(profile=profile.name)
    while True:
        if clock() + interval >= expires_at:
            raise DeviceFlowError(
                'the user code %s was not approved within %d seconds' % (
                    authorization.user_code, authorization.expires_in), error='expired_token',
                hint='run again and approve the new code in time', **common)
        sleep(interval)
        # Built for each poll: a private_key_jwt assertion lives 60 seconds and is single-use; polling takes minutes.
        request = build_token_request(profile, token_url, DEVICE_CODE_GRANT, device_code=authorization.device_code)
        sent_at = wall_clock()  # expires_in counts from the answer: from the sending time, it is never overestimated
        response = request.send(transport)
        try:
            return parse_token_response(response, profile, sent_at, profile.get('scope'))
        except TokenEndpointError as exc:
            if exc.error == 'authorization_pending':
                continue
            if exc.error == 'slow_down':
                interval += SLOW_DOWN_STEP
                continue
            if exc.error == 'access_denied':
                raise DeviceFlowError('the user denied the authorization', error=exc.error,
                                      error_description=exc.error_description,
                                      hint='run again if that was a mistake', **common)
            if exc.error == 'expired_token':
                raise DeviceFlowError('the device code expired before the user approved it', error=exc.error,
                                      error_description=exc.error_description,
                                      hint='run again and approve the new code in time', **common)
            raise
