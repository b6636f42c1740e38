# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vault_vars action plugin's checks of O(path), in-process; writing with the run's vault secrets is proven end to
end by tests/integration/test_vault_vars.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest
from ansible.playbook.task import Task

from ansible_collections.tokenops.oauth2.plugins.action.vault_vars import ActionModule

from ..bad_paths import bad_paths

SECRET = 'secret-value-0123'


@pytest.mark.parametrize('path, msg', bad_paths('.yml'))
def test_refuses_what_is_not_a_file_path(path, msg):
    task = Task()
    task.args = dict(path=path, values=dict(token_var=SECRET))
    loader = mock.MagicMock()  # never reached: the path is checked first
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=loader, templar=None, shared_loader_obj=None)
    result = action.run(task_vars={})
    assert result['failed'] is True and result['msg'] == msg
    assert not loader.mock_calls
