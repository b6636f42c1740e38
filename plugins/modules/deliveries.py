#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# tokenops.oauth2.deliveries is an action plugin (plugins/action/deliveries.py) that runs on the controller. This
# file documents it; its main() only builds the module from the action plugin's spec (validate-modules compares the
# two) and fails on a managed host.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: deliveries
short_description: Check the deliveries of the deliver role and summarize what it delivered
version_added: 1.0.0
description:
  - The steps of the P(tokenops.oauth2.deliver#role) role that decide, one task each; a playbook has no reason to
    call it otherwise. The rules are in C(plugins/plugin_utils/deliveries.py).
  - V(host), on each host, reads the host's C(oauth2_deliveries) (templated, as
    M(ansible.builtin.validate_argument_spec) does), fills in the defaults and checks what the role's argument spec
    cannot say. It never fails; the role registers its result as C(__oauth2_deliver_mine).
  - V(batch), once for the batch (C(run_once)), reports the problems of every host at once, naming host, delivery
    and field, before any token is requested. Otherwise it returns the profiles whose token is needed, the
    V(vault_vars) deliveries of all hosts (each once) and whether to renew every token now
    (C(oauth2_deliver_force)). C(oauth2_force), the older name of C(oauth2_deliver_force), is still read, with a
    deprecation warning.
  - V(summary), once for the batch, reads what the role's tasks registered on every host of the play and returns
    one entry per profile and the role's closing failure message.
  - This is an action plugin that runs on the controller; this file only documents it.
author: tokenops engineers (@tokenops)
options:
  step:
    description: Which step of the role.
    type: str
    required: true
    choices: [host, batch, summary]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - tokenops.oauth2.attributes
  - tokenops.oauth2.attributes.controller_action
attributes:
  check_mode:
    support: full
    details: It changes nothing; in check mode V(batch) never asks to renew every token.
  diff_mode:
    support: none
seealso:
  - module: tokenops.oauth2.token
  - module: tokenops.oauth2.env_file
  - module: tokenops.oauth2.vault_vars
'''

EXAMPLES = r'''
- name: Check this host's deliveries
  tokenops.oauth2.deliveries:
    step: host
  register: __oauth2_deliver_mine

- name: Check every host's deliveries
  tokenops.oauth2.deliveries:
    step: batch
  run_once: true
  register: __oauth2_deliver_batch
'''

RETURN = r'''
deliveries:
  description:
    - This host's deliveries with their defaults filled in; each has C(handlers), what a change of its file notifies,
      and C(counts_down), whether it writes a field that counts down.
  returned: step V(host)
  type: list
  elements: dict
env_files:
  description: The V(env_file) deliveries among RV(deliveries).
  returned: step V(host)
  type: list
  elements: dict
problems:
  description: What is wrong with this host's deliveries, one sentence each.
  returned: step V(host)
  type: list
  elements: str
profiles:
  description: The profiles whose token the batch needs, each once.
  returned: step V(batch), when no host has a problem
  type: list
  elements: str
vault_files:
  description: The V(vault_vars) deliveries of every host of the batch, each once.
  returned: step V(batch), when no host has a problem
  type: list
  elements: dict
force_refresh:
  description: Whether to renew every delivered token now.
  returned: step V(batch), when no host has a problem
  type: bool
summary:
  description:
    - One entry per profile, with the keys C(profile), C(status) (V(renewed), V(still valid) or V(failed)),
      C(reason), C(expires_at), C(destinations) and C(line). The role leaves it in C(oauth2_deliver_summary).
  returned: step V(summary)
  type: list
  elements: dict
failure:
  description: The role's closing failure message for the profiles that failed; empty when none did.
  returned: step V(summary)
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import DELIVERIES_OPTIONS, controller_only


def main():
    module = AnsibleModule(argument_spec=DELIVERIES_OPTIONS, supports_check_mode=True)
    controller_only(module, 'tokenops.oauth2.deliveries')


if __name__ == '__main__':
    main()
