# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test suite only: write every failed task result (loop items one by one) as a JSON line to a file in the directory
named by TOKENOPS_TEST_FAILURE_DIR, for tests/integration/failure_check.py to judge. Enabled by the suite's
ansible_env(); never shipped as a plugin of the collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: tokenops_failure_record
type: aggregate
short_description: Record failed results for the test suite
description:
  - Writes the message, exception and module output of every failed result to a file, for the test suite.
'''

import json
import os

from ansible.plugins.callback import CallbackBase

KEPT = ('msg', 'exception', 'module_stderr', 'module_stdout', 'rc')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'tokenops_failure_record'
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result):
        directory = os.environ.get('TOKENOPS_TEST_FAILURE_DIR')
        if not directory:
            return
        data = result._result
        record = dict(task=result._task.get_name(), action=result._task.action, host=result._host.get_name(),
                      result=dict((key, data[key]) for key in KEPT if key in data))
        path = os.path.join(directory, 'failures-%d.jsonl' % os.getpid())
        with open(path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if 'results' not in result._result:  # a loop: its failed items were recorded one by one
            self._record(result)

    def v2_runner_item_on_failed(self, result):
        self._record(result)
