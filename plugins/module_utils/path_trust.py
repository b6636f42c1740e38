# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who, besides the users trusted with a path, could change what it names; for tokenops.oauth2.trusted_paths.

A job that runs as root executes and reads files: whoever can change one of them can run code as root. A path is as
trustworthy as everything the kernel goes through to reach it: each directory from / down (a root-owned inventory
inside a directory another user owns can be replaced by that user), each symlink followed, and what it ends at. So
each of them must be owned by a trusted user (root always) and writable by no one else.

A sticky directory (/tmp, mode 1777) is the one exception on the way: others can create entries in it but cannot
replace or remove one they do not own. It is no exception for what the job creates itself (a lock file): another
user can create that first, after every reboot if the directory is a tmpfs. And a directory whose contents are used
(a tree: an inventory, a collections path, a venv) must not accept new files from others, sticky or not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import pwd
import stat
from collections import namedtuple

KINDS = ('file', 'program', 'tree', 'inventory', 'created')
# The directories Ansible loads variables from beside an inventory file.
INVENTORY_VARS_DIRS = ('group_vars', 'host_vars')
MAX_LINKS = 40  # as the kernel (ELOOP)
MAX_ENTRIES = 100000  # files examined in all trees: more is a mistake (an inventory of /), and slow
MAX_INTERPRETERS = 4  # a #! line naming a script naming a script ...
OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH

Finding = namedtuple('Finding', 'name path problem fix')


def _split(path):
    return [part for part in path.split('/') if part not in ('', '.')]


def interpreter_line(path):
    """The words of the #! line of the file PATH (a script), or [] (a binary, or no #! line)."""
    with open(path, 'rb') as handle:
        head = handle.read(256)
    if not head.startswith(b'#!'):
        return []
    return head[2:].split(b'\n', 1)[0].decode('utf-8', 'replace').split()


