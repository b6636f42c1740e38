# -*- coding: utf-8 -*-
"""Another local user for the tests whose threat is a user other than root (tests run as root).

    user = consumer_account()            # pwd entry of an unprivileged system user, created once per machine
    as_user(user, ['ln', '-s', target, link])
    proc = as_user(user, [sys.executable, '-c', code], wait=False)

The user is a system account without a home or a login shell. It stays after the tests (several test processes may
use it at once; creating and deleting it each time would race on /etc/passwd). Its directories must be reachable:
pytest's tmp_path is under 0700 root directories, so tests give it directories from ``shared_dir()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import shutil
import subprocess
import tempfile

CONSUMER = 'tokenops-consumer'


def consumer_account():
    """The pwd entry of the unprivileged account standing for a consumer's service account."""
    try:
        return pwd.getpwnam(CONSUMER)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent',
                        '--shell', '/usr/sbin/nologin', CONSUMER], check=False, capture_output=True)
        return pwd.getpwnam(CONSUMER)  # created now, or by a test process racing this one


def as_user(user, argv, wait=True, **kwargs):
    """Run ARGV as USER (uid, gid, no supplementary groups); return the CompletedProcess, or the Popen if not WAIT."""
    command = ['setpriv', '--reuid=%d' % user.pw_uid, '--regid=%d' % user.pw_gid, '--clear-groups', '--'] + list(argv)
    if not wait:
        return subprocess.Popen(command, **kwargs)
    kwargs.setdefault('capture_output', True)
    return subprocess.run(command, check=True, **kwargs)


def shared_dir():
    """A fresh directory under /tmp that every user can traverse (0711, owned by root); removed by the caller."""
    path = tempfile.mkdtemp(prefix='tokenops-users-', dir='/tmp')
    os.chmod(path, 0o711)
    return path


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
