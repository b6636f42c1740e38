# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.token: resolve the profile on the controller, then obtain the token there
(through the shared cache) or, with ``fetch_on: host``, run the module on the managed host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import TOKEN_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import (
    configured_cache_dir, configured_store_options, controller_client, refresh_token_store, resolve_profile)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.pipelining import pipelined


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # only fetch_on=host talks to the host
    ARGUMENT_SPEC = TOKEN_OPTIONS
    TAKES_PROFILE_OPTIONS = True

    def run_action(self, task, task_vars, result):
        warnings = result.setdefault('warnings', [])
        profile = resolve_profile(task['profile'], task_vars, self._templar, self.profile_options)
        warnings.extend(profile.warnings)
        if task['fetch_on'] == 'host':
            return self._with_store(self._on_host(result, profile, task, task_vars), profile, task_vars)
        client = controller_client(profile, configured_cache_dir(task_vars), warnings.append,
                                   configured_store_options(task_vars, self._templar))
        if task['state'] == 'absent':
            revoked = client.revoke_held(check_mode=self._task.check_mode)
            return dict(result, changed=bool(revoked), revoked=revoked, profile=profile.name)
        token = client.get_token(force_refresh=task['force_refresh'])
        if task['validate']:
            result['validation'] = client.validate(token)

        result.update(token.as_result(time.time()), changed=False)
        # The result holds the token: censor what callbacks display (at any verbosity, in any callback) while
        # the registered variable keeps it, which is exactly what no_log on the result does.
        result['_ansible_no_log'] = True
        return self._with_store(result, profile, task_vars)

    @staticmethod
    def _with_store(result, profile, task_vars):
        """Say where the refresh token belongs, for the deliver role to write a rotated one back."""
        store = refresh_token_store(profile, task_vars)
        if store and result.get('refresh_token') and not result.get('failed'):
            result['refresh_token_store'] = store
        return result

    def _on_host(self, result, profile, task, task_vars):
        module_args = dict((k, v) for k, v in profile.options.items() if k in PROFILE_OPTIONS and v is not None)
        module_args.update(task, profile=profile.name)
        with pipelined(self, "the profile's secrets"):
            module_result = self._execute_module(module_name='tokenops.oauth2.token', module_args=module_args,
                                                 task_vars=task_vars)
        result.update(module_result)
        if not result.get('failed'):
            result['_ansible_no_log'] = True
        return result
