# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.env_file: run the module on the host as any module runs, but pipelined, so that
the values it writes (tokens) never sit in a module file on the host (plugin_utils.pipelining says why)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.pipelining import pipelined


class ActionModule(NormalAction):

    def run(self, tmp=None, task_vars=None):
        with pipelined(self, 'the values it writes'):
            return super(ActionModule, self).run(tmp, task_vars)
