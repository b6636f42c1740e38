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
version_added: 0.1.0
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
  - The file is only written when its text changes, through a temporary file in the same directory that is
    created with mode C(0600), synced to disk and renamed over the file.
  - When the module creates the file and O(mode) is not set, the file gets mode V('0600') (the file holds
    secrets). An existing file keeps its permissions, owner and group unless O(mode), O(owner) or O(group) is set.
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
      - Keep a copy of the previous file, named with a timestamp, when the file changes.
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

import contextlib
import os
import re

from ansible.module_utils.basic import AnsibleModule, _load_params
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.tokenops.oauth2.plugins.module_utils.env_file import EnvFileError, diff_summary, update
from ansible_collections.tokenops.oauth2.plugins.module_utils.file_paths import path_problem


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
    mode = module.params['mode']
    # ansible-core bounds an octal string, but hands any int to chmod as it is (-1 included).
    if isinstance(mode, int) and not 0 <= mode <= 0o7777:
        module.fail_json(msg='mode must be a permission from 0 to 07777, such as "0600"')


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


def _write(module, path, text):
    """Write TEXT over PATH atomically; the secret is never readable by anyone but the owner while it travels."""
    directory = os.path.dirname(path) or '.'
    # The temporary file is 0600 from its creation (O_EXCL: never an existing file, never a symlink's target);
    # owner, group and a wider mode are applied only once the whole file is in place.
    _remove_stale_tempfiles(directory, os.path.basename(path))
    fd, tmp = _create_private_tempfile(directory, os.path.basename(path))
    module.add_cleanup_file(tmp)
    try:
        view = memoryview(to_bytes(text, errors='surrogateescape'))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    # atomic_move chmods a file it creates to 0666 & ~umask (0644 usually): with a 077 umask that is 0600, so the
    # token is never world-readable, even between the rename and set_fs_attributes_if_different.
    with _private_umask():
        module.atomic_move(tmp, path, unsafe_writes=module.params['unsafe_writes'])


@contextlib.contextmanager
def _private_umask():
    old_umask = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old_umask)


def _remove_stale_tempfiles(directory, basename):
    """Remove the temporary files of writers that died before their rename (a killed run): they may hold part of
    a token. A temporary file names its writer's pid; one whose process is alive is left alone."""
    pattern = re.compile(r'^\.%s\.(\d+)\.\d+\.tmp$' % re.escape(basename))
    for name in os.listdir(directory):
        match = pattern.match(name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # the writer is alive (or someone else's process: PermissionError below)
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass  # another writer cleaned it up first


def _create_private_tempfile(directory, basename):
    for attempt in range(100):
        tmp = os.path.join(directory, '.%s.%d.%d.tmp' % (basename, os.getpid(), attempt))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp
        except FileExistsError:
            continue
    raise OSError('cannot create a temporary file in %s' % directory)


def main():
    module = _ModuleLoggingAfterChecks(
        argument_spec=dict(
            path=dict(type='path', required=True),
            values=dict(type='raw', required=True, no_log=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            create=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
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
    present, absent = _wanted(module)

    # Write through a symlink to its target, as lineinfile does, rather than replace the link with a file.
    real_path = os.path.realpath(path)
    if os.path.isdir(real_path):
        module.fail_json(msg='%s is a directory, not an environment file' % path, **result)
    exists = os.path.exists(real_path)
    if not exists:
        if module.params['state'] == 'absent':
            module.exit_json(**result)
        if not module.params['create']:
            module.fail_json(msg='%s does not exist and create=false' % path, **result)
        if not os.path.isdir(os.path.dirname(real_path)):
            module.fail_json(msg='the directory of %s does not exist' % path, **result)

    old_text = ''
    if exists:
        try:
            with open(real_path, 'rb') as f:
                # surrogateescape: bytes that are not UTF-8 in lines we do not own are written back unchanged.
                old_text = f.read().decode('utf-8', errors='surrogateescape')
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot read %s: %s' % (path, to_native(e)), **result)
    try:
        new_text, changes = update(old_text, present, absent)
    except EnvFileError as e:
        module.fail_json(msg='%s: %s' % (path, e), **result)

    content_changed = bool(changes) or not exists
    result['keys_changed'] = list(changes)
    if module._diff:
        result['diff'] = diff_summary(changes, path)

    file_args = module.load_file_common_arguments(module.params, path=real_path)
    if not exists and file_args['mode'] is None:
        file_args['mode'] = 0o600

    if module.check_mode:
        if exists:
            content_changed = module.set_fs_attributes_if_different(file_args, content_changed)
        result['changed'] = content_changed
        module.exit_json(**result)

    if content_changed:
        if exists:
            # Apply the wanted mode and owner to the old file first: atomic_move copies them onto the new file,
            # so the new secret never sits in a file with the old, possibly wider, permissions. (Not chattr
            # attributes: an immutable old file could not be replaced.)
            module.set_fs_attributes_if_different(dict(file_args, attributes=None), False)
            if module.params['backup']:
                # backup_local copies through a new file created with the umask's mode; 077 keeps the old token
                # private until copystat gives the backup the original file's mode.
                with _private_umask():
                    result['backup_file'] = module.backup_local(real_path)
        try:
            _write(module, real_path, new_text)
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot write %s: %s' % (path, to_native(e)), **result)
    result['changed'] = module.set_fs_attributes_if_different(file_args, content_changed)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
