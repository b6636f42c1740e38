# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client authentication at the token endpoint (RFC 6749 section 2.3)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.module_utils.six.moves.urllib.parse import quote_plus

from ansible_collections.tokenops.oauth2.plugins.module_utils.client_assertion import ASSERTION_TYPE, client_assertion


def basic_authorization(client_id, client_secret, encoding='form'):
    """The ``Authorization: Basic`` value for a client.

    RFC 6749 section 2.3.1 has the id and secret form-encoded before they are joined and base64-encoded, which
    matters as soon as either holds ``:``, ``%``, ``+`` or non-ASCII. Some servers (and most provider examples) join
    them raw; ``encoding='raw'`` is for those.
    """
    if encoding == 'form':
        client_id, client_secret = quote_plus(client_id), quote_plus(client_secret)
    pair = ('%s:%s' % (client_id, client_secret)).encode('utf-8')
    return 'Basic ' + base64.b64encode(pair).decode('ascii')


def apply_client_auth(profile, form, headers, audience=None):
    """Add the client's credentials to a request's form body or headers, as its ``client_auth`` says.

    ``audience`` is the endpoint the request goes to, which a private_key_jwt assertion is bound to.
    """
    method = profile['client_auth']
    if method == 'client_secret_basic':
        headers['Authorization'] = basic_authorization(
            profile['client_id'], profile['client_secret'], profile['basic_encoding'])
    elif method == 'client_secret_post':
        form['client_id'] = profile['client_id']
        form['client_secret'] = profile['client_secret']
    elif method == 'private_key_jwt':
        form['client_id'] = profile['client_id']
        form['client_assertion_type'] = ASSERTION_TYPE
        form['client_assertion'] = client_assertion(profile, audience)
    else:  # none: a public client identifies itself but proves nothing
        form['client_id'] = profile['client_id']
