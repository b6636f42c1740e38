# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a URL must be before anything is sent to it or it is shown, wherever it comes from: a profile option, a
discovery document, a device authorization response. Light on purpose: profile validation imports it, and a cache
hit must not pay for importing requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from urllib.parse import urlsplit

HTTP_SCHEMES = ('http', 'https')
_USERINFO = re.compile(r'^([^:/?#]*:)?//[^/?#]*@')


def is_loopback(host):
    """Only the name ``localhost`` itself and loopback IP literals. Not ``*.localhost``: RFC 6761 lets resolvers
    answer it with loopback, but some send it to DNS, where anyone may answer."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_userinfo(url):
    """URL without a ``user:password@`` part, for a message (a URL that holds one is refused, but is named)."""
    if not isinstance(url, str):
        return url
    return _USERINFO.sub(lambda match: (match.group(1) or '') + '//', url)


def url_problem(value, schemes=HTTP_SCHEMES):
    """What is wrong with VALUE as a URL to send a request to or to show a person, or None.

    ``schemes=None`` accepts any scheme (a redirect URI may use a private-use scheme, RFC 8252 section 7.1).
    Credentials in a URL are refused: requests would send them as Basic authentication in place of the client's
    own, and every message naming the URL would print them.
    """
    if not isinstance(value, str):
        return 'must be a URL (a string), not %s' % type(value).__name__
    if any(ord(c) > 126 or ord(c) < 32 or c.isspace() for c in value):
        return 'must be an ASCII URL without spaces or control characters'
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        return 'is not a valid URL (%s)' % exc
    if '@' in parts.netloc:
        return ('must not hold credentials (user:password@): give the client credentials as client_id and '
                'client_secret (or client_assertion_key)')
    try:
        parts.port  # pylint: disable=pointless-statement  # raises ValueError on a bad port
    except ValueError as exc:
        return 'is not a valid URL (%s)' % exc
    if schemes and (parts.scheme not in schemes or not parts.hostname):
        return 'must be an http:// or https:// URL with a host'
    return None
