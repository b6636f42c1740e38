# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token requests for each grant (RFC 6749 sections 4.1.3, 4.3.2, 4.4.2 and 6)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tokenops.oauth2.plugins.module_utils.client_auth import apply_client_auth


class TokenRequest(object):
    """A ready-to-send token request: where, what form body, which headers, and whether a retry is safe."""

    def __init__(self, url, form, headers, grant_type, retry_safe):
        self.url = url
        self.form = form
        self.headers = headers
        self.grant_type = grant_type
        # An authorization code is single-use: a retried exchange whose first attempt reached the server would
        # burn the code and fail, hiding the real outcome. So it is sent once.
        self.retry_safe = retry_safe


def _grant_fields(profile, grant_type, refresh_token):
    if grant_type == 'client_credentials':
        return {}
    if grant_type == 'password':
        return {'username': profile['username'], 'password': profile['password']}
    if grant_type == 'authorization_code':
        fields = {'code': profile['code'], 'redirect_uri': profile['redirect_uri']}
        if profile.get('code_verifier'):
            fields['code_verifier'] = profile['code_verifier']
        return fields
    return {'refresh_token': refresh_token or profile['refresh_token']}


def build_token_request(profile, token_url, grant_type=None, refresh_token=None):
    """Build the request for ``grant_type`` (the profile's own grant unless given, e.g. a refresh)."""
    grant_type = grant_type or profile['grant_type']
    form = {'grant_type': grant_type}
    form.update(_grant_fields(profile, grant_type, refresh_token))
    # A refresh asks for the scope already granted unless the profile names one (RFC 6749 section 6).
    if profile.get('scope'):
        form['scope'] = profile['scope']
    if profile.get('audience'):
        form['audience'] = profile['audience']
    resource = profile.get('resource')
    if resource:
        # RFC 8707: the parameter may repeat; requests encodes a list value as repeated fields.
        form['resource'] = resource
    for key, value in (profile.get('extra_params') or {}).items():
        form[key] = value
    headers = {'Accept': 'application/json'}
    headers.update(dict((str(k), str(v)) for k, v in (profile.get('headers') or {}).items()))
    apply_client_auth(profile, form, headers, token_url)
    return TokenRequest(token_url, form, headers, grant_type, retry_safe=grant_type != 'authorization_code')
