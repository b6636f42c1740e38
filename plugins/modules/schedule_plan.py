#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# tokenops.oauth2.schedule_plan is an action plugin (plugins/action/schedule_plan.py) that runs on the controller.
# This file documents it; its main() only builds the module from the action plugin's spec (module_utils.argspecs),
# for validate-modules to check the documentation against it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: schedule_plan
short_description: Check the variables of the schedule role and work out what it installs
version_added: 1.0.0
description:
  - The first steps of the P(tokenops.oauth2.schedule#role) role, as one task each; a playbook has no reason to call
    it otherwise.
  - Reads the role's C(oauth2_schedule_*) variables from the task's variables (templated, as
    M(ansible.builtin.validate_argument_spec) does) and checks what the role's argument spec cannot say, reporting
    every problem at once, each naming its variable. The C(oauth2_deliveries) of every host of the inventory give the
    profiles whose token lifetimes bound the interval and the directories the run writes on this machine.
  - Without O(home), only the inputs are checked (the role does this before it asks the host anything). With it, the
    plan is worked out as well; it returns the files to install and the paths for M(tokenops.oauth2.trusted_paths).
  - This is an action plugin that runs on the controller; this file only documents it.
author: tokenops engineers (@tokenops)
options:
  home:
    description: The home directory of C(oauth2_schedule_user) on the host. Unset, only the inputs are checked.
    type: str
  systemd_runs_host:
    description: Whether systemd runs the host; chooses the backend when C(oauth2_schedule_backend=auto).
    type: bool
    default: false
  probed_lifetimes:
    description: Profile name -> C(expires_in) of a token just obtained, for profiles without a given lifetime.
    type: dict
    default: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
attributes:
  check_mode:
    support: full
    details: It changes nothing.
  diff_mode:
    support: none
seealso:
  - module: tokenops.oauth2.trusted_paths
'''

EXAMPLES = r'''
- name: Check the inputs
  tokenops.oauth2.schedule_plan:
  register: schedule_inputs

- name: Work out the schedule
  tokenops.oauth2.schedule_plan:
    home: /root
    systemd_runs_host: true
  register: schedule_plan
'''

RETURN = r'''
profiles:
  description: The profiles whose token lifetimes bound the interval.
  returned: success
  type: list
  elements: str
unknown_lifetimes:
  description: The profiles among O(ignore:profiles) without a lifetime in C(oauth2_schedule_token_lifetimes).
  returned: success
  type: list
  elements: str
result:
  description: What the role reports as C(oauth2_schedule_result).
  returned: with O(home), or when C(oauth2_schedule_state=absent)
  type: dict
backend:
  description: V(systemd) or V(cron).
  returned: with O(home)
  type: str
interval:
  description: Seconds between runs as asked (or derived from the lifetimes); null when nothing tells it.
  returned: with O(home)
  type: int
effective_interval:
  description: Seconds between runs as they will come (cron rounds the interval down to a step it can express).
  returned: with O(home)
  type: int
randomized_delay:
  description: Each run starts up to this many seconds late.
  returned: with O(home)
  type: int
schedule_warnings:
  description: Runs that would come later than a token lives, a cron step other than asked, a probe without lifetime.
  returned: with O(home)
  type: list
  elements: str
command:
  description: The C(ansible-playbook) command of a run, paths only.
  returned: with O(home)
  type: list
  elements: str
lock:
  description: The C(flock) lock file of the run.
  returned: with O(home)
  type: str
lock_directory:
  description: The directory the role creates for the default lock file of a run as root; null otherwise.
  returned: with O(home)
  type: str
files:
  description: The text of the units (C(service), C(timer)) or of the cron file (C(cron)), without the first line.
  returned: with O(home)
  type: dict
paths_to_trust:
  description: The paths the run executes, reads or creates, as O(tokenops.oauth2.trusted_paths#module:paths) takes them.
  returned: with O(home)
  type: list
  elements: dict
search_path:
  description: The directories in which the run finds a command (its C(PATH)).
  returned: with O(home)
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import SCHEDULE_PLAN_OPTIONS, controller_only


def main():
    module = AnsibleModule(argument_spec=SCHEDULE_PLAN_OPTIONS, supports_check_mode=True)
    controller_only(module, 'tokenops.oauth2.schedule_plan')


if __name__ == '__main__':
    main()
