#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# tokenops.oauth2.authorize is an action plugin (plugins/action/authorize.py) that runs on the controller, where the
# person authorizing is. This file documents it; its main() only builds the module from the action plugin's spec
# (module_utils.argspecs), for validate-modules to check the documentation against it.

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
  - Where the refresh token belongs is returned in RV(refresh_token_store), from the profile's
    O(refresh_token_vars_file) and O(refresh_token_var) (which M(tokenops.oauth2.token) and the
    C(tokenops.oauth2.deliver) role use too) or from O(store_path). With a refresh token and such a place, the plugin also shows the keys to add to the profile,
    as YAML to paste (RV(profile_settings)).
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
    description:
      - Also open a browser on the controller, for the person not to copy a long URL. The URL is always shown.
      - V(loopback) gives the browser a one-time link to the listener, which sends it on to the authorization URL.
        The authorization URL itself is not given, because a command line can be read by every user of the
        machine, and its C(state) would let another user answer the listener in the person's place. Requested a
        second time, the link ends the authorization with an error. V(paste) opens the authorization URL itself (only what the person pastes
        completes it); V(device) opens the verification page, without the user code.
      - Python's C(webbrowser) picks the browser (the C(BROWSER) variable, the desktop's default), in a process of
        its own that the task neither waits for nor hears from. Without a graphical session (no C(DISPLAY),
        C(WAYLAND_DISPLAY) or C(BROWSER)) nothing is started and the task says so.
      - Leave it off on a machine shared with users you do not trust.
    type: bool
    default: false
  authorization_params:
    description:
      - Extra query parameters for the authorization URL, such as C(prompt), C(login_hint) or C(access_type).
      - They may not replace C(response_type), C(client_id), C(redirect_uri), C(state) or the PKCE parameters.
    type: dict
  store_path:
    description:
      - Where the refresh token is to be stored, instead of the profile's O(refresh_token_vars_file). A relative path
        is relative to the current directory (the profile's own is relative to the inventory directory).
      - It only decides RV(refresh_token_store) and RV(profile_settings); this plugin writes no file.
    type: path
attributes:
  check_mode:
    support: partial
    details:
      - An authorization cannot be rehearsed. In check mode the task checks the profile, finds the flow's endpoint
        (from the issuer's discovery document, if need be) and the redirect URI, and returns
        RV(refresh_token_store); nothing is shown to a person and no request is started.
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
- name: Authorize with a browser opened on this controller (redirect to 127.0.0.1) and register the tokens
  tokenops.oauth2.authorize:
    profile: lockit  # its refresh_token_vars_file says where the refresh token belongs
    flow: loopback
    open_browser: true
  register: lockit_authorization
  run_once: true

- name: Keep the refresh token where it belongs, vault-encrypted with this run's vault secret
  tokenops.oauth2.vault_vars:
    path: "{{ lockit_authorization.refresh_token_store.path }}"
    values: "{{ {lockit_authorization.refresh_token_store.var: lockit_authorization.refresh_token} }}"
  run_once: true

- name: Check mode - check the profile and its endpoints, and learn where the refresh token will go
  tokenops.oauth2.authorize:
    profile: lockit
    store_path: secrets/lockit_refresh_token.yml
  check_mode: true
  register: lockit_plan

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
refresh_token_store:
  description:
    - Where the refresh token belongs, O(store_path) or else the profile's O(refresh_token_vars_file) (made absolute
      against the inventory directory), and O(refresh_token_var) (default C(vault_<profile>_refresh_token)).
  returned: when O(store_path) or O(refresh_token_vars_file) is set, in check mode, with O(start_only=true), and on
    success when the server issued a refresh token
  type: dict
  sample: {path: /srv/inventory/group_vars/all/lockit_refresh_token.yml, var: vault_lockit_refresh_token}
profile_settings:
  description:
    - The keys that make the profile renew unattended once the refresh token is stored at RV(refresh_token_store),
      C(grant_type), C(refresh_token) (a reference to the variable, never its value), C(refresh_token_vars_file)
      (relative to the inventory directory when the file lies under it) and, when not the default,
      C(refresh_token_var). The same keys are shown on the screen as YAML.
  returned: success, when RV(refresh_token_store) is returned
  type: dict
  sample:
    grant_type: refresh_token
    refresh_token: '{{ vault_lockit_refresh_token }}'
    refresh_token_vars_file: group_vars/all/lockit_refresh_token.yml
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import AUTHORIZE_OPTIONS, controller_only
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS


def main():
    module = AnsibleModule(argument_spec=dict(PROFILE_OPTIONS, **AUTHORIZE_OPTIONS), supports_check_mode=True)
    controller_only(module, 'tokenops.oauth2.authorize')


if __name__ == '__main__':
    main()
