# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider presets: data only, one screen.

A preset fills the options a provider's documentation fixes. Values in ``defaults`` may name other options in
braces (``{base_url}``); they are filled from the merged profile, so every URL can be overridden by setting the
option it is built from (``base_url`` for a private deployment or a test server) or the URL itself.

``environments`` maps an environment name to the options it implies; ``environment_from`` derives the environment
from another input by its leading characters (Harbor tower IDs: ``10...`` production, ``01...`` sandbox).

``summary`` and ``inputs`` (the options a profile gives for the preset to build its URLs) are the preset's line in
the documentation (doc_fragments/profile.py), where a test checks that they agree; ``choices`` restricts options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


PRESETS = {
    'harbor_lockers': {
        'summary': 'Harbor Lockers accounts (Keycloak realm harbor), client credentials with the secret in the body',
        'inputs': ('environment', 'tower_id'),
        'environments': {
            'production': {'base_url': 'https://accounts.harborlockers.com', 'api_url': 'https://api.harborlockers.com'},
            'sandbox': {'base_url': 'https://accounts.sandbox.harborlockers.com',
                        'api_url': 'https://api.sandbox.harborlockers.com'},
        },
        'environment_from': {'option': 'tower_id', 'prefixes': {'10': 'production', '01': 'sandbox'}},
        'defaults': {
            'token_url': '{base_url}/realms/harbor/protocol/openid-connect/token',
            'validate_url': '{api_url}/api/v1/login/test-token',
            'grant_type': 'client_credentials',
            'client_auth': 'client_secret_post',
            'scope': 'service_provider',
        },
        'choices': {'scope': ('service_provider', 'tower_access')},
    },
    'lockitnetwork': {
        'summary': 'LockitNetwork API, authorization code then refresh token, HTTP Basic client authentication',
        'inputs': (),
        'defaults': {
            'base_url': 'https://api.lockitnetwork.com',
            'token_url': '{base_url}/oauth/access-token',
            'authorization_url': '{base_url}/oauth/authorize',
            'grant_type': 'authorization_code',
            'client_auth': 'client_secret_basic',
            'basic_encoding': 'raw',
        },
    },
    'depotfinity': {
        'summary': 'DepotFinity token management API, client credentials with HTTP Basic against the regional server',
        'inputs': ('region',),
        'defaults': {
            'base_url': 'https://clientapp-auth.{region}.depot.emobility.io',
            'token_url': '{base_url}/oauth2/token',
            'grant_type': 'client_credentials',
            'client_auth': 'client_secret_basic',
            'basic_encoding': 'raw',
        },
        # DepotFinity answers every refused request with 403 rather than 400/401.
        'hints': {403: 'DepotFinity answers 403 for any refused token request: check client_id/client_secret '
                       'and that region matches the server your client was registered on'},
    },
    'keycloak': {
        'summary': 'Any Keycloak realm, base_url and realm build the token URL',
        'inputs': ('base_url', 'realm'),
        'defaults': {
            'token_url': '{base_url}/realms/{realm}/protocol/openid-connect/token',
            'client_auth': 'client_secret_post',
        },
    },
    'spring_security_oauth2': {
        'summary': 'Spring Security OAuth2 servers, /oauth/token, HTTP Basic, password grant',
        'inputs': ('base_url',),
        'defaults': {
            'token_url': '{base_url}/oauth/token',
            'grant_type': 'password',
            'client_auth': 'client_secret_basic',
            'basic_encoding': 'raw',
        },
    },
}
