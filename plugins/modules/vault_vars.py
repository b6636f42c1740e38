#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# tokenops.oauth2.vault_vars is an action plugin (plugins/action/vault_vars.py) that runs on the controller, where the
# vault secrets of the run are. This file documents it; its main() only builds the module from the action plugin's
# spec (module_utils.argspecs), for validate-modules to check the documentation against it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: vault_vars
short_description: Write vault-encrypted variables into a YAML vars file on the controller
version_added: 1.0.0
description:
  - Sets variables in a YAML vars file on the controller (for example C(group_vars/all/token.yml)), encrypted with
    the vault secrets the playbook was started with, so that a later run with the same C(--vault-id) or
    C(--vault-password-file) loads them.
  - By default each value is written as an inline C(!vault) string and the rest of the file stays readable
    (O(encrypt=values)); with O(encrypt=file) the whole file is vault-encrypted, as C(ansible-vault encrypt) does.
  - Idempotent. What is on disk is decrypted with the same secrets and compared with the new plaintext; an unchanged
    value is not re-encrypted (vault ciphertext is salted, so re-encrypting would always look like a change).
  - Variables it does not manage are kept with their values, tags and order, and with their comments when the file
    is a plain block mapping (always true of files this plugin wrote). Only when the edit cannot be made in place
    (flow style, duplicate keys) is the file re-rendered from its data, which loses comments.
  - The file is written through a temporary file in the same directory that has the final O(mode) (and the owner
    and group of the file it replaces) before its first byte, then renamed over the file; a change of O(mode) alone
    is written the same way. Any error leaves the file untouched. A temporary file left by a killed run is removed
    by the next write.
  - Values are never returned, logged or shown in a diff; the diff names the variables that change.
  - The file is on the controller, so one write per play is enough; use C(run_once=true). Tasks that do run for
    several hosts at once are serialized with a lock on the directory.
author: tokenops engineers (@tokenops)
options:
  path:
    description:
      - The YAML vars file on the controller. A relative path is relative to the playbook (or role) directory.
      - Its directory must exist. A symbolic link is refused unless O(follow=true), and so is a symbolic link on the
        way to it that a user other than root or the one running the playbook owns.
    type: path
    required: true
  values:
    description:
      - With O(state=present), a mapping of variable name to value. Names must be valid Ansible variable names.
      - Values are stored as strings (vault encrypts text); a number is stored as its text.
      - With O(state=absent), the variables to remove, as a list of names or a mapping whose values are ignored.
    type: raw
    required: true
  vault_id:
    description:
      - The vault id, among those the run was started with, whose secret encrypts the values.
      - When not set, the one C(ansible-vault encrypt) would pick, that is C(DEFAULT_VAULT_ENCRYPT_IDENTITY) if
        configured, otherwise the first vault secret of the run.
      - Existing encrypted values are decrypted with any of the run's vault secrets.
    type: str
  encrypt:
    description:
      - V(values) writes each managed value as an inline C(!vault) string and leaves the file itself in the clear.
        A file that is vault-encrypted as a whole is refused in this mode (decrypting it would expose the other
        variables).
      - V(file) writes plain values and vault-encrypts the whole file. A value that contains Jinja2 markers is
        tagged C(!unsafe) so that it is not templated when loaded.
    type: str
    choices: [values, file]
    default: values
  state:
    description:
      - V(present) sets the variables of O(values); V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - The permissions of the file, as an octal string such as V('0600') or V('0640'). Applied on every run.
    type: raw
    default: '0600'
  backup:
    description:
      - Keep a copy of the previous file (same owner, group and mode), named with a timestamp and a trailing C(~)
        (which Ansible's C(group_vars) and C(host_vars) loading skips), when the contents change.
    type: bool
    default: false
  create:
    description:
      - Create the file when it does not exist. With V(false), a missing file is an error.
    type: bool
    default: true
  follow:
    description:
      - Write the file a symbolic link at O(path) points to (resolved when the task runs), replacing it atomically
        and keeping the link.
      - With V(false), a symbolic link at O(path) is refused. Whoever can write the directory (a shared inventory)
        could point it at any file the playbook's user may write. Set V(true) only where no other user can change
        the link.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files  # short name: the FQCN resolves to the ansible.builtin.files fragment (a core quirk)
  - ansible.builtin.action_common_attributes.flow
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
  - tokenops.oauth2.attributes.safe_files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the variables that are added, removed or whose value changes; it never shows a value.
  vault:
    support: full
    details: Decrypts and encrypts with the vault secrets of the run.
seealso:
  - module: tokenops.oauth2.env_file
  - ref: playbooks_vault
    description: Using encrypted variables and files.
'''

EXAMPLES = r'''
- name: Store a fresh token for later runs, encrypted with the run's vault secret
  tokenops.oauth2.vault_vars:
    path: "{{ inventory_dir }}/group_vars/all/harbor_token.yml"
    values:
      harbor_access_token: "{{ harbor_token.access_token }}"
      harbor_token_expires_at: "{{ harbor_token.expires_at }}"
  run_once: true

- name: Encrypt with a named vault id (ansible-playbook --vault-id prod@prod-password-file ...)
  tokenops.oauth2.vault_vars:
    path: group_vars/prod/tokens.yml
    vault_id: prod
    encrypt: file
    values:
      breakout_refresh_token: "{{ breakout.refresh_token }}"
  run_once: true

- name: Forget a token
  tokenops.oauth2.vault_vars:
    path: "{{ inventory_dir }}/group_vars/all/harbor_token.yml"
    state: absent
    values: [harbor_access_token, harbor_token_expires_at]
  run_once: true
'''

RETURN = r'''
path:
  description: The vars file, as given.
  returned: always
  type: str
  sample: /srv/inventory/group_vars/all/harbor_token.yml
keys_changed:
  description: The variables that were (or in check mode would be) added, removed or given a new value. Never values.
  returned: always
  type: list
  elements: str
  sample: [harbor_access_token]
vault_id:
  description: The vault id whose secret encrypted the values.
  returned: when the file exists or is created
  type: str
  sample: default
backup_file:
  description: The previous file, when O(backup=true) and the contents changed.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /srv/inventory/group_vars/all/harbor_token.yml.2342.2025-01-31@12:00:00~
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import VAULT_VARS_OPTIONS, controller_only


def main():
    module = AnsibleModule(argument_spec=VAULT_VARS_OPTIONS, supports_check_mode=True)
    controller_only(module, 'tokenops.oauth2.vault_vars')


if __name__ == '__main__':
    main()
