# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.token: resolve the profile on the controller, then obtain the token there
(through the shared cache) or, with ``fetch_on: host``, run the module on the managed host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import TOKEN_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import (
    configured_settings, configured_store_options, controller_client, prepare_for_forks, refresh_token_write_back,
    resolve_profile, vault_secrets)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.pipelining import pipelined

# ansible-playbook's parent process imports this module before it forks the workers of a token task: they inherit
# the engine and the lookup (which this plugin reads its settings through) already loaded.
prepare_for_forks()


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # only fetch_on=host talks to the host
    ARGUMENT_SPEC = TOKEN_OPTIONS
    TAKES_PROFILE_OPTIONS = True

    def run_action(self, task, task_vars, result):
        warnings = result.setdefault('warnings', [])

        write_back = None
        try:
            profile = resolve_profile(task['profile'], task_vars, self._templar, self.profile_options)
            warnings.extend(profile.warnings)
            write_back = refresh_token_write_back(profile, task_vars, vault_secrets(self._loader), warnings.append)
            if task['fetch_on'] == 'host':
                result = self._on_host(result, profile, task, task_vars)
                rotated = result.get('refresh_token')
                if write_back and not result.get('failed') and rotated and rotated != profile.get('refresh_token'):
                    write_back.write(rotated)
                return self._with_write_back(result, write_back)
            settings = configured_settings()
            client = controller_client(profile, settings['cache_dir'], warnings.append,
                                       configured_store_options(task_vars, self._templar, settings), write_back)
            if task['state'] == 'absent':
                revoked = client.revoke_held(check_mode=self._task.check_mode)
                return dict(result, changed=bool(revoked), revoked=revoked, profile=profile.name)
            token = client.get_token(force_refresh=task['force_refresh'])
            if task['validate']:
                result['validation'] = client.validate(token)
        except OAuth2Error as exc:
            # A renewal may have failed after its refresh token was written back: say so.
            return self._with_write_back(dict(result, failed=True, msg=str(exc), **exc.as_dict()), write_back)

        result.update(token.as_result(time.time()), changed=False)
        # The result holds the token: censor what callbacks display (at any verbosity, in any callback) while
        # the registered variable keeps it, which is exactly what no_log on the result does.
        result['_ansible_no_log'] = True
        return self._with_write_back(result, write_back)

    @staticmethod
    def _with_write_back(result, write_back):
        """Say where the profile's refresh token is written back, and whether this task wrote it (``changed``) or
        could not (``error``, which the deliver role's summary reports)."""
        if write_back is None:
            return result
        if write_back.outcome is not None:
            result['refresh_token_store'] = write_back.outcome
            result['changed'] = bool(result.get('changed') or write_back.outcome.get('changed'))
        elif result.get('refresh_token') and not result.get('failed'):
            result['refresh_token_store'] = dict(path=write_back.path, var=write_back.var, changed=False)
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