class PathTrust(object):
    """Checks paths (``check``) against the users trusted with them; collects what is wrong.

    ``findings``: Finding(name, path, problem, fix) for each entry others could change; ``missing``: (name, path) of
    each required path that does not exist; ``readable_secrets``: (name, path, mode) of secrets others can read.
    """

    def __init__(self, trusted_uids, search_path=(), trusted_names=('root',)):
        self.trusted = set(trusted_uids) | set([0])
        self.search_path = list(search_path)
        self.trusted_names = list(trusted_names)
        self.findings = []
        self.missing = []
        self.readable_secrets = []
        self.entries = 0
        self._reported = set()
        self._walked = set()

    # --- what to check --------------------------------------------------------------------------------------------
    def check(self, name, path, kind='file', required=True, secret=False, depth=0):
        """Check PATH (what NAME, the variable or purpose, names) as KIND:

        file: the path and everything on the way to it; program: also the interpreter of its #! line and the venv it
        or its interpreter belongs to; tree: also everything under it; inventory: a tree, or a file and the
        group_vars and host_vars beside it; created: the job creates it, so its directory must not let others
        create it first.
        """
        if not os.path.isabs(path):
            found = self._command(path) if kind == 'program' and '/' not in path else None
            if found is None:
                self._report(name, path, 'is not an absolute path' if '/' in path or kind != 'program'
                             else 'is not found in the PATH %s' % ':'.join(self.search_path),
                             'give the absolute path of what it names')
                return
            path = found
        end, info = self._follow(name, path)
        if end is None:
            return  # reported: a symlink loop, or what cannot be checked
        if kind == 'created':
            # Where it will be created: the directory named (the last symlink's, if it is one), and where it ends.
            parent = self._follow(name, os.path.dirname(path))[0]
            for directory in set([parent, end if info is None else os.path.dirname(end)]) - set([None]):
                self._judge_creator(name, directory, path)
        if info is None:
            if required and kind != 'created':
                self.missing.append((name, path))
            return
        self._judge(name, end, info)
        if secret and info.st_mode & stat.S_IROTH:
            self.readable_secrets.append((name, path, '%04o' % stat.S_IMODE(info.st_mode)))
        if kind in ('tree', 'inventory') and stat.S_ISDIR(info.st_mode):
            self._walk(name, end)
        elif kind == 'inventory':
            for directory in sorted(set([os.path.dirname(path), os.path.dirname(end)])):
                for sub in INVENTORY_VARS_DIRS:
                    self.check(name, os.path.join(directory, sub), kind='tree', required=False)
        elif kind == 'program' and stat.S_ISREG(info.st_mode) and depth < MAX_INTERPRETERS:
            self._program(name, path, end, depth)

    def _program(self, name, path, end, depth):
        """The interpreter of a script (#!/usr/bin/python3, #!/usr/bin/env python3), and a venv on the way."""
        for candidate in (path, end):
            venv = os.path.dirname(os.path.dirname(candidate))
            if os.path.isfile(os.path.join(venv, 'pyvenv.cfg')):  # the code it imports is the venv's
                self.check(name, venv, kind='tree', depth=depth + 1)
        try:
            words = interpreter_line(end)
        except (IOError, OSError) as exc:
            self._cannot(name, end, exc)
            return
        if not words:
            return
        self.check(name, words[0], kind='program', depth=depth + 1)
        if os.path.basename(words[0]) == 'env':
            commands = [word for word in words[1:] if not word.startswith('-') and '=' not in word]
            if commands:
                self.check(name, commands[0], kind='program', depth=depth + 1)

    def _command(self, command):
        for directory in self.search_path:
            candidate = os.path.join(directory, command)
            if os.path.isabs(candidate) and os.path.exists(candidate):
                return candidate
        return None

    # --- walking --------------------------------------------------------------------------------------------------
    def _follow(self, name, path):
        """Resolve PATH from / as the kernel does, judging each directory passed through and each symlink followed.
        Returns (its real path, its lstat), (the deepest existing real directory, None) when it does not exist, or
        (None, None) when it cannot be resolved (reported)."""
        parts = _split(path)
        current = '/'
        links = 0
        if parts:
            self._judge_lstat(name, '/', path, above=True)
        while parts:
            part = parts.pop(0)
            if part == '..':
                current = os.path.dirname(current)
                continue
            candidate = os.path.join(current, part)
            try:
                info = os.lstat(candidate)
            except (IOError, OSError) as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    return current, None
                self._cannot(name, candidate, exc)
                return None, None
            if stat.S_ISLNK(info.st_mode):
                links += 1
                if links > MAX_LINKS:
                    self._report(name, path, 'has more than %d symlinks on the way' % MAX_LINKS, 'resolve the loop')
                    return None, None
                self._judge(name, candidate, info, origin=path)
                target = os.readlink(candidate)
                if os.path.isabs(target):
                    current = '/'
                parts = _split(target) + parts
                continue
            current = candidate
            if parts:
                self._judge(name, candidate, info, origin=path, above=True)
        try:
            return current, os.lstat(current)
        except (IOError, OSError) as exc:  # the path ended with '..' out of a directory just removed
            self._cannot(name, current, exc)
            return None, None

    def _walk(self, name, top):
        """Judge everything under the directory TOP (a real path), following symlinks as ansible does."""
        if top in self._walked:
            return
        self._walked.add(top)
        pending = [top]
        while pending:
            directory = pending.pop()
            try:
                entries = sorted(os.listdir(directory))
            except (IOError, OSError) as exc:
                self._cannot(name, directory, exc)
                continue
            for entry in entries:
                path = os.path.join(directory, entry)
                self.entries += 1
                if self.entries > MAX_ENTRIES:
                    self._report(name, top, 'holds more than %d files and directories to check' % MAX_ENTRIES,
                                 'point it at a smaller tree')
                    return
                try:
                    info = os.lstat(path)
                except (IOError, OSError) as exc:
                    if exc.errno != errno.ENOENT:  # removed meanwhile: nothing to load
                        self._cannot(name, path, exc)
                    continue
                if stat.S_ISLNK(info.st_mode):
                    self._judge(name, path, info)
                    path, info = self._follow(name, path)
                    if info is None:
                        continue  # dangling: nothing to load
                if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
                    self._judge(name, path, info)
                if stat.S_ISDIR(info.st_mode) and path not in self._walked:
                    self._walked.add(path)
                    pending.append(path)

    # --- judging --------------------------------------------------------------------------------------------------
    def _judge_lstat(self, name, path, origin, above=False):
        try:
            self._judge(name, path, os.lstat(path), origin=origin, above=above)
        except (IOError, OSError) as exc:
            self._cannot(name, path, exc)

    def _judge(self, name, path, info, origin=None, above=False):
        """Report PATH if a user not trusted owns it or may write it. ABOVE: a directory on the way to ORIGIN."""
        on_the_way = ', on the way to %s' % origin if origin and origin != path else ''
        if info.st_uid not in self.trusted:
            fix = ('rm %s' if stat.S_ISLNK(info.st_mode) else 'chown root:root %s') % path
            self._report(name, path, 'is owned by %s, not by %s%s' % (
                _user(info.st_uid), ' or '.join(self.trusted_names), on_the_way), fix)
        if stat.S_ISLNK(info.st_mode):
            return  # a symlink's own mode means nothing
        if above and info.st_mode & stat.S_ISVTX:
            return  # others may add entries, not replace the one on the way (its owner is judged on its own)
        if info.st_mode & OTHERS_WRITE:
            self._report(name, path, 'can be written by %s (mode %04o)%s' % (
                _writers(info.st_mode), stat.S_IMODE(info.st_mode), on_the_way), 'chmod go-w %s' % path)

    def _judge_creator(self, name, directory, created):
        """What the job creates (CREATED) in DIRECTORY: nobody else may create it first, not even in a sticky one."""
        try:
            info = os.stat(directory)
        except (IOError, OSError) as exc:
            self._cannot(name, directory, exc)
            return
        if info.st_mode & OTHERS_WRITE and info.st_mode & stat.S_ISVTX:  # without sticky, _follow reported it
            self._report(name, directory, 'can be written by %s (mode %04o), so another user can create %s first' % (
                _writers(info.st_mode), stat.S_IMODE(info.st_mode), created),
                'use a path in a directory only %s can write' % ' or '.join(self.trusted_names))

    def _cannot(self, name, path, exc):
        self._report(name, path, 'cannot be checked (%s)' % (getattr(exc, 'strerror', None) or exc),
                     'run the check as root (become)')

    def _report(self, name, path, problem, fix):
        if (path, problem) not in self._reported:
            self._reported.add((path, problem))
            self.findings.append(Finding(name, path, '%s %s' % (path, problem), fix))

    # --- the verdict ----------------------------------------------------------------------------------------------
    def refusal(self, limit=20):
        """The message refusing what was found (missing paths, then findings), or None when all is well."""
        parts = []
        if self.missing:
            parts.append('%s: not found on this host.' % '; '.join('%s: %s' % item for item in self.missing))
        if self.findings:
            shown = ['%s: %s; fix: %s.' % (finding.name, finding.problem, finding.fix)
                     for finding in self.findings[:limit]]
            if len(self.findings) > limit:
                shown.append('(and %d more)' % (len(self.findings) - limit))
            parts.append('Users other than %s can change what these paths name, and so what runs with them: %s' % (
                ' and '.join(self.trusted_names), ' '.join(shown)))
        return ' '.join(parts) or None


def _writers(mode):
    return 'every user' if mode & stat.S_IWOTH else 'its group'


def _user(uid):
    try:
        return '%s (uid %d)' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d, a user that does not exist' % uid
