# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: token
short_description: Obtain an OAuth 2.0 access token from a provider profile
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - Returns an access token for each profile named in the terms, from the controller token cache while it is
    still good, otherwise from the profile's token endpoint (renewing with the refresh token when one is held).
  - A profile is read from the host's C(oauth2_profiles) variable (templated, vaulted values decrypted); options
    given to the lookup are merged over it. Without a term, the options alone form an inline profile.
  - Every profile option (O(tokenops.oauth2.token#module:token_url), O(tokenops.oauth2.token#module:client_id),
    O(tokenops.oauth2.token#module:scope), ...) is accepted as a keyword too; the module M(tokenops.oauth2.token)
    documents them all.
  - One cache is shared by every fork and every run, so a play over many hosts sends one request per profile and
    expiry window.
extends_documentation_fragment:
  - tokenops.oauth2.shared_store
options:
  _terms:
    description: Names of profiles in C(oauth2_profiles).
    type: list
    elements: str
    required: false
  field:
    description:
      - What to return for each profile. V(access_token) (the default), V(header) (C(Bearer <token>)),
        V(expires_at), V(refresh_token), V(token_type), or V(all) for the whole token mapping.
    type: str
    default: access_token
    choices: [access_token, header, expires_at, refresh_token, token_type, all]
  force_refresh:
    description: Ignore a cached token and ask the server for a new one.
    type: bool
    default: false
  validate:
    description:
      - Check each token with the profile's O(tokenops.oauth2.token#module:validate_url) or RFC 7662 introspection
        before returning it; a refused token fails the lookup. With O(field=all) the mapping gains C(validation).
    type: bool
    default: false
  cache_dir:
    description:
      - The controller token cache directory. A profile's own O(cache_dir) wins over this setting.
      - It must belong to the user running Ansible and be writable by no one else; a symbolic link, or a directory
        of another user, is refused (when running as root too). It is created 0700, and a directory of that user
        that others may only read is made 0700.
      - Each token is kept in a file of its own (0600), sealed with a key derived from the profile's secret and a
        random key of this controller kept in the directory, under a name that reveals nothing about the profile.
      - Defaults to C(tokenops-oauth2) under C($XDG_CACHE_HOME) or C(~/.cache).
    type: path
    env:
      - name: TOKENOPS_OAUTH2_CACHE_DIR
    ini:
      - section: tokenops_oauth2
        key: cache_dir
requirements:
  - cryptography (for the token cache)
  - redis (redis-py), on the controller, only for the shared token store (O(cache_url))
notes:
  - The token is a secret. Pass it only to tasks that set C(no_log=true) (such as C(ansible.builtin.uri) with
    an C(Authorization) header) rather than printing it.
seealso:
  - module: tokenops.oauth2.token
'''

EXAMPLES = r'''
- name: Call an API with a token from the profile "harbor" in oauth2_profiles
  ansible.builtin.uri:
    url: https://api.harborlockers.com/api/v1/towers
    headers:
      Authorization: "{{ lookup('tokenops.oauth2.token', 'harbor', field='header') }}"
  no_log: true

- name: The whole token mapping, to report when it expires
  ansible.builtin.debug:
    msg: "expires at {{ lookup('tokenops.oauth2.token', 'harbor', field='all').expires_at }}"

- name: A profile given inline, with a scope override
  ansible.builtin.set_fact:
    depot_token: "{{ lookup('tokenops.oauth2.token', preset='depotfinity', region='eu', client_id=depot_id,
                     client_secret=depot_secret) }}"
  no_log: true
'''

RETURN = r'''
_raw:
  description:
    - One item per term, as O(field) says. With V(all), a mapping with C(access_token), C(token_type),
      C(expires_in), C(expires_at) (UTC ISO 8601), C(refresh_token) (or null), C(scope), C(profile),
      C(from_cache) and C(header).
  type: list
  elements: raw
'''

import os
import time

from ansible.errors import AnsibleOptionsError
from ansible.module_utils.common.validation import check_type_bool
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS, describe_unknown
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import (
    INLINE_PROFILE, STORE_OPTIONS, as_ansible_error, controller_client, profile_overrides, refresh_token_write_back,
    resolve_profile, store_options, vault_secrets)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.memo import Memo

display = Display()

# The lookup's own options (DOCUMENTATION); every other keyword is a profile option. The profile options are
# documented with the module only: Ansible reads a lookup's documentation (with its fragments) to build its
# configuration in every worker that loads it, once per host and task, and fifty profile options were half of that. They depend on the call's
# keywords and ansible's configuration only (ansible.cfg is read once per process; our environment variables are part
# of the key): worked out once per distinct call. The store secrets that may come from host variables are read per
# call, by controller.store_options, outside this memo.
LOOKUP_OPTIONS = ('field', 'force_refresh', 'validate', 'cache_dir') + STORE_OPTIONS
OPTIONS_SET = Memo()


class LookupModule(LookupBase):
    _environment_names = None  # the environment variables the options are read from (their documentation's env)

    def run(self, terms, variables=None, **kwargs):
        self._check_keywords(kwargs)
        if LookupModule._environment_names is None:
            LookupModule._environment_names = sorted(set(
                source['name'] for spec in self.option_definitions.values() for source in spec.get('env') or ()))
        environment = [os.environ.get(name) for name in LookupModule._environment_names]
        options = OPTIONS_SET.get([native(kwargs), environment],
                                  lambda: self._lookup_options(kwargs))
        overrides = profile_overrides(dict((k, v) for k, v in kwargs.items() if k != 'cache_dir'))
        templar = self._templar.copy_with_new_env(available_variables=variables or {})
        store = store_options(options, variables or {}, templar, direct=kwargs)
        results = []
        for name in terms or [INLINE_PROFILE]:
            try:
                profile = resolve_profile(name, variables or {}, templar, overrides)
                for warning in profile.warnings:
                    display.warning(warning)
                write_back = refresh_token_write_back(profile, variables or {}, vault_secrets(self._loader),
                                                      display.warning)
                client = controller_client(profile, options['cache_dir'], display.warning, store, write_back)
                token = client.get_token(force_refresh=options['force_refresh'])
                mapping = token.as_result(time.time())
                if options['validate']:
                    mapping['validation'] = client.validate(token)
            except OAuth2Error as exc:
                raise as_ansible_error(exc)
            results.append(mapping if options['field'] == 'all' else mapping[options['field']])
        return results

    def _lookup_options(self, kwargs):
        self.set_options(direct=dict((k, v) for k, v in kwargs.items() if k in LOOKUP_OPTIONS))
        return dict((key, self.get_option(key)) for key in LOOKUP_OPTIONS)

    def _check_keywords(self, kwargs):
        """Ansible ignores an unknown keyword and takes any value of a bool option that is not true as false: a typo
        would drop an option, or turn it off, without a word. Only names are quoted: the values may be secrets."""
        unknown = [k for k in kwargs if k not in LOOKUP_OPTIONS and k not in PROFILE_OPTIONS]
        if unknown:
            raise AnsibleOptionsError('unknown option %s; ansible-doc tokenops.oauth2.token lists the profile options, '
                                      'ansible-doc -t lookup tokenops.oauth2.token the others'
                                      % describe_unknown(unknown, sorted(set(LOOKUP_OPTIONS) | set(PROFILE_OPTIONS))))
        for key in ('force_refresh', 'validate'):
            if kwargs.get(key) is not None:
                try:
                    check_type_bool(kwargs[key])
                except TypeError:
                    raise AnsibleOptionsError("option '%s' must be a boolean (true or false)" % key)
