# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each request to a provider sends, decided here, once (the profile docs say the same).

============================  ==========================================  ================  =====================
request                       form body                                   headers           client authentication
============================  ==========================================  ================  =====================
token (every grant, refresh,  grant_type and the grant's fields; scope    Accept, profile   the profile's client
code exchange, device code    (not when redeeming a device code: it was   ``headers``
poll: grants.py)              granted with the code); audience,
                              resource; extra_params
device authorization          scope, audience, resource                   Accept, profile   the profile's client
                                                                          ``headers``
introspection                 token, token_type_hint                      Accept, profile   introspecting_client
                                                                          ``headers``
revocation                    token, token_type_hint                      Accept, profile   the profile's client
                                                                          ``headers``
discovery (GET)               none                                        Accept            none
validate_url                  empty                                       Accept, the       none
                                                                          token
============================  ==========================================  ================  =====================

The profile's ``headers`` go to every endpoint of the authorization server that takes client credentials: what a
gateway in front of it needs (an API key, a tenant) it needs at each of them, and they are no more secret than the
client secret those requests carry. They never go to validate_url, the provider's API (a resource server on another
host, Harbor's), nor to discovery: its document is public and cached per issuer for every profile that names it.
``extra_params`` belong to token requests only; introspection and revocation have their own parameters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tokenops.oauth2.plugins.module_utils.client_auth import apply_client_auth


class EndpointRequest(object):
    """A ready-to-send POST: where, the profile option that names the endpoint (for messages), the form body, the
    headers, and whether a retry is safe."""

    def __init__(self, url, form, headers, option='token_url', retry_safe=True):
        self.url = url
        self.form = form
        self.headers = headers
        self.option = option
        self.retry_safe = retry_safe

    @classmethod
    def authenticated(cls, profile, url, form, client=None, **kwargs):
        """A request for FORM sent to URL with the profile's headers (server_headers), authenticated as CLIENT (the
        profile's own client unless given) in the form or the headers, as its client_auth says. A private_key_jwt
        assertion is bound to URL. KWARGS go to the constructor."""
        headers = server_headers(profile)
        apply_client_auth(client or profile, form, headers, url)
        return cls(url, form, headers, **kwargs)

    def send(self, transport, **kwargs):
        """POST it with TRANSPORT; an HttpResponse."""
        return transport.request('POST', self.url, option=self.option, retry_safe=self.retry_safe, data=self.form,
                                 headers=self.headers, **kwargs)


def accept_json():
    """The headers every request starts from: all our endpoints answer JSON."""
    return {'Accept': 'application/json'}


def server_headers(profile):
    """Headers for a request to the authorization server: JSON wanted, and the profile's own ``headers``."""
    headers = accept_json()
    headers.update(dict((str(k), str(v)) for k, v in (profile.get('headers') or {}).items()))
    return headers


def requested_for(profile):
    """Form fields naming what a token is for: the audience, and RFC 8707 resource indicators (a list is sent as
    repeated fields, which the RFC allows)."""
    return dict((key, profile[key]) for key in ('audience', 'resource') if profile.get(key))


def device_authorization_request(profile, url):
    """RFC 8628 section 3.1: a device code and user code for the profile's scope, audience and resource."""
    form = dict(scope=profile['scope']) if profile.get('scope') else {}
    form.update(requested_for(profile))
    return EndpointRequest.authenticated(profile, url, form, option='device_authorization_url')


def introspecting_client(profile):
    """Who introspects: the resource server the profile names (many servers let no one else introspect), else the
    profile's own client. Revocation stays with the profile's client: RFC 7009 has the token's own client revoke it."""
    if not profile.get('introspection_client_id'):
        return profile
    return dict(client_id=profile['introspection_client_id'], client_secret=profile['introspection_client_secret'],
                client_auth=profile.get('introspection_client_auth') or 'client_secret_basic',
                basic_encoding=profile['basic_encoding'])


def introspection_request(profile, url, access_token):
    """RFC 7662 section 2.1, as introspecting_client."""
    return EndpointRequest.authenticated(profile, url, {'token': access_token, 'token_type_hint': 'access_token'},
                                         client=introspecting_client(profile), option='introspection_url')


def revocation_request(profile, url, kind, value):
    """RFC 7009 section 2.1: revoke VALUE, a token of KIND (access_token or refresh_token)."""
    return EndpointRequest.authenticated(profile, url, {'token': value, 'token_type_hint': kind},
                                         option='revocation_url')


def token_check_request(url, token):
    """The provider's own check endpoint (Harbor's test-token): the bearer token and an empty body, nothing else."""
    headers = accept_json()
    headers['Authorization'] = token.header()
    return EndpointRequest(url, '', headers, option='validate_url')


def json_object(response):
    """The answer's body as a JSON object (a dict), or None when it is not one."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
