#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: token
short_description: Obtain an OAuth 2.0 access token from a provider profile
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - Obtains an access token for a provider profile declared in the inventory variable C(oauth2_profiles), or
    given inline, with the client credentials, password, authorization code or refresh token grant.
  - The profile is resolved on the controller (templated, vaulted values decrypted) and, by default, the token is
    requested there too, through the controller token cache shared with the lookup C(tokenops.oauth2.token).
    With O(fetch_on=host) the request is sent from the managed host instead (no cache unless O(cache_dir) is set).
  - The task's displayed result is censored at every verbosity, because it holds the token; the registered
    variable holds the full result.
extends_documentation_fragment:
  - tokenops.oauth2.profile
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.actiongroups
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
options:
  profile:
    description:
      - Name of a profile in C(oauth2_profiles). Options given to the task are merged over it.
      - Without it, the options given to the task form the whole profile.
    type: str
  state:
    description:
      - V(present) obtains a token. V(absent) revokes (RFC 7009), at the profile's O(revocation_url) (or the
        issuer's C(revocation_endpoint)), the access and refresh tokens held for the profile in the token cache,
        which it then forgets, and the O(refresh_token) the profile or the task gives, if it is another one.
      - With V(absent), a profile without a cache (O(cache=false), or O(fetch_on=host) without O(cache_dir)) and
        without O(refresh_token) holds nothing to revoke, and the task fails saying so; give the refresh token to
        revoke as O(refresh_token).
    type: str
    default: present
    choices: [present, absent]
  force_refresh:
    description: Ignore a cached token and ask the server for a new one.
    type: bool
    default: false
  validate:
    description:
      - Check the token after obtaining it, with the profile's O(validate_url) (such as Harbor's test-token) or
        else RFC 7662 introspection at O(introspection_url) (or the issuer's C(introspection_endpoint)), and
        report whom it belongs to in RV(validation).
      - Introspection authenticates as O(introspection_client_id) when the profile names one (a server may let only
        a resource server introspect), else as the profile's own client.
    type: bool
    default: false
  fetch_on:
    description:
      - Where the token request is sent from. V(controller) uses the controller cache; V(host) runs the request
        on the managed host, for token endpoints only it can reach.
      - With V(host) the module's arguments hold the profile's secrets, so it runs pipelined even when pipelining
        is off in the configuration. They never sit in a module file on the host, not even after a killed run.
        Where the connection or become method cannot pipeline (C(su), C(ANSIBLE_KEEP_REMOTE_FILES)), a warning
        says so.
    type: str
    default: controller
    choices: [controller, host]
attributes:
  check_mode:
    support: full
    details: Obtaining a token changes nothing that Ansible manages, so it runs in check mode too.
  diff_mode:
    support: none
  action_group:
    membership:
      - tokenops.oauth2.oauth2
requirements:
  - requests (on the host that sends the request)
  - cryptography (for the token cache)
notes:
  - Obtaining a token is never C(changed), since it changes nothing on the hosts. A revocation (O(state=absent)) is
    C(changed) when it revoked a token; a server answers a token it no longer knows as revoked (RFC 7009 section
    2.2), so a O(refresh_token) given by the profile is revoked again, and C(changed), on every run.
seealso:
  - plugin: tokenops.oauth2.token
    plugin_type: lookup
'''

EXAMPLES = r'''
- name: Obtain a token for the profile "harbor" declared in group_vars
  tokenops.oauth2.token:
    profile: harbor
  register: harbor

- name: Use it (the task is no_log because the header holds the token)
  ansible.builtin.uri:
    url: https://api.harborlockers.com/api/v1/towers
    headers:
      Authorization: "{{ harbor.header }}"
  no_log: true

- name: Show only when it expires
  ansible.builtin.debug:
    msg: "harbor token expires at {{ harbor.expires_at }}"

- name: A profile given inline, sent from the managed host
  tokenops.oauth2.token:
    token_url: https://idp.internal.example/oauth2/token
    client_id: backup-agent
    client_secret: "{{ vault_backup_agent_secret }}"
    scope: [backup.read, backup.write]
    fetch_on: host
  register: backup_token
'''

RETURN = r'''
access_token:
  description: The access token.
  returned: success
  type: str
token_type:
  description: The token type, V(Bearer) normalised from any case.
  returned: success
  type: str
  sample: Bearer
header:
  description: The value of an C(Authorization) header carrying the token.
  returned: success
  type: str
  sample: Bearer eyJhbGciOi...
expires_in:
  description: Seconds the token remains valid from now.
  returned: success
  type: int
  sample: 299
expires_at:
  description: When the token expires, UTC ISO 8601, with C(expires_in) counted from when the request was sent (so never later than the server's own expiry).
  returned: success
  type: str
  sample: "2026-11-24T15:04:05Z"
refresh_token:
  description: The refresh token the server issued (after a rotation, the new one), or null.
  returned: success
  type: str
scope:
  description: The scope granted (as the server reported it, else as requested).
  returned: success
  type: str
  sample: service_provider
profile:
  description: The profile name.
  returned: success
  type: str
from_cache:
  description: Whether the token came from the cache rather than from the server.
  returned: success
  type: bool
validation:
  description: With O(validate=true), how the token was checked and whom it belongs to.
  returned: when O(validate=true)
  type: dict
  sample: {valid: true, method: validate_url, owner: test@test.com}
refresh_token_store:
  description:
    - Where the refresh token is written back, the profile's O(refresh_token_vars_file) (made absolute against the
      inventory directory) as C(path) and O(refresh_token_var) (default C(vault_<profile>_refresh_token)) as C(var),
      and whether this task changed it (C(changed)).
    - A rotated refresh token is written there, encrypted with the run's vault secret, before the task returns.
      If that fails, C(error) says why; the task still returns the token (the token cache holds the refresh token
      too), and the C(tokenops.oauth2.deliver) role reports the profile as failed.
  returned: when the profile sets O(refresh_token_vars_file) and the token has a refresh token
  type: dict
  sample: {path: /srv/inventory/group_vars/all/lockit_refresh_token.yml, var: vault_lockit_refresh_token, changed: true}
revoked:
  description: With O(state=absent), the kinds of token revoked (in check mode, that would be revoked), each once.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [refresh_token, access_token]
'''

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import TOKEN_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS, build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


def main():
    module = AnsibleModule(argument_spec=dict(PROFILE_OPTIONS, **TOKEN_OPTIONS), supports_check_mode=True)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)

    options = dict((k, v) for k, v in module.params.items() if k in PROFILE_OPTIONS)
    try:
        # The action plugin has already merged and validated the profile; validating again here is cheap and
        # keeps the module honest when it is run some other way.
        profile = build_profile(module.params['profile'] or '(inline)', overrides=options)
        for warning in profile.warnings:
            module.warn(warning)
        # On a managed host a cache only in the profile's own cache_dir: the controller's setting and default mean
        # nothing here (the rule and its controller side: plugin_utils.controller.cache_directory).
        cache = TokenCache(profile['cache_dir'], warn=module.warn, profile_name=profile.name) \
            if profile.get('cache_dir') and profile.get('cache') else None
        client = TokenClient(profile, cache=cache, warn=module.warn)
        if module.params['state'] == 'absent':
            revoked = client.revoke_held(check_mode=module.check_mode)
            module.exit_json(changed=bool(revoked), revoked=revoked, profile=profile.name)
        token = client.get_token(module.params['force_refresh'])
        validation = client.validate(token) if module.params['validate'] else None
    except OAuth2Error as exc:
        module.fail_json(msg=str(exc), **exc.as_dict())
    result = token.as_result(time.time())
    if validation is not None:
        result['validation'] = validation
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
