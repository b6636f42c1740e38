#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: trusted_paths
short_description: Refuse paths that users other than the trusted ones can change
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - Fails when a user other than root and O(trusted_users) could change what a path names, through the path itself,
    a directory on the way to it or a symlink followed (a root-owned file inside a directory another user owns can be
    replaced by that user). Whatever a job running as root executes or reads is checked so, because whoever can
    change it can run code as root. The P(tokenops.oauth2.schedule#role) role checks every file of the scheduled run.
  - Every such entry must be owned by a trusted user and writable neither by its group nor by others. A sticky
    directory such as C(/tmp) may be writable by all on the way to a path (others cannot replace an entry they do not
    own), but not where the job creates a file (O(paths[].kind=created)), nor inside a tree.
  - The message names, for each entry, the path given (O(paths[].name)), what is wrong (owner, mode) and the fix, such
    as C(chown root:root PATH) or C(chmod go-w PATH). Paths that must exist and do not are reported too.
  - Changes nothing.
options:
  paths:
    description: The paths to check.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - An absolute path. For O(paths[].kind=program), a command name without C(/) is looked up in
            O(search_path).
        type: str
        required: true
      name:
        description: What the path is (the variable that names it, for example), for the message. Defaults to the path.
        type: str
      kind:
        description:
          - V(file) checks the path and everything on the way to it.
          - V(program) also checks the interpreter of its C(#!) line (for C(#!/usr/bin/env NAME), NAME in
            O(search_path) too) and, when it or its interpreter lies in a Python venv (a C(pyvenv.cfg) two levels
            up), everything in the venv.
          - V(tree) also checks everything under it (following symlinks, as Ansible does when it loads a collection).
          - V(inventory) is a V(tree) when the path is a directory; for a file, it checks the C(group_vars) and
            C(host_vars) directories beside it as trees.
          - V(created) is what the job creates (a lock file). Its directory must not let others create it first,
            even a sticky one. It need not exist.
        type: str
        choices: [file, program, tree, inventory, created]
        default: file
      required:
        description: Report the path when it does not exist.
        type: bool
        default: true
      secret:
        description: Warn when users other than its owner and group can read it (a vault password file).
        type: bool
        default: false
  trusted_users:
    description: The users, besides root, who may own and write the paths (for example the user the job runs as).
    type: list
    elements: str
    default: []
  search_path:
    description: The directories in which the job finds commands (its C(PATH)).
    type: list
    elements: str
    default: [/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin]
notes:
  - Run it as root (C(become)). A directory the check cannot read is reported as a problem, not skipped.
  - Files beyond what it is given are not looked at, such as the Python standard library of an interpreter or the
    paths an C(ansible.cfg) names.
  - At most 100,000 entries are examined in all trees together.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - tokenops.oauth2.attributes
attributes:
  check_mode:
    support: full
    details: It changes nothing.
  diff_mode:
    support: none
seealso:
  - module: tokenops.oauth2.schedule_plan
'''

EXAMPLES = r'''
- name: Refuse a root job whose files others can change
  tokenops.oauth2.trusted_paths:
    paths:
      - {name: the job's program, path: /opt/venv/bin/ansible-playbook, kind: program}
      - {name: the inventory, path: /srv/ansible/inventory, kind: inventory}
      - {name: the vault password file, path: /etc/tokenops/vault-pass, secret: true}
      - {name: the lock file, path: /var/lib/tokenops-oauth2/rotate.lock, kind: created}
    trusted_users: [rotator]
  become: true
'''

RETURN = r'''
findings:
  description: Each entry others could change.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The O(paths[].name) of the path that led to it.
      type: str
    path:
      description: The entry at fault (the path, a directory on the way, a symlink, a file of a tree, an interpreter).
      type: str
    problem:
      description: What is wrong, such as C(/srv/inventory is owned by bob (uid 1001), not by root).
      type: str
    fix:
      description: What fixes it, such as C(chown root:root /srv/inventory).
      type: str
missing:
  description: The required paths that do not exist.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The O(paths[].name).
      type: str
    path:
      description: The path.
      type: str
entries:
  description: How many entries of trees were examined.
  returned: always
  type: int
'''

import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.path_trust import KINDS, PathTrust

SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='str', required=True),
                name=dict(type='str'),
                kind=dict(type='str', choices=list(KINDS), default='file'),
                required=dict(type='bool', default=True),
                secret=dict(type='bool', default=False),
            )),
            trusted_users=dict(type='list', elements='str', default=[]),
            search_path=dict(type='list', elements='str', default=SEARCH_PATH),
        ),
        supports_check_mode=True,
    )
    names = ['root'] + [name for name in module.params['trusted_users'] if name != 'root']
    uids = []
    for name in names:
        try:
            uids.append(pwd.getpwnam(name).pw_uid)
        except KeyError:
            module.fail_json(msg='trusted_users: there is no user named %s on this host' % name)
    trust = PathTrust(uids, module.params['search_path'], trusted_names=names)
    for entry in module.params['paths']:
        if '\0' in entry['path']:
            module.fail_json(msg='paths: %s holds a NUL byte' % (entry['name'] or 'a path'))
        trust.check(entry['name'] or entry['path'], entry['path'], kind=entry['kind'], required=entry['required'],
                    secret=entry['secret'])
    for name, path, mode in trust.readable_secrets:
        module.warn('%s: %s can be read by users other than its owner and group (mode %s); chmod o-rwx it.'
                    % (name, path, mode))
    result = dict(changed=False, entries=trust.entries, findings=[finding._asdict() for finding in trust.findings],
                  missing=[dict(name=name, path=path) for name, path in trust.missing])
    refusal = trust.refusal()
    if refusal:
        module.fail_json(msg=refusal, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
