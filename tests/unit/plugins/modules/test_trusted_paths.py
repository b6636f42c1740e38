# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trusted_paths module in-process: its verdict, warnings and arguments. The judgement itself is
tests/unit/plugins/module_utils/test_path_trust.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tokenops.oauth2.plugins.modules import trusted_paths


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            trusted_paths.main()
    return json.loads(capsys.readouterr().out)


def test_passes_what_only_root_can_change_and_warns_about_a_readable_secret(tmp_path, capsys, monkeypatch):
    # Where a module's warning ends up depends on the ansible-core version and on what else the process imported.
    warnings = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda module, text: warnings.append(text))
    secret = tmp_path / 'vault-pass'
    secret.write_text('pw\n')
    secret.chmod(0o644)
    result = run(capsys, paths=[dict(path=str(secret), name='the vault file', secret=True),
                                dict(path=str(tmp_path / 'gone'), required=False)])
    assert not result.get('failed') and result['findings'] == [] and result['missing'] == []
    assert warnings == ['the vault file: %s can be read by users other than its owner and group (mode 0644); '
                        'chmod o-rwx it.' % secret]


def test_fails_naming_each_path_its_problem_and_fix(tmp_path, capsys):
    writable = tmp_path / 'ansible-playbook'
    writable.write_text('#!/bin/sh\n')
    writable.chmod(0o777)
    result = run(capsys, paths=[dict(path=str(writable), name='oauth2_schedule_ansible_playbook', kind='program'),
                                dict(path=str(tmp_path / 'inventory'), name='oauth2_schedule_inventory')],
                 trusted_users=['root', 'nobody'])
    assert result['failed'] and result['missing'] == [dict(name='oauth2_schedule_inventory',
                                                           path=str(tmp_path / 'inventory'))]
    assert result['msg'] == (
        'oauth2_schedule_inventory: %s/inventory: not found on this host. Users other than root and nobody can '
        'change what these paths name, and so what runs with them: oauth2_schedule_ansible_playbook: %s can be '
        'written by every user (mode 0777); fix: chmod go-w %s.' % (tmp_path, writable, writable))
    assert os.path.exists(str(writable))


def test_refuses_an_unknown_trusted_user_and_a_nul_byte(tmp_path, capsys):
    result = run(capsys, paths=[dict(path=str(tmp_path))], trusted_users=['no-such-user-here'])
    assert result['failed'] and result['msg'] == 'trusted_users: there is no user named no-such-user-here on this host'
    result = run(capsys, paths=[dict(path='/tmp/a\x00b', name='oauth2_schedule_inventory')])
    assert result['failed'] and result['msg'] == 'paths: oauth2_schedule_inventory holds a NUL byte'
