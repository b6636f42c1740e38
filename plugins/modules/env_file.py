#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: env_file
short_description: Set or remove KEY=VALUE lines in an environment file read by systemd, docker and dotenv
version_added: 1.0.0
description:
  - Sets keys in a file that systemd C(EnvironmentFile=), C(docker --env-file), docker compose C(.env), python-dotenv
    and a POSIX shell (C(set -a; . FILE)) all read, typically to hand an access token to a service.
  - Every other line is kept as it is, in its place (comments, blank lines, other keys, lines it does not understand).
  - An existing key is rewritten in place. When a key is assigned more than once, every reader takes the last
    assignment; the module rewrites that one and drops the earlier ones, so that no old secret stays in a dead line.
    New keys are appended in the order of O(values).
  - Values are written bare when they consist only of letters, digits and C(_-.+/=:@%,~) (every character of
    base64, base64url, JWTs and RFC 6750 tokens), which every reader takes literally.
    Other values are written in single quotes, which systemd, compose, python-dotenv and C(sh) read literally but
    C(docker --env-file) keeps as part of the value, so C(docker --env-file) users must keep to those characters.
  - Values that no quoting can carry identically to every reader are refused with an error that names the key
    (never the value). They are values with a control character (newline, carriage return, NUL, ...), a single quote C('),
    a backslash C(\) or a dollar sign C($).
  - The file is only written when its text, owner, group or mode changes, through a temporary file in the same
    directory that is created with mode C(0600), gets its owner, group and mode before its first byte, is synced to
    disk and renamed over the file. Nothing is changed on the file by its path afterwards, so no one who can write
    the directory (the consumer's own account, for example) can redirect the write.
  - A symbolic link at O(path) is refused unless O(follow=true), and so is a symbolic link on the way to it that a
    user other than root or the one running the module owns.
  - When the module creates the file and O(mode) is not set, the file gets mode V('0600') (the file holds
    secrets). An existing file keeps its permissions, owner, group and SELinux context unless O(mode), O(owner),
    O(group) or the SELinux options say otherwise.
  - The arguments hold the values, so the task runs pipelined even when pipelining is off in the configuration.
    The module and its arguments then reach the host through the connection and never sit in a file there, not
    even after a killed run. Where it cannot (the C(su) become method, C(ANSIBLE_KEEP_REMOTE_FILES), async, a
    connection without pipelining), a warning says so. Pipelining with C(sudo) needs C(requiretty) off in sudoers
    (the default on current distributions).
  - O(attributes) is refused. C(chattr) acts on a path once the file is in place, which whoever can write the
    directory could redirect, and an immutable file could not be replaced by the next delivery.
  - Values are never returned, logged or shown in a diff; the diff names the keys that change.
author: tokenops engineers (@tokenops)
options:
  path:
    description:
      - The environment file. Its directory must exist.
    type: path
    required: true
  values:
    description:
      - With O(state=present), a mapping of key to value. Keys must match C([A-Za-z_][A-Za-z0-9_]*).
        Numbers are written as their decimal text; a value must not be a list, a mapping or null.
      - With O(state=absent), the keys to remove, as a list of keys or as a mapping whose values are ignored.
    type: raw
    required: true
  state:
    description:
      - V(present) sets the keys of O(values); V(absent) removes every assignment of the keys in O(values).
    type: str
    choices: [present, absent]
    default: present
  create:
    description:
      - Create the file when it does not exist (only with O(state=present)).
      - With V(false), a missing file is an error.
    type: bool
    default: true
  backup:
    description:
      - Keep a copy of the previous file, named with a timestamp, when its text changes. The copy has the owner,
        group and mode of the previous file.
    type: bool
    default: false
  follow:
    description:
      - Write the file a symbolic link at O(path) points to (resolved when the task runs), replacing it atomically
        and keeping the link, as C(ansible.builtin.lineinfile) does.
      - With V(false), a symbolic link at O(path) is refused, and so is a symbolic link on the way to it that a user
        other than root or the one running the module owns. Whoever can write a directory can point a link in it
        at any file, C(/etc/shadow) included.
      - Set V(true) only where no other user can change the link.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files  # short name: the FQCN resolves to the ansible.builtin.files fragment (a core quirk)
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.safe_files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the keys that are added, removed or whose value changes; it never shows a value.
  vault:
    support: none
seealso:
  - module: tokenops.oauth2.vault_vars
  - name: systemd.exec EnvironmentFile=
    description: How systemd reads environment files.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html#EnvironmentFile=
'''

EXAMPLES = r'''
- name: Hand a fresh token to a systemd service
  tokenops.oauth2.env_file:
    path: /etc/locker-sync/token.env
    values:
      HARBOR_TOKEN: "{{ harbor_token.access_token }}"
      HARBOR_TOKEN_EXPIRES_AT: "{{ harbor_token.expires_at }}"
    owner: locker
    group: locker
    mode: "0600"
  notify: Restart locker-sync

- name: Write a compose .env file next to the compose project
  tokenops.oauth2.env_file:
    path: /srv/app/.env
    values:
      API_TOKEN: "{{ lookup('tokenops.oauth2.token', 'breakout') }}"

- name: Remove keys that are no longer delivered
  tokenops.oauth2.env_file:
    path: /etc/locker-sync/token.env
    state: absent
    values: [OLD_TOKEN, OLD_TOKEN_EXPIRES_AT]
'''

RETURN = r'''
path:
  description: The environment file.
  returned: always
  type: str
  sample: /etc/locker-sync/token.env
keys_changed:
  description: The keys that were (or in check mode would be) added, removed or given a new value. Never values.
  returned: always
  type: list
  elements: str
  sample: [HARBOR_TOKEN, HARBOR_TOKEN_EXPIRES_AT]
backup_file:
  description: The copy of the previous file, when O(backup=true) and the file changed.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/locker-sync/token.env.2342.2025-01-31@12:00:00~
'''

import errno

from ansible.module_utils.basic import AnsibleModule, _load_params
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.tokenops.oauth2.plugins.module_utils.env_file import EnvFileError, diff_summary, update
from ansible_collections.tokenops.oauth2.plugins.module_utils.file_paths import path_problem
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import (
    FOLLOW_HINT, DestinationError, PrivateFile, group_id, user_id)

NEW_FILE_MODE = 0o600  # the file holds secrets


class _ModuleLoggingAfterChecks(AnsibleModule):
    """AnsibleModule that logs its invocation to syslog only when main() says so, after _check_file_args.

    AnsibleModule logs the arguments as it starts, and Python 3.12's syslog refuses a NUL byte: a NUL in path, owner
    or group would fail the task with "Failed to log to syslog" instead of a message naming the option.
    """

    def _log_invocation(self):
        pass  # called by AnsibleModule.__init__: deferred to log_invocation()

    def log_invocation(self):
        if not self.no_log:
            AnsibleModule._log_invocation(self)


def _check_file_args(module):
    """Fail on file options that ansible-core's checks let through, before anything is touched."""
    # The 'path' type has already turned a list into its repr: ansible's documented _load_params() gives the
    # value as the task wrote it.
    problem = path_problem('path', _load_params().get('path'), module.params['path'])
    if problem:
        module.fail_json(msg=problem)
    for option in ('owner', 'group'):
        if '\0' in (module.params[option] or ''):  # the user lookup would raise ValueError 'embedded null byte'
            module.fail_json(msg='%s must not contain a NUL byte' % option)
    if module.params['attributes']:
        module.fail_json(msg='attributes is not supported by tokenops.oauth2.env_file: chattr would act on the path '
                             'once the file is in place, and an immutable file could not be replaced by the next '
                             'delivery. Set them with ansible.builtin.file after this task if you must.')


def _wanted(module):
    """Return (present, absent) from O(values) and O(state), or fail naming the offending key."""
    values = module.params['values']
    if module.params['state'] == 'absent':
        if isinstance(values, dict):
            return {}, list(values)
        if isinstance(values, list) and all(isinstance(key, str) for key in values):
            return {}, values
        module.fail_json(msg='values must be a list of keys or a mapping when state=absent')
    if not isinstance(values, dict):
        module.fail_json(msg='values must be a mapping of key to value when state=present')
    present = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            module.fail_json(msg='the value of %s must be a string or a number, not %s' % (key, type(value).__name__))
        present[key] = value if isinstance(value, str) else str(value)
    return present, []


class _NewFile(object):
    st_mode = 0o100000 | NEW_FILE_MODE  # what a symbolic mode of a file about to be created applies to


def _file_attributes(module, target):
    """(mode, uid, gid) asked for by O(mode), O(owner), O(group); None where the file keeps (or gets) its own."""
    mode = module.params['mode']
    if mode is not None and not isinstance(mode, int):
        try:
            mode = int(mode, 8)
        except ValueError:  # symbolic, as ansible.builtin.file takes it: applied to the current mode
            try:
                mode = module._symbolic_mode_to_octal(target.existing or _NewFile, mode)
            except Exception as e:
                module.fail_json(msg='mode must be in octal or symbolic form, such as "0600" or "u=rw,g=r"',
                                 details=to_native(e))
    # ansible-core bounds an octal string, but hands any int to chmod as it is (-1 included).
    if mode is not None and not 0 <= mode <= 0o7777:
        module.fail_json(msg='mode must be a permission from 0 to 07777, such as "0600"')
    if mode is None and target.existing is None:
        mode = NEW_FILE_MODE
    try:
        uid = user_id(module.params['owner']) if module.params['owner'] is not None else None
        gid = group_id(module.params['group']) if module.params['group'] is not None else None
    except ValueError as e:
        module.fail_json(msg=to_native(e))
    return mode, uid, gid


def _selinux_context(module, target):
    """The SELinux context for the new file, as atomic_move gives it: the old file's (the policy's default for a new
    one) with the SELinux options applied; None where SELinux is off."""
    if not module.selinux_enabled():
        return None
    wanted = module.load_file_common_arguments(module.params, path=target.path)['secontext']
    context = list(target.existing_selinux_context() or module.selinux_default_context(target.path))
    context += [None] * (len(wanted) - len(context))
    for index, part in enumerate(wanted):
        if part is not None:
            context[index] = part
    return context


def _deliver(module, target, result):
    """Decide and, unless in check mode, write; RESULT is updated in place."""
    path = module.params['path']
    present, absent = _wanted(module)
    try:
        old = target.read()
    except DestinationError:
        raise
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(e)), **result)
    if old is None:
        if module.params['state'] == 'absent':
            return
        if not module.params['create']:
            module.fail_json(msg='%s does not exist and create=false' % path, **result)
    try:
        # surrogateescape: bytes that are not UTF-8 in lines we do not own are written back unchanged.
        new_text, changes = update((old or b'').decode('utf-8', errors='surrogateescape'), present, absent)
    except EnvFileError as e:
        module.fail_json(msg='%s: %s' % (path, e), **result)
    result['keys_changed'] = list(changes)
    if module._diff:
        result['diff'] = diff_summary(changes, path)

    mode, uid, gid = _file_attributes(module, target)
    content_changed = bool(changes) or old is None
    result['changed'] = content_changed or target.attributes_differ(mode, uid, gid)
    if module.check_mode or not result['changed']:
        return
    if old is not None and content_changed and module.params['backup']:
        result['backup_file'] = target.backup()
    # A change of owner, group or mode alone is a new file too: never a chmod or chown by path.
    target.write(to_bytes(new_text, errors='surrogateescape'), mode, uid, gid,
                 selinux_context=_selinux_context(module, target), unsafe_writes=module.params['unsafe_writes'])


def main():
    module = _ModuleLoggingAfterChecks(
        argument_spec=dict(
            path=dict(type='path', required=True),
            values=dict(type='raw', required=True, no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
            follow=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    if module.params['state'] == 'absent' and isinstance(module.params['values'], list):
        # no_log masks every string of O(values); a list of key names holds no secret, and masking the names
        # would garble keys_changed.
        module.no_log_values.difference_update(v for v in module.params['values'] if isinstance(v, str))
    _check_file_args(module)
    module.log_invocation()
    path = module.params['path']
    result = dict(changed=False, path=path, keys_changed=[])
    try:
        with PrivateFile(path, follow=module.params['follow']) as target:
            _deliver(module, target, result)
    except DestinationError as e:
        if module.params['state'] == 'absent' and e.errno == errno.ENOENT:
            module.exit_json(**result)  # no directory, no file: nothing to remove
        module.fail_json(msg='%s; %s' % (e, FOLLOW_HINT) if getattr(e, 'symlink', False) else str(e), **result)
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot write %s: %s' % (path, to_native(e)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
