# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer of every file the collection writes that may hold a secret: token cache entries, env files,
vault-encrypted vars files, waiting authorizations (and their backups).

Whoever can write the destination's directory (a consumer's service account owns the directory of its env file) can
rename, replace or symlink anything in it at any moment while root writes. So:

- The directory is reached by a walk that follows no symlink another user owns (``open_directory``), and everything
  after that is relative to the descriptor of that directory: nothing renamed or linked meanwhile can redirect the
  write to another directory.
- A symlink at the destination is refused (``UnsafePathError``), unless the caller resolved it on purpose
  (``follow=True``: the operator's explicit choice; the resolved path is then written the same way). So is a
  destination with several hard links: it may be another user's file (or root's) under a second name, whose content
  would be read and handed to the new file's owner. And so is a directory every user may write (``/tmp``): another
  user could have created the file first, and its owner and lines would be kept.
- The new content goes to a temporary file created in that directory with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600;
  owner, group, mode (and SELinux context) are set through its descriptor before the first byte; it is fsynced and
  renamed over the destination. A rename replaces whatever name is there (a file, or a link planted meanwhile); it
  never writes through it. Nothing is ever chmod-ed or chown-ed by path (chmod follows symlinks).
- Temporary files are named ``.NAME.<16 hex digits>.tmp`` and their writer holds an flock on them until the rename.
  One that nobody holds locked was left by a writer that died (a SIGKILLed run): it may hold part of a secret, and
  the next write of the same file removes it. PIDs are not used: they are reused, and the controller's writers are
  forks of one process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import fcntl
import grp
import os
import pwd
import re
import stat
import time

