# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Another user of the machine, for the threats that come from one: a real unprivileged account (the tests run as
root), a directory under /tmp it can reach (pytest's own are 0700 root), and a way to run things as it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections import namedtuple

Intruder = namedtuple('Intruder', 'name uid gid home base')


@contextlib.contextmanager
def local_intruder():
    """A new unprivileged user, removed (with its home and its directory) at the end."""
    name = 'tkops-%s' % uuid.uuid4().hex[:8]
    subprocess.run(['useradd', '--create-home', '--shell', '/usr/sbin/nologin', name], check=True)
    base = tempfile.mkdtemp(prefix='tokenops-intruder-')
    os.chmod(base, 0o755)
    entry = pwd.getpwnam(name)
    try:
        yield Intruder(name, entry.pw_uid, entry.pw_gid, entry.pw_dir, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(['userdel', '--remove', name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def as_intruder(intruder, script):
    """Run a shell script as the intruder (no root, no supplementary groups); its standard output."""
    return subprocess.run(['setpriv', '--reuid=%d' % intruder.uid, '--regid=%d' % intruder.gid, '--clear-groups',
                           '/bin/sh', '-c', script], cwd=intruder.base, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout
