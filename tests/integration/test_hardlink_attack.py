# -*- coding: utf-8 -*-
"""Issue 12, the review after the ten findings: root delivers a token into a directory a consumer's service account
owns, and the account has made the env file's name a hard link to a root-only file (through real ansible-playbook
runs, with the real unprivileged account of ``local_users``).

env_file reads the existing file to keep the lines it does not own, then writes the result owned by the consumer:
a destination that is a hard link to another file would hand that file's content to the consumer. The kernel
refuses the consumer such a link when ``fs.protected_hardlinks`` is 1 (systemd's default); the kernel's own default
is 0, and then the consumer can link any file on the same file system. The writer must not rely on the setting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from local_users import as_user, remove_tree, shared_dir
from test_symlink_attack import ROOT_ONLY, TOKEN, Site, env_args


@pytest.fixture
def site():
    base = shared_dir()
    yield Site(base)
    remove_tree(base)


def protected_hardlinks():
    with open('/proc/sys/fs/protected_hardlinks') as handle:
        return handle.read().strip() == '1'


def test_the_kernel_refuses_the_consumer_a_hard_link_to_a_root_only_file_where_protected(site):
    if not protected_hardlinks():
        pytest.skip('fs.protected_hardlinks is 0 here: the next test covers what the consumer can then do')
    link = os.path.join(site.consumer_dir, 'token.env')
    with pytest.raises(subprocess.CalledProcessError):
        as_user(site.user, ['ln', site.root_file, link])
    assert not os.path.exists(link)


def test_env_file_refuses_a_destination_with_another_name_and_hands_nothing_over(site):
    """Where fs.protected_hardlinks is 0 the consumer can make this link itself; root makes it here on its behalf,
    so that the test does not change a setting of the whole machine."""
    link = os.path.join(site.consumer_dir, 'token.env')
    os.link(site.root_file, link)
    out = site.write(*env_args(link, env_owner=site.user.pw_name), fails=True)
    assert '%s has 2 hard links' % link in out, out
    with open(link) as handle:
        assert handle.read() == ROOT_ONLY, 'the link is left as it was'
    site.assert_root_only_untouched()
    assert TOKEN not in out
    for name in os.listdir(site.consumer_dir):
        path = os.path.join(site.consumer_dir, name)
        if os.stat(path).st_uid == site.user.pw_uid:
            with open(path) as handle:
                assert ROOT_ONLY not in handle.read(), 'the root-only content was handed to the consumer in ' + name


@pytest.mark.parametrize('mode', [0o1777, 0o777])
def test_env_file_refuses_a_directory_every_user_may_write(site, mode):
    """Another local user creates the env file first in a directory like /tmp (sticky or not), with a line of its
    own (LD_PRELOAD for the consumer's service): root kept that user as the owner (so it read the token) and kept
    the line. Such a directory is refused; the planted file is left as it was."""
    directory = os.path.join(site.base, 'shared')
    os.mkdir(directory)
    os.chmod(directory, mode)
    path = os.path.join(directory, 'app.env')
    as_user(site.user, ['sh', '-c', 'umask 077; echo LD_PRELOAD=/tmp/evil.so > "$0"', path])
    out = site.write(*env_args(path), fails=True)
    assert '%s is in a directory every user may write' % path in out, out
    with open(path) as handle:
        assert handle.read() == 'LD_PRELOAD=/tmp/evil.so\n', 'the planted file is left as it was'
    assert TOKEN not in out
