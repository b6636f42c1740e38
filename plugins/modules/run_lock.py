#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# tokenops.oauth2.run_lock is an action plugin (plugins/action/run_lock.py) that runs on the controller. This file
# documents it; its main() only builds the module from the action plugin's spec (module_utils.argspecs), for
# validate-modules to check the documentation against it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: run_lock
short_description: Let one ansible-playbook run at a time past this point
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - Takes a lock file on the controller for the rest of the playbook run (it records the pid of the
    C(ansible-playbook) process, not of the task), so that two runs of, say, the rotate playbook never interleave.
  - A lock left by a run that died is stale and taken over.
  - This is an action plugin that runs on the controller; this file only documents it.
options:
  path:
    description: The lock file on the controller (not a directory). Missing parent directories are created.
    type: path
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it if this run holds it.
    type: str
    default: present
    choices: [present, absent]
  wait:
    description: Seconds to wait for another run to finish before failing; V(0) fails at once. At most V(86400).
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: One rotation at a time
  tokenops.oauth2.run_lock:
    path: "{{ lookup('env', 'HOME') }}/.cache/tokenops-oauth2/rotate.lock"
  run_once: true
'''

RETURN = r'''
path:
  description: The lock file.
  returned: always
  type: str
pid:
  description: The pid of the ansible-playbook run that now holds the lock.
  returned: when the lock was taken
  type: int
holder:
  description: The pid of the run that holds the lock, when this run could not take it.
  returned: failure
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import RUN_LOCK_OPTIONS, controller_only


def main():
    module = AnsibleModule(argument_spec=RUN_LOCK_OPTIONS, supports_check_mode=True)
    controller_only(module, 'tokenops.oauth2.run_lock')


if __name__ == '__main__':
    main()