# How much of the file name a temporary file's name keeps: with the dot, the random part and .tmp it stays under
# the 255 bytes most file systems allow.
NAME_ROOM = 200
MAX_SYMLINKS = 40  # as the kernel's own path walk
SELINUX_XATTR = 'security.selinux'
# What a plugin with a ``follow`` option adds to an UnsafePathError about a symlink at the destination.
FOLLOW_HINT = ('remove it, or set follow: true to write the file it points to (only where no other user can change '
               'the link)')

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# O_PATH walks through directories we may search but not read (/home 0711), where the platform has it.
_WALK_FLAGS = getattr(os, 'O_PATH', os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW
# O_NONBLOCK: a FIFO planted under the name, or a lease its owner holds, must not hang the writer.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class DestinationError(OSError):
    """The destination cannot be written: its message names the path and why, and is the whole of str()."""

    def __str__(self):
        return '%s' % self.strerror


class UnsafePathError(DestinationError):
    """The destination cannot be written safely: a symlink (at the destination, or another user's on the way), a
    directory, or something else that is not a regular file."""

    def __init__(self, path, reason, symlink=False):
        super(UnsafePathError, self).__init__(errno.ELOOP if symlink else errno.EINVAL, '%s %s' % (path, reason))
        self.path = path
        self.symlink = symlink


def write_private_file(path, data, mode=0o600):
    """Write DATA to PATH atomically, with MODE from the first byte (see the module docstring)."""
    with PrivateFile(path) as target:
        target.write(data, mode=mode)


def user_id(owner):
    """The uid of OWNER (a user name or a number); ValueError naming it when there is no such user."""
    return _id_of(owner, lambda name: pwd.getpwnam(name).pw_uid, 'owner', 'user')


def group_id(group):
    """The gid of GROUP (a group name or a number); ValueError naming it when there is no such group."""
    return _id_of(group, lambda name: grp.getgrnam(name).gr_gid, 'group', 'group')


def _id_of(name, lookup, option, kind):
    try:
        return int(name)
    except ValueError:  # a name, as chown takes it
        try:
            return lookup(name)
        except KeyError:
            raise ValueError('%s %s: there is no such %s on this host' % (option, name, kind))


def open_directory(path):
    """A descriptor of the directory PATH, reached without following a symlink that a user other than root or this
    process's owns (such a link could point anywhere that user chose). Symlinks of root's or ours are followed, so
    /var/run -> /run and the like keep working. The caller closes it."""
    fd = os.open('/' if path.startswith('/') else '.', _WALK_FLAGS)
    pending = list(reversed(path.split('/')))
    walked = '/' if path.startswith('/') else ''
    followed = 0
    try:
        while pending:
            part = pending.pop()
            if part in ('', '.'):
                continue
            try:
                next_fd = os.open(part, _WALK_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(info.st_mode):
                    raise
                link = os.path.join(walked, part)
                if info.st_uid not in (0, os.geteuid()):
                    raise UnsafePathError(link, 'is a symbolic link owned by uid %d (neither root nor this user), '
                                                'which is not followed' % info.st_uid, symlink=True)
                followed += 1
                if followed > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, 'too many levels of symbolic links', path)
                target = os.readlink(part, dir_fd=fd)
                if target.startswith('/'):
                    os.close(fd)
                    fd = os.open('/', _WALK_FLAGS)
                    walked = '/'
                pending.extend(reversed(target.split('/')))
                continue
            os.close(fd)
            fd = next_fd
            walked = os.path.join(walked, part)
        # The directory itself must be readable: listed (stale temporaries), fsynced (the rename) and locked.
        directory_fd = os.open('.', _DIRECTORY_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
    return directory_fd


def refuse_shared_directory(dir_fd, path, what_others_could_do):
    """UnsafePathError when the directory DIR_FD (of PATH) is one every user may write, sticky or not."""
    mode = os.fstat(dir_fd).st_mode
    if mode & stat.S_IWOTH:
        raise UnsafePathError(path, 'is in a directory every user may write (mode %04o): another user %s; use a '
                                    'directory only its owner may write' % (stat.S_IMODE(mode), what_others_could_do))


class PrivateFile(object):
    """One destination file, for the length of a ``with`` block that holds a descriptor of its directory.

    ``existing`` is the stat of the file there (None when there is none). ``write`` keeps its owner, group, mode and
    SELinux context unless told otherwise, and gives a new file mode 0600.
    """

    def __init__(self, path, follow=False):
        self.requested = path
        # follow: resolve every symlink now (the operator trusts them), then write the result as any other path.
        self.path = os.path.realpath(path) if follow else path
        self.directory, self.name = os.path.split(self.path)
        self.existing = None
        self._existing_selinux = None
        self._dir_fd = None

    def __enter__(self):
        if not self.name:
            raise UnsafePathError(self.requested, 'names a directory, not a file')
        try:
            self._dir_fd = open_directory(self.directory or '.')
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise DestinationError(exc.errno, 'the directory of %s does not exist' % self.requested)
        try:
            # Another user may have made the file first (its owner and lines would be kept), or may replace ours.
            refuse_shared_directory(self._dir_fd, self.requested, 'could have created or could replace it')
            self.existing = self._check(os.stat(self.name, dir_fd=self._dir_fd, follow_symlinks=False))
        except FileNotFoundError:
            self.existing = None
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        os.close(self._dir_fd)  # also releases lock()
        self._dir_fd = None

    def _check(self, info):
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePathError(self.requested, 'is a symbolic link, which is not followed', symlink=True)
        if stat.S_ISDIR(info.st_mode):
            raise UnsafePathError(self.requested, 'is a directory, not a file')
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePathError(self.requested, 'is not a regular file')
        if info.st_nlink > 1:
            # Another name of another file (whoever can write the directory can link any file of the file system
            # where fs.protected_hardlinks is 0): its content would be read, kept and handed to the new owner.
            raise UnsafePathError(self.requested, 'has %d hard links: it may be another file under a second name; '
                                                  'remove this name and run again' % info.st_nlink)
        return info

    def lock(self):
        """One writer at a time in this directory (an flock on it) until the block ends: for read-modify-write."""
        fcntl.flock(self._dir_fd, fcntl.LOCK_EX)

    def read(self):
        """The file's bytes, or None when there is none. The file read is the one whose owner, group, mode and
        SELinux context ``write`` keeps."""
        try:
            fd = os.open(self.name, _READ_FLAGS, dir_fd=self._dir_fd)
        except FileNotFoundError:
            self.existing = None
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # replaced by a symlink since __enter__
                raise UnsafePathError(self.requested, 'is a symbolic link, which is not followed', symlink=True)
            raise
        try:
            self.existing = self._check(os.fstat(fd))
            self._existing_selinux = _selinux_of(fd)
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b''.join(chunks)
                chunks.append(chunk)
        finally:
            os.close(fd)

    def existing_selinux_context(self):
        """The SELinux context of the file read (a list of user, role, type, level), or None."""
        return self._existing_selinux and self._existing_selinux.split(':', 3)

    def attributes(self, mode=None, uid=None, gid=None):
        """(mode, uid, gid) the file gets from ``write`` with these arguments; None: the process's own."""
        kept = self.existing
        return (mode if mode is not None else stat.S_IMODE(kept.st_mode) if kept else 0o600,
                uid if uid is not None else kept.st_uid if kept else None,
                gid if gid is not None else kept.st_gid if kept else None)

    def attributes_differ(self, mode=None, uid=None, gid=None):
        """Whether the existing file's owner, group or mode differ from what ``write`` would give it."""
        if self.existing is None:
            return True
        wanted = self.attributes(mode, uid, gid)
        return wanted != (stat.S_IMODE(self.existing.st_mode), self.existing.st_uid, self.existing.st_gid)

    def write(self, data, mode=None, uid=None, gid=None, selinux_context=None, unsafe_writes=False):
        """Replace the file with DATA. MODE, UID, GID: as ``attributes`` says (a requested owner or group that
        cannot be given is an error; a kept one that cannot is let go, as atomic_move does). SELINUX_CONTEXT: a list
        of user, role, type, level whose None items keep the new file's own. UNSAFE_WRITES: when the rename is
        refused with EBUSY (a file bind-mounted into a container), write the file in place instead."""
        self._remove_stale_temporaries()
        self._replace(self.name, data, self.attributes(mode, uid, gid), (uid, gid), selinux_context, unsafe_writes)

    def backup(self):
        """Copy the existing file to NAME.PID.TIMESTAMP~ beside it (its bytes, owner, group, mode and SELinux
        context, private from the first byte like every write); return the copy's path."""
        data = self.read()
        name = '%s.%d.%s~' % (self.name, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S'))
        kept = self.attributes()
        self._replace(name, data, kept, (None, None), self.existing_selinux_context(), False)
        return os.path.join(self.directory, name)

    def _replace(self, name, data, attributes, requested_owner, selinux_context, unsafe_writes):
        mode, uid, gid = attributes
        fd, temporary = self._create_temporary()
        try:
            _give(fd, uid, gid, requested_owner)
            os.fchmod(fd, mode)  # after fchown, which may clear setuid bits
            if selinux_context:
                _set_selinux(fd, selinux_context)
            _write_all(fd, data)
            os.fsync(fd)
            try:
                os.rename(temporary, name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            except OSError as exc:
                if not (unsafe_writes and exc.errno == errno.EBUSY):
                    raise
                self._write_in_place(name, data, attributes, requested_owner)
                _unlink(temporary, self._dir_fd)
        except BaseException:
            _unlink(temporary, self._dir_fd)
            raise
        finally:
            os.close(fd)  # releases the temporary's flock, after the rename
        try:
            os.fsync(self._dir_fd)  # make the rename itself durable
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EBADF):  # file systems that cannot sync a directory
                raise

    def _write_in_place(self, name, data, attributes, requested_owner):
        """unsafe_writes: the destination cannot be renamed over (EBUSY); rewrite it through a descriptor."""
        mode, uid, gid = attributes
        fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._dir_fd)
        try:
            self._check(os.fstat(fd))
            _give(fd, uid, gid, requested_owner)
            os.fchmod(fd, mode)
            os.ftruncate(fd, 0)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _temporary_prefix(self):
        # Named after the destination, for its backups too: the cleaner of this file finds them all.
        return '.%s.' % self.name[:NAME_ROOM]

    def _create_temporary(self):
        """A new temporary file, 0600, locked by us; (descriptor, name)."""
        prefix = self._temporary_prefix()
        for _attempt in range(100):
            temporary = '%s%s.tmp' % (prefix, binascii.hexlify(os.urandom(8)).decode('ascii'))
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=self._dir_fd)
            except FileExistsError:
                continue
            # Between the creation and this lock, a cleaner may take the file for stale and remove it (it locks the
            # file before it removes it, so we wait here until it is done). A file that lost its name is no use.
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink:
                return fd, temporary
            os.close(fd)
        raise OSError(errno.EEXIST, 'cannot create a temporary file in %s' % (self.directory or '.'))

    def _remove_stale_temporaries(self):
        """Remove the temporaries of this file that no writer holds locked: their writers died before the rename."""
        pattern = re.compile(r'^%s[0-9a-f]{16}\.tmp$' % re.escape(self._temporary_prefix()))
        for entry in os.listdir(self._dir_fd):
            if not pattern.match(entry):
                continue
            try:
                if not stat.S_ISREG(os.stat(entry, dir_fd=self._dir_fd, follow_symlinks=False).st_mode):
                    continue
                fd = os.open(entry, _READ_FLAGS, dir_fd=self._dir_fd)
            except OSError:
                continue  # gone meanwhile, replaced by a link, or not ours to open
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its writer is alive
                locked = os.fstat(fd)
                try:
                    current = os.stat(entry, dir_fd=self._dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # its writer renamed it into place, or another cleaner removed it
                if (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino):
                    _unlink(entry, self._dir_fd)
            finally:
                os.close(fd)


def _give(fd, uid, gid, requested_owner):
    """fchown FD: the requested owner and group must be given; kept ones are given where allowed."""
    requested_uid, requested_gid = requested_owner
    if requested_uid is not None or requested_gid is not None:
        os.fchown(fd, -1 if requested_uid is None else requested_uid, -1 if requested_gid is None else requested_gid)
    kept_uid = uid if requested_uid is None and uid is not None else -1
    kept_gid = gid if requested_gid is None and gid is not None else -1
    if (kept_uid, kept_gid) != (-1, -1):
        try:
            os.fchown(fd, kept_uid, kept_gid)
        except PermissionError:
            pass  # not root: the file we replace belonged to someone else; the new one is ours


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def _selinux_of(fd):
    try:
        return os.getxattr(fd, SELINUX_XATTR).rstrip(b'\0').decode('utf-8')
    except (OSError, AttributeError, UnicodeError):  # no SELinux here, or a platform without xattrs
        return None


def _set_selinux(fd, context):
    """Set the SELinux context of FD to CONTEXT (user, role, type[, level]); its None items keep what the policy gave
    the new file."""
    own = _selinux_of(fd)
    own = own.split(':', 3) if own else []
    wanted = own + [None] * (len(context) - len(own))
    for index, part in enumerate(context):
        if part is not None:
            wanted[index] = part
    if None in wanted or wanted == own:
        return  # nothing asked for, or no SELinux here to complete a partial context
    os.setxattr(fd, SELINUX_XATTR, ':'.join(wanted).encode('utf-8') + b'\0')
