# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.path_trust on real files (the tests run as root and give files to a uid nobody is trusted with):
what another user could change through the path, a directory on the way, a symlink, a tree, an interpreter or a venv.

tests/integration/test_schedule.py plants such files as a real unprivileged user and runs the schedule role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.path_trust import PathTrust

OTHER = 54321  # a uid without a user: owning a file does not need one
RUN_USER = 54322


def make(path, text='', mode=0o644, uid=0):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'w') as handle:
        handle.write(text)
    os.chmod(str(path), mode)
    os.chown(str(path), uid, 0)
    return str(path)


def directory(path, mode=0o755, uid=0):
    os.makedirs(str(path), exist_ok=True)
    os.chmod(str(path), mode)
    os.chown(str(path), uid, 0)
    return str(path)


def problems(kind, path, trusted=(0,), **options):
    trust = PathTrust(trusted, ['/usr/bin', '/bin'], trusted_names=['root', 'rotator'][:len(trusted)])
    trust.check('NAME', path, kind=kind, **options)
    return [(finding.problem, finding.fix) for finding in trust.findings], trust


def test_a_root_file_root_can_change_only_is_fine(tmp_path):
    assert problems('file', make(tmp_path / 'inventory.ini'))[0] == []


@pytest.mark.parametrize('mode, who', [(0o666, 'every user'), (0o646, 'every user'), (0o664, 'its group'),
                                       (0o2775, 'its group')])
def test_a_file_others_may_write(tmp_path, mode, who):
    path = make(tmp_path / 'f', mode=mode) if mode < 0o1000 else directory(tmp_path / 'd', mode=mode)
    assert problems('file', path)[0] == [('%s can be written by %s (mode %04o)' % (path, who, mode),
                                          'chmod go-w %s' % path)]


def test_a_file_another_user_owns(tmp_path):
    path = make(tmp_path / 'f', uid=OTHER)
    assert problems('file', path)[0] == [('%s is owned by uid %d, a user that does not exist, not by root' % (path, OTHER),
                                          'chown root:root %s' % path)]


def test_the_run_user_is_trusted(tmp_path):
    path = make(tmp_path / 'f', uid=RUN_USER)
    assert problems('file', path, trusted=(0, RUN_USER))[0] == []
    assert 'not by root or rotator' in problems('file', make(tmp_path / 'g', uid=OTHER), trusted=(0, RUN_USER))[0][0][0]


def test_a_root_file_in_a_directory_another_user_owns_or_may_write(tmp_path):
    owned = directory(tmp_path / 'owned', uid=OTHER)
    path = make(tmp_path / 'owned' / 'sub' / 'f')
    found = problems('file', path)[0]
    assert found == [('%s is owned by uid %d, a user that does not exist, not by root, on the way to %s'
                      % (owned, OTHER, path), 'chown root:root %s' % owned)]
    open_dir = directory(tmp_path / 'open', mode=0o777)
    path = make(tmp_path / 'open' / 'f')
    assert problems('file', path)[0] == [('%s can be written by every user (mode 0777), on the way to %s'
                                          % (open_dir, path), 'chmod go-w %s' % open_dir)]


def test_a_sticky_directory_on_the_way_is_fine_but_not_what_it_holds_nor_as_a_tree(tmp_path):
    sticky = directory(tmp_path / 'tmp', mode=0o1777)
    assert problems('file', make(tmp_path / 'tmp' / 'mine'))[0] == []
    assert problems('file', make(tmp_path / 'tmp' / 'theirs', uid=OTHER))[0][0][1] == 'chown root:root %s/theirs' % sticky
    assert problems('tree', sticky)[0][0][0] == '%s can be written by every user (mode 1777)' % sticky


def test_symlinks_are_followed_and_their_owner_judged(tmp_path):
    target = make(tmp_path / 'real' / 'f')
    os.symlink(target, str(tmp_path / 'link'))
    assert problems('file', str(tmp_path / 'link'))[0] == []
    os.lchown(str(tmp_path / 'link'), OTHER, 0)
    assert problems('file', str(tmp_path / 'link'))[0] == [
        ('%s/link is owned by uid %d, a user that does not exist, not by root' % (tmp_path, OTHER),
         'rm %s/link' % tmp_path)]
    # A relative link into a directory another user may write: the target's directory counts.
    open_dir = directory(tmp_path / 'open', mode=0o777)
    make(tmp_path / 'open' / 'g')
    os.symlink('open/g', str(tmp_path / 'rel'))
    found, trust = problems('file', str(tmp_path / 'rel'))
    assert found == [('%s can be written by every user (mode 0777), on the way to %s/rel' % (open_dir, tmp_path),
                      'chmod go-w %s' % open_dir)]


def test_a_symlink_loop_is_reported_not_followed_forever(tmp_path):
    os.symlink('b', str(tmp_path / 'a'))
    os.symlink('a', str(tmp_path / 'b'))
    found, trust = problems('file', str(tmp_path / 'a'))
    assert 'symlinks on the way' in found[0][0] and trust.missing == []


def test_missing_paths(tmp_path):
    found, trust = problems('file', str(tmp_path / 'nope' / 'f'))
    assert found == [] and trust.missing == [('NAME', str(tmp_path / 'nope' / 'f'))]
    found, trust = problems('tree', str(tmp_path / 'nope'), required=False)
    assert found == [] and trust.missing == []
    assert 'NAME: %s/nope/f: not found on this host.' % tmp_path in problems('file', str(tmp_path / 'nope/f'))[1].refusal()


