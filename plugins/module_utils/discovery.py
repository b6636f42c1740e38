# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authorization server metadata from an issuer (RFC 8414, OpenID Connect Discovery 1.0)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.endpoint_requests import accept_json, json_object
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import server_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.url_rules import url_problem, without_userinfo

# The endpoints of a document that the engine sends requests to, or shows the operator (authorization_endpoint).
ENDPOINTS = ('token_endpoint', 'authorization_endpoint', 'device_authorization_endpoint', 'introspection_endpoint',
             'revocation_endpoint')


def metadata_urls(issuer):
    """RFC 8414 puts the well-known segment before the issuer's path; OIDC appends it. Try both, RFC 8414 first."""
    parts = urlsplit(issuer.rstrip('/'))
    path = parts.path
    return [
        urlunsplit((parts.scheme, parts.netloc, '/.well-known/oauth-authorization-server' + path, '', '')),
        urlunsplit((parts.scheme, parts.netloc, path + '/.well-known/openid-configuration', '', '')),
    ]


def discover(transport, profile):
    """Fetch and check the issuer's metadata; return the mapping (token_endpoint, ...)."""
    issuer = profile['issuer']
    last = None
    for url in metadata_urls(issuer):
        # Nothing of the profile's: the document is public, and cached per issuer for every profile naming it.
        response = transport.request('GET', url, option='issuer', headers=accept_json())
        last = response
        metadata = json_object(response) if response.status == 200 else None
        if metadata is None:
            continue
        # RFC 8414 section 3.3: the document must name the issuer we asked for, or an attacker could substitute it.
        stated = metadata.get('issuer')
        if not isinstance(stated, str) or stated.rstrip('/') != issuer.rstrip('/'):
            raise TokenEndpointError(
                "the discovery document names issuer '%s', not '%s'" % (server_text(stated, limit=200), issuer),
                profile=profile.name, url=url, status=200, hint='set issuer to exactly the issuer the server states')
        if not metadata.get('token_endpoint'):
            raise TokenEndpointError('the discovery document has no token_endpoint', profile=profile.name, url=url,
                                     hint='set token_url instead of issuer')
        for key in ENDPOINTS:
            problem = url_problem(metadata[key]) if metadata.get(key) else None
            if problem:
                raise TokenEndpointError(
                    "the discovery document's %s '%s' %s" % (
                        key, server_text(without_userinfo(metadata[key]), limit=200), problem),
                    profile=profile.name, url=url, status=200,
                    hint='the issuer publishes a broken document: report it, or set the URL options instead of issuer')
        return metadata
    raise TokenEndpointError('no discovery document found for issuer %s' % issuer, profile=profile.name,
                             url=last.url if last else None, status=last.status if last else None,
                             hint='check the issuer URL, or set token_url instead')
