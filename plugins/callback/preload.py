# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: preload
type: aggregate
short_description: Load the token lookup once per run instead of once per host and task
version_added: 1.0.0
author: tokenops engineers (@tokenops)
description:
  - ansible-playbook forks a worker process for every host and task, and each worker loads the lookup plugins its task
    uses on its own. This callback loads the P(tokenops.oauth2.token#lookup) lookup, the token engine and the cache's
    cryptography once, in the main process of ansible-playbook at the start of the run, so that every worker forked
    after that inherits them, and a lookup served from the cache costs a worker little more than its own work.
  - Worth it for plays that call the lookup on many hosts. It loads code and documentation only, with throwaway key
    material for the cryptography; it reads no profile, variable or secret, and reports nothing.
  - Plays that use the M(tokenops.oauth2.token) module, the C(tokenops.oauth2.deliver) role or the
    C(tokenops.oauth2.rotate) playbook need no callback, because Ansible loads the action plugin of the module in its
    main process before forking, and that action plugin preloads the same.
  - Enable it with C(callbacks_enabled = tokenops.oauth2.preload) in the C([defaults]) section of C(ansible.cfg), or
    with the environment variable E(ANSIBLE_CALLBACKS_ENABLED).
requirements:
  - enabled in callbacks_enabled
'''

from ansible.plugins.callback import CallbackBase

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import prepare_for_forks


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'tokenops.oauth2.preload'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super(CallbackModule, self).__init__(display=display, options=options)
        # Callbacks are created in ansible-playbook's main process (and ansible's, for ad hoc commands) before any
        # worker is forked.
        prepare_for_forks()