def test_a_tree_is_checked_all_the_way_down_through_symlinks(tmp_path):
    root = directory(tmp_path / 'collections')
    deep = make(tmp_path / 'collections' / 'ansible_collections' / 'ns' / 'c' / 'plugins' / 'x.py', uid=OTHER)
    elsewhere = directory(tmp_path / 'elsewhere')
    hook = make(tmp_path / 'elsewhere' / 'hook.py', mode=0o664)
    os.symlink(elsewhere, os.path.join(root, 'ansible_collections', 'ns', 'linked'))
    os.symlink(str(tmp_path / 'gone'), os.path.join(root, 'dangling'))  # loads nothing: fine
    found, trust = problems('tree', root)
    assert sorted(fix for problem, fix in found) == ['chmod go-w %s' % hook, 'chown root:root %s' % deep]
    assert trust.entries == 8


def test_an_inventory_file_brings_the_vars_directories_beside_it(tmp_path):
    inventory = make(tmp_path / 'inv' / 'hosts.ini')
    planted = make(tmp_path / 'inv' / 'group_vars' / 'all.yml', uid=OTHER)
    make(tmp_path / 'inv' / 'unrelated.txt', uid=OTHER)  # not read by ansible for a file inventory
    assert [fix for problem, fix in problems('inventory', inventory)[0]] == ['chown root:root %s' % planted]
    assert len(problems('inventory', str(tmp_path / 'inv'))[0]) == 2  # a directory inventory: everything in it


def test_a_program_brings_its_interpreter_and_venv(tmp_path):
    venv = directory(tmp_path / 'venv')
    make(tmp_path / 'venv' / 'pyvenv.cfg')
    interpreter = make(tmp_path / 'venv' / 'bin' / 'python', '#!/bin/sh\n', mode=0o775)
    library = make(tmp_path / 'venv' / 'lib' / 'site.py', uid=OTHER)
    script = make(tmp_path / 'venv' / 'bin' / 'ansible-playbook', '#!%s -E\n' % interpreter, mode=0o755)
    fixes = sorted(fix for problem, fix in problems('program', script)[0])
    assert fixes == ['chmod go-w %s' % interpreter, 'chown root:root %s' % library] and os.path.isdir(venv)
    # Outside a venv, the interpreter alone; #!/usr/bin/env NAME finds NAME in the search path.
    other = directory(tmp_path / 'bin2', mode=0o777)
    tool = make(tmp_path / 'bin2' / 'tool', '#!/bin/sh\n', mode=0o755)
    trust = PathTrust([0], [other, '/usr/bin'])
    trust.check('NAME', make(tmp_path / 'script', '#!/usr/bin/env -S tool --flag\n', mode=0o755), kind='program')
    assert [finding.fix for finding in trust.findings] == ['chmod go-w %s' % other] and tool


def test_a_command_name_is_found_in_the_search_path(tmp_path):
    trust = PathTrust([0], ['/usr/bin'])
    trust.check('NAME', 'env', kind='program')
    trust.check('NAME', 'no-such-command-here', kind='program')
    trust.check('NAME', 'relative/path')
    assert [finding.problem for finding in trust.findings] == [
        'no-such-command-here is not found in the PATH /usr/bin', 'relative/path is not an absolute path']


def test_what_the_job_creates_needs_a_directory_only_trusted_users_may_write(tmp_path):
    run_lock = directory(tmp_path / 'lock', mode=0o1777)
    lock = os.path.join(run_lock, 'rotate.lock')
    expected = ('%s can be written by every user (mode 1777), so another user can create %s first' % (run_lock, lock),
                'use a path in a directory only root can write')
    assert problems('created', lock)[0] == [expected]
    make(lock)  # there now, but gone after a reboot
    assert problems('created', lock)[0] == [expected]
    assert problems('created', os.path.join(run_lock, 'missing', 'x.lock'))[0] == [
        (expected[0].replace(lock, os.path.join(run_lock, 'missing', 'x.lock')), expected[1])]
    assert problems('created', str(tmp_path / 'private' / 'x.lock'))[0] == []  # created by the role, root's


def test_secrets_others_can_read(tmp_path):
    found, trust = problems('file', make(tmp_path / 'vault-pass', mode=0o644), secret=True)
    assert found == [] and trust.readable_secrets == [('NAME', str(tmp_path / 'vault-pass'), '0644')]
    assert problems('file', make(tmp_path / 'private', mode=0o640), secret=True)[1].readable_secrets == []


def test_the_refusal_names_each_path_its_problem_and_fix(tmp_path):
    trust = PathTrust([0, RUN_USER], trusted_names=['root', 'rotator'])
    for index in range(25):
        trust.check('oauth2_schedule_inventory', make(tmp_path / ('f%02d' % index), mode=0o666))
    trust.check('oauth2_schedule_vault_ids', str(tmp_path / 'missing'))
    message = trust.refusal()
    assert message.startswith('oauth2_schedule_vault_ids: %s/missing: not found on this host. Users other than root '
                              'and rotator can change what these paths name' % tmp_path)
    assert 'oauth2_schedule_inventory: %s/f00 can be written by every user (mode 0666); fix: chmod go-w %s/f00.' % (
        tmp_path, tmp_path) in message
    assert message.endswith('(and 5 more)')
    assert PathTrust([0]).refusal() is None
