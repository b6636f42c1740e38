#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: tokenops.oauth2.authorize is an action plugin (plugins/action/authorize.py) that runs on the
# controller, where the person authorizing is. ansible-doc and the action-plugin-docs sanity test read this.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: authorize
short_description: First authorization of an OAuth 2.0 profile (authorization code with PKCE, or device flow)
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - Obtains the first tokens of a profile that needs a person to approve access, so that later runs can use the
    refresh token unattended (O(grant_type=refresh_token) in the profile).
  - V(loopback) and V(paste) run the authorization code grant (RFC 6749 section 4.1) with a fresh C(state) and
    PKCE (RFC 7636, S256). The authorization URL is shown; the person opens it, logs in and approves; the code
    in the redirect is checked against the C(state) and exchanged at the token endpoint with the code verifier.
  - V(loopback) (RFC 8252) listens on the loopback address of the profile's O(redirect_uri) for the redirect. When
    O(redirect_uri) names no port (or port 0), any free port is used and put into the redirect URI sent, which
    RFC 8252 section 7.3 has servers accept; a server that only accepts the exact registered URI needs the port
    it names (see O(loopback_port)). The browser must run on the controller.
  - Prefer C(http://127.0.0.1/...) (RFC 8252 section 8.3). With C(localhost), the listener takes both 127.0.0.1
    and ::1 on the same port, since a browser may use either.
  - Any local process or web page can send requests to the listener. One without the C(state) of this
    authorization is answered 400 and ignored, and the listener keeps waiting; only the redirect that carries
    it ends the wait, with the code or with the server's error (its C(error_uri) is never shown).
  - V(paste) is for a redirect URI nobody listens on (a provider that only accepts an https URI, or a browser on
    another machine). The first call shows the URL and remembers the request on the controller; a second call
    with O(redirect_url), the address the browser was sent to, finishes it (same run or a later one, within 15
    minutes).
  - V(device) runs the device authorization grant (RFC 8628) for a controller without a browser. The user code
    and the verification URL are shown; the token endpoint is polled every C(interval) seconds (5 more after each
    C(slow_down)) until the person approves or denies, or the code expires (C(expires_in)).
  - The URL or user code is shown on the controller's screen (they are not secrets). A device authorization
    response whose user code is not a short printable line, or whose verification URI is not a plain http(s) URL,
    is refused. The code, the code
    verifier, the device code and the tokens are never shown, at any verbosity. The task's displayed result is
    censored; the registered variable holds the tokens. Store the refresh token with
    M(tokenops.oauth2.vault_vars), as the playbook C(tokenops.oauth2.onboard) does.
extends_documentation_fragment:
  - tokenops.oauth2.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
options:
  profile:
    description:
      - Name of a profile in C(oauth2_profiles). Profile options given to the task are merged over it.
      - Its O(grant_type) is ignored (the flow decides the grant); O(client_id), the client authentication, the
        token endpoint (O(token_url), O(issuer) or O(preset)) and, for V(loopback) and V(paste), O(redirect_uri)
        are needed. O(scope) is asked for at the authorization endpoint; include V(offline_access) for an OpenID
        Connect provider to issue a refresh token (C(prompt=consent) is then added).
    type: str
  flow:
    description:
      - V(loopback) catches the redirect on 127.0.0.1; V(paste) takes the redirect address from O(redirect_url);
        V(device) uses the device authorization grant.
      - The authorization endpoint is O(authorization_url) or the issuer's C(authorization_endpoint); the device
        authorization endpoint is O(device_authorization_url) or the issuer's C(device_authorization_endpoint).
    type: str
    choices: [loopback, paste, device]
    default: loopback
  redirect_url:
    description:
      - With O(flow=paste), the whole address the browser was redirected to after approving (it holds the code
        and the state). Its C(state) must be the one of the request this controller started for the profile.
      - When not set (or empty), the request is started and its URL shown, and the task fails with a message
        saying to run again with this option; with O(start_only=true) it succeeds instead.
    type: str
  start_only:
    description:
      - With O(flow=paste) and no O(redirect_url), start the request, show its URL and return it in
        RV(authorization_url) without failing, so that a later task (after a C(ansible.builtin.pause) prompt, say)
        finishes it. Starting again replaces the waiting request and its URL.
    type: bool
    default: false
  listen_timeout:
    description: With O(flow=loopback), how many seconds to wait for the redirect, from 1 to 86400 (a day).
    type: int
    default: 300
  loopback_port:
    description:
      - With O(flow=loopback), listen on this port instead of the one O(redirect_uri) names (or any free one). The
        redirect URI sent then carries this port, unless it is the scheme's default (80) and O(redirect_uri) names
        none, so that an exact-match server with C(http://127.0.0.1/callback) registered can be served on port 80.
      - From 0 to 65535; V(0) lets the OS pick a free port.
    type: int
  open_browser:
    description: Also try to open the authorization URL in a browser on the controller. It is always shown.
    type: bool
    default: false
  authorization_params:
    description:
      - Extra query parameters for the authorization URL, such as C(prompt), C(login_hint) or C(access_type).
      - They may not replace C(response_type), C(client_id), C(redirect_uri), C(state) or the PKCE parameters.
    type: dict
attributes:
  check_mode:
    support: none
    details: An authorization cannot be rehearsed; the task is skipped in check mode.
  diff_mode:
    support: none
notes:
  - Ansible tasks cannot read from the terminal, so the paste flow takes the address as an option; the playbook
    C(tokenops.oauth2.onboard) prompts for it with C(ansible.builtin.pause).
  - The waiting paste request (state and code verifier, no code and no token) is kept in a 0600 file in the
    controller token cache directory (the profile's O(cache_dir), C([tokenops_oauth2] cache_dir) or
    C(TOKENOPS_OAUTH2_CACHE_DIR)) and removed when it is used. That directory must belong to the user running
    the playbook and be writable by no one else.
  - Run it for one host (C(run_once=true)); each run is a separate authorization.
seealso:
  - module: tokenops.oauth2.vault_vars
  - module: tokenops.oauth2.token
  - name: RFC 8252 OAuth 2.0 for Native Apps
    description: Loopback redirects and PKCE for applications without a web server.
    link: https://www.rfc-editor.org/rfc/rfc8252
  - name: RFC 8628 OAuth 2.0 Device Authorization Grant
    description: Authorization on another device with a user code.
    link: https://www.rfc-editor.org/rfc/rfc8628
'''

EXAMPLES = r'''
- name: Authorize with a browser on this controller (redirect to 127.0.0.1) and register the tokens
  tokenops.oauth2.authorize:
    profile: lockit
    flow: loopback
  register: lockit_authorization
  run_once: true

- name: Keep the refresh token, vault-encrypted with this run's vault secret
  tokenops.oauth2.vault_vars:
    path: "{{ inventory_dir }}/group_vars/all/lockit_refresh_token.yml"
    values:
      vault_lockit_refresh_token: "{{ lockit_authorization.refresh_token }}"
  run_once: true

- name: Headless controller - show a user code to approve on a phone or laptop
  tokenops.oauth2.authorize:
    profile: backoffice
    flow: device
    device_authorization_url: https://login.example.org/oauth/device/code
  register: backoffice_authorization
  run_once: true

- name: Paste flow, first run - show the URL (run again with -e redirect_url=... to finish)
  tokenops.oauth2.authorize:
    profile: lockit
    flow: paste
    redirect_url: "{{ redirect_url | default(omit) }}"
  register: lockit_authorization
  run_once: true
'''

RETURN = r'''
access_token:
  description: The access token. Censored in the task's displayed result.
  returned: success, unless O(start_only=true)
  type: str
refresh_token:
  description: The refresh token (or null if the server issued none). Censored in the task's displayed result.
  returned: success, unless O(start_only=true)
  type: str
token_type:
  description: The token type, normally C(Bearer).
  returned: success, unless O(start_only=true)
  type: str
  sample: Bearer
expires_in:
  description: Seconds until the access token expires.
  returned: success, unless O(start_only=true)
  type: int
  sample: 3600
expires_at:
  description: When the access token expires (UTC, ISO 8601).
  returned: success, unless O(start_only=true)
  type: str
  sample: '2031-07-01T12:00:00Z'
scope:
  description: The scope granted (or the one asked for, if the server does not say).
  returned: success, unless O(start_only=true)
  type: str
  sample: openid offline_access
header:
  description: The C(Authorization) header value, C(Bearer <token>).
  returned: success, unless O(start_only=true)
  type: str
profile:
  description: The profile name.
  returned: success, unless O(start_only=true)
  type: str
flow:
  description: The flow that ran.
  returned: success, unless O(start_only=true)
  type: str
  sample: loopback
authorization_url:
  description: The URL to open to approve (it holds C(state) and C(code_challenge), never the verifier).
  returned: O(start_only=true)
  type: str
redirect_uri:
  description: The redirect URI sent in the authorization request.
  returned: O(start_only=true)
  type: str
  sample: https://example-client.com/auth_code
pending_for:
  description: Seconds the started request waits for O(redirect_url).
  returned: O(start_only=true)
  type: int
  sample: 900
'''
