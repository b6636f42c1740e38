# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token requests for each grant (RFC 6749 sections 4.1.3, 4.3.2, 4.4.2 and 6, RFC 8628 section 3.4).

What a token request sends besides the grant's own fields is decided in endpoint_requests.py, with the other
requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import (
    EndpointRequest, requested_for)

DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'


class TokenRequest(EndpointRequest):
    """A ready-to-send token request: where, what form body, which headers, and whether a retry is safe."""

    def __init__(self, url, form, headers, grant_type, retry_safe):
        super(TokenRequest, self).__init__(url, form, headers, option='token_url', retry_safe=retry_safe)
        self.grant_type = grant_type


def _grant_fields(profile, grant_type, refresh_token, device_code):
    if grant_type == 'client_credentials':
        return {}
    if grant_type == 'password':
        return {'username': profile['username'], 'password': profile['password']}
    if grant_type == 'authorization_code':
        fields = {'code': profile['code'], 'redirect_uri': profile['redirect_uri']}
        if profile.get('code_verifier'):
            fields['code_verifier'] = profile['code_verifier']
        return fields
    if grant_type == DEVICE_CODE_GRANT:
        return {'device_code': device_code}
    return {'refresh_token': refresh_token or profile['refresh_token']}


def build_token_request(profile, token_url, grant_type=None, refresh_token=None, device_code=None):
    """Build the request for ``grant_type`` (the profile's own grant unless given, e.g. a refresh or the device code
    poll)."""
    grant_type = grant_type or profile['grant_type']
    form = {'grant_type': grant_type}
    form.update(_grant_fields(profile, grant_type, refresh_token, device_code))
    # A refresh asks for the scope already granted unless the profile names one (RFC 6749 section 6). A device code
    # was issued for a scope already (RFC 8628 section 3.4 has none in the poll).
    if profile.get('scope') and grant_type != DEVICE_CODE_GRANT:
        form['scope'] = profile['scope']
    form.update(requested_for(profile))
    for key, value in (profile.get('extra_params') or {}).items():
        form[key] = value
    # An authorization code is single-use: a retried exchange whose first attempt reached the server would burn the
    # code and fail, hiding the real outcome. So it is sent once.
    return TokenRequest.authenticated(profile, token_url, form, grant_type=grant_type,
                                      retry_safe=grant_type != 'authorization_code')
