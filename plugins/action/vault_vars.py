# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write variables, vault-encrypted with the run's own vault secrets, into a YAML vars file on the controller.

A thin shell: plugin_utils.vault_file holds the run's vault and what a write changes (decided on plaintexts);
vars_yaml reads the file and splices the changed entries in, every other line kept; module_utils.private_file
reads and writes the file itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import is_encrypted

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import VAULT_VARS_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.file_paths import path_problem
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import (
    FOLLOW_HINT, DestinationError, PrivateFile)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import load_mapping, render, utf8
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vault_file import (
    RunVault, VaultVarsError, diff, parse_mode, plan, wanted)


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # writes a controller file only
    ARGUMENT_SPEC = VAULT_VARS_OPTIONS

    def no_log_values(self, arguments):
        hidden = super(ActionModule, self).no_log_values(arguments)
        if arguments.get('state') == 'absent' and isinstance(arguments.get('values'), list):
            # Names listed for removal are not secrets; masking them would garble keys_changed.
            hidden.difference_update(v for v in arguments['values'] if isinstance(v, str))
        return hidden

    def run_action(self, task, task_vars, result):
        problem = path_problem('path', self._task.args.get('path'), task['path'])
        if problem:
            raise VaultVarsError(problem)
        try:
            result.update(self._run(task))
        except (IOError, OSError) as e:
            result.update(failed=True, msg='%s: %s' % (task['path'], to_text(e)))
        return result

    def _run(self, params):
        shown_path = params['path']
        # A relative path is relative to the playbook (or role) directory, like other controller-side files.
        path = os.path.join(self._loader.get_basedir(), shown_path)
        mode = parse_mode(params['mode'])
        wanted_values, removed = wanted(params['values'], params['state'])
        out = dict(changed=False, path=shown_path, keys_changed=[])
        try:
            with PrivateFile(path, follow=params['follow']) as target:
                # One writer at a time per directory: the task may run for several hosts at once.
                target.lock()
                return self._update(target, params, mode, wanted_values, removed, out)
        except DestinationError as e:
            if params['state'] == 'absent' and e.errno == errno.ENOENT:
                return out  # no directory, no file: nothing to remove
            raise VaultVarsError('%s; %s' % (e, FOLLOW_HINT) if getattr(e, 'symlink', False) else '%s' % e)

    def _update(self, target, params, mode, wanted_values, removed, out):
        shown_path = params['path']
        encrypt_file = params['encrypt'] == 'file'
        raw = target.read()
        exists = raw is not None
        if not exists and params['state'] == 'absent':
            return out
        if not exists and not params['create']:
            raise VaultVarsError('%s does not exist and create=false.' % shown_path)
        vault = RunVault(self._loader._vault.secrets, params['vault_id'], shown_path)
        out['vault_id'] = vault.vault_id

        raw = raw or b''
        was_vaulted = is_encrypted(raw)
        if was_vaulted and not encrypt_file:
            # Decrypting it to write !vault values would expose every other variable in it.
            raise VaultVarsError('%s is vault-encrypted as a whole; use encrypt=file to update it.' % shown_path)
        text = vault.decrypt(raw, shown_path) if was_vaulted else utf8(raw, shown_path)
        data = load_mapping(text, shown_path)
        changes, new_data, entries = plan(data, wanted_values, removed, vault, encrypt_file, shown_path)

        encrypting_file = encrypt_file and exists and not was_vaulted
        content_changed = bool(changes) or not exists or encrypting_file
        out.update(changed=content_changed or target.attributes_differ(mode), keys_changed=list(changes))
        if self._task.diff:
            out['diff'] = diff(changes, shown_path, encrypting_file)
        if self._task.check_mode or not out['changed']:
            return out

        payload = raw  # a new mode alone is a new file too: never a chmod by path
        if content_changed:
            payload = to_bytes(render(text, new_data, entries, [n for n in changes if changes[n] == 'removed']))
            if encrypt_file:
                payload = vault.encrypt(payload)
            if exists and params['backup']:
                out['backup_file'] = target.backup()
        target.write(payload, mode)
        return out
