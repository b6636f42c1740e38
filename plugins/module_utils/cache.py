# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token cache: one sealed file per token, shared by every process on the controller.

- Key ring (``CacheKeys``). Everything hangs off one random master key: today the controller's local key, kept in
  the cache directory; a shared store passes a key every controller is configured with. Entry names are HMACs of
  what identifies a token under a subkey of it, so a name says nothing of client ids, users or credentials and
  cannot be computed elsewhere. Each entry is sealed (Fernet: AES-CBC + HMAC) under a key derived from the master
  key and the profile's secret together, so an entry copied away opens neither with the secret nor with a guessed
  password alone, and its ``key_id`` (an HMAC under another subkey) cannot be used to test guesses either.
- Directory trust. The directory must be ours (owner = effective uid, even for root), not a symbolic link, and
  writable by no one else; it is opened once and read relative to that descriptor, so a path swapped afterwards
  cannot redirect a read. Every file read in it must be a regular file of ours, and none is followed as a link.
- Writes go through a 0600 temporary file renamed into place, so readers never see half a file and need no lock.
- ``lock(key)`` is an flock on a side file: whoever holds it re-reads the cache before asking the server, which is
  what turns fifty cold forks into one request. The others wait on a shared lock on the same file, which lets them
  all through at once when the renewal ends. The kernel drops the lock when its holder dies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import errno
import fcntl
import hashlib
import hmac
import json
import os
import re
import stat
import traceback

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError
from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import write_private_file

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography.fernet import Fernet, InvalidToken
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    InvalidToken = ValueError

# What a damaged, forged or foreign file raises when it is opened as an entry.
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, InvalidToken, UnicodeError)
# ... or one that cannot be read at all (named once: older pylint refuses a tuple sum in an except clause).
UNREADABLE_OR_MISSING = UNREADABLE + (OSError,)

# 2: names and keys from the master key, documents sealed (security issue 12). Entries of format 1 are never read:
# their names differ, and whatever remains of them is removed when a directory gets its master key.
FORMAT_VERSION = 2
MASTER_KEY_FILE = '.master-key'
MASTER_KEY_BYTES = 32
MASTER_KEY_LOCK = 'master-key'
# What format 1 left in a directory (a SHA-256 of an identity, public: entries could be planted and mixed up).
FORMAT_1_FILES = re.compile(r'^(?:[0-9a-f]{64}\.(?:token|lock)|discovery-[0-9a-f]{64}\.json|\.local-key|local-key\.lock)$')
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
# Never follow a link, and never wait on a FIFO someone put in the place of a file.
SAFE_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | O_CLOEXEC
DIRECTORY_HINT = 'set cache_dir to a directory of your own that only you can write, or cache: false'


class OtherSecret(ValueError):
    """The entry was sealed under another secret or master key: stale (the secret changed), not damaged."""


# What unseal() decrypted in this process, by key id and ciphertext; kept in memory only, never written anywhere. A
# template may call the lookup a thousand times, reading the same entry each time: the same ciphertext under the same
# key is the same payload. A token stored since, by this process or another, is a new ciphertext, decrypted afresh.
DECRYPTED = {}
MEMO_SIZE = 32


def canonical(value):
    """One byte string per value, whatever the order of its keys: what names and hashes are computed over."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'), default=str).encode('utf-8')


def remember(memo, key, value):
    """Put ``value`` in the bounded in-process ``memo`` (emptied when full); returns ``value``."""
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = value
    return value


class CacheKeys(object):
    """The key ring of a cache: names, credential hashes and sealing keys, all derived from ``master_key`` (bytes,
    at least 32 random ones). The same master key gives the same names and keys on any controller."""

    def __init__(self, master_key):
        if not isinstance(master_key, bytes) or len(master_key) < MASTER_KEY_BYTES:
            raise ValueError('a cache master key is at least %d random bytes' % MASTER_KEY_BYTES)
        # One subkey per use, so that no value computed for one purpose (a name, say) helps with another.
        self._name_key, self._credential_key, self._key_id_key, self._sealing_key = (
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                 info=b'tokenops.oauth2 cache v2 ' + purpose).derive(master_key)
            for purpose in (b'entry names', b'credentials', b'key ids', b'sealing'))
        self._derived = {}

    def entry_name(self, kind, identity):
        """The name of the entry of ``kind`` ('token', 'discovery') for ``identity`` (JSON-able)."""
        digest = hmac.new(self._name_key, canonical([kind, identity]), hashlib.sha256).hexdigest()
        return 'v%d-%s' % (FORMAT_VERSION, digest)

    def keyed_hash(self, value):
        """What stands for a secret value in an identity: equal for equal values, and no guess can be tested
        against it without the master key."""
        return hmac.new(self._credential_key, canonical(value), hashlib.sha256).hexdigest()

    def _fernet(self, name, secret):
        # Derived once a process per entry and secret (a cache hit repeats it otherwise), kept in memory only.
        derived = self._derived.get((name, secret))
        if derived is None:
            derived = remember(self._derived, (name, secret), self._derive_fernet(name, secret))
        return derived

    def _derive_fernet(self, name, secret):
        # The sealing subkey comes first and has a fixed length, so (subkey, secret) pairs cannot collide. The name
        # as salt binds the key to the entry: a file renamed to another entry's name does not open.
        material = self._sealing_key + (secret or '').encode('utf-8')
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=name.encode('ascii'),
                   info=b'tokenops.oauth2 cache v2 entry').derive(material)
        key_id = hmac.new(self._key_id_key, key, hashlib.sha256).hexdigest()[:32]
        return Fernet(base64.urlsafe_b64encode(key)), key_id

    def seal(self, name, secret, payload):
        """``payload`` (JSON-able) sealed for entry ``name`` under the master key and ``secret`` (or none)."""
        fernet, key_id = self._fernet(name, secret)
        return canonical(dict(version=FORMAT_VERSION, key_id=key_id,
                              data=fernet.encrypt(canonical(payload)).decode('ascii')))

    def unseal(self, name, secret, sealed):
        """The payload ``seal`` sealed. OtherSecret when sealed under another secret or master key; one of
        UNREADABLE when damaged, forged, or of another format."""
        envelope = json.loads(sealed.decode('utf-8'))
        if envelope.get('version') != FORMAT_VERSION:
            raise ValueError('format version %r' % (envelope.get('version'),))
        fernet, key_id = self._fernet(name, secret)
        if not hmac.compare_digest(str(envelope.get('key_id')).encode('utf-8'), key_id.encode('ascii')):
            raise OtherSecret('sealed with another secret')
        memo_key = (key_id, envelope['data'])
        payload = DECRYPTED.get(memo_key)
        if payload is None:
            payload = json.loads(fernet.decrypt(envelope['data'].encode('ascii')).decode('utf-8'))
            remember(DECRYPTED, memo_key, payload)
        return dict(payload) if isinstance(payload, dict) else payload

    def open(self, name, secret, sealed):
        """``unseal`` for a store that does not tell a stale entry from a damaged one (the shared store's sealer
        interface): the payload, or None."""
        try:
            return self.unseal(name, secret, sealed)
        except UNREADABLE_OR_MISSING:  # stale (OtherSecret is a ValueError), or damaged
            return None


class CacheDirectory(object):
    """A cache directory found trustworthy, opened: ``path``, ``fd`` (its descriptor), and its key ring once read."""

    def __init__(self, path, fd, info):
        self.path, self.fd, self.identity = path, fd, (info.st_dev, info.st_ino)
        self.keys = None

    def __del__(self):
        if self.fd >= 0:
            with contextlib.suppress(OSError, TypeError):
                os.close(self.fd)

    def is_open(self):
        """Whether ``fd`` still is this directory (nothing in the process closed it, and its number was not reused)."""
        try:
            info = os.fstat(self.fd)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.identity

    def open(self, name, flags=os.O_RDONLY, mode=0o600):
        """The descriptor of ``name`` in this directory, opened without following links. OSError when there is
        none, or when it is not a regular file of ours (EPERM): something we did not write is never used."""
        if '/' in name or name in ('', '.', '..'):
            raise ValueError('not a file name: %r' % name)  # names are ours (entry names): never a path
        try:
            fd = os.open(name, flags | SAFE_OPEN, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW answers (Linux, BSD) for a link
                raise OSError(exc.errno, 'a symbolic link, not a file')
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
            os.close(fd)
            raise OSError(errno.EPERM, 'not a private file of yours')
        return fd

    def read(self, name):
        """The bytes of ``name``, or None when there is no such file; OSError as for ``open``."""
        try:
            fd = self.open(name)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        with os.fdopen(fd, 'rb') as handle:
            return handle.read()

    def unlink(self, name):
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=self.fd)


# Opened and checked once per process and path: a cache hit costs one lstat to see that it is still the same one.
_OPENED = {}


def _distrust(info):
    """Why the directory with lstat ``info`` cannot hold our secrets (and what to do), or None when it can."""
    if stat.S_ISLNK(info.st_mode):
        return 'is a symbolic link', 'set cache_dir to the directory it points to, if that is yours'
    if not stat.S_ISDIR(info.st_mode):
        return 'is not a directory', DIRECTORY_HINT
    if info.st_uid != os.geteuid():
        return 'is owned by uid %d, not by you (uid %d)' % (info.st_uid, os.geteuid()), DIRECTORY_HINT
    if stat.S_IMODE(info.st_mode) & 0o022:
        # Tightening it here would keep whatever others put in it meanwhile: a key, a document, a link.
        return ('is a directory others can write (mode %04o)' % stat.S_IMODE(info.st_mode),
                'remove it (or, if nobody else can have written in it, chmod 0700 it), or set another cache_dir')
    return None


def trusted_directory(directory, profile_name=None):
    """The cache directory ``directory`` (created 0700 when missing), opened, once it is found to be ours and
    writable by us alone. A mode that lets others read or search it is tightened to 0700: nobody else could have
    put anything in it. CacheError otherwise, naming the directory and what to do."""
    path = os.path.abspath(os.path.expanduser(directory))
    try:
        try:
            info = os.lstat(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile: checked below
                os.makedirs(path, mode=0o700)
            info = os.lstat(path)
    except ValueError as exc:  # a NUL byte in the path
        raise CacheError('cannot use %r as the token cache directory: %s' % (path[:200], exc),
                         profile=profile_name, hint=DIRECTORY_HINT)
    except OSError as exc:
        raise CacheError('cannot create the token cache directory %s: %s' % (path[:200], exc.strerror),
                         profile=profile_name, hint=DIRECTORY_HINT)
    problem = _distrust(info)
    if problem:
        raise CacheError('the token cache directory %s %s' % (path, problem[0]), profile=profile_name, hint=problem[1])
    known = _OPENED.get(path)
    if known is not None and not known.is_open():
        # Closed behind our back: its number may be another file's now. -1 fails every call instead (unlike None,
        # which would mean the working directory), and is never closed.
        known.fd = -1
    if known is None or known.fd < 0 or known.identity != (info.st_dev, info.st_ino):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | O_CLOEXEC)
        except OSError as exc:
            raise CacheError('cannot open the token cache directory %s: %s' % (path, exc.strerror),
                             profile=profile_name, hint=DIRECTORY_HINT)
        known = CacheDirectory(path, fd, os.fstat(fd))
        if known.identity != (info.st_dev, info.st_ino):
            raise CacheError('the token cache directory %s was replaced while it was being opened' % path,
                             profile=profile_name, hint=DIRECTORY_HINT)
        _OPENED[path] = known
    if stat.S_IMODE(info.st_mode) != 0o700:
        try:
            os.fchmod(known.fd, 0o700)
        except OSError as exc:
            raise CacheError('cannot make the token cache directory %s private (0700): %s' % (path, exc.strerror),
                             profile=profile_name, hint=DIRECTORY_HINT)
    return known


class TokenCache(object):
    def __init__(self, directory, warn=None, profile_name=None):
        self.profile_name = profile_name  # named in every error, like the engine's other errors
        if CRYPTOGRAPHY_IMPORT_ERROR:
            raise CacheError('the Python library cryptography is required for the token cache', profile=profile_name,
                             hint='install it, or set cache: false')
        self._warn = warn or (lambda msg: None)
        self._warned = set()  # a request reads its entry twice (before and under the lock): one warning is enough
        self._directory = trusted_directory(directory, profile_name)
        self.directory = self._directory.path

    def _error(self, what, exc, hint=DIRECTORY_HINT):
        return CacheError('%s in the token cache directory %s: %s' % (what, self.directory, exc.strerror),
                          profile=self.profile_name, hint=hint)

    def _write_error(self, exc):
        return CacheError('cannot write the token cache in %s: %s' % (self.directory, exc.strerror),
                          profile=self.profile_name, hint='free space or fix permissions of cache_dir, or set cache: false')

    @property
    def keys(self):
        """This cache's CacheKeys, from the master key in its directory (made on first use; read once a process)."""
        directory = self._directory
        if directory.keys is None:
            master_key = self._read_master_key()
            if master_key is None:
                with self.lock(MASTER_KEY_LOCK):
                    master_key = self._read_master_key()
                    if master_key is None:
                        self._remove_format_1()
                        try:
                            write_private_file(os.path.join(self.directory, MASTER_KEY_FILE),
                                               os.urandom(MASTER_KEY_BYTES))
                        except OSError as exc:
                            raise self._write_error(exc)
                        master_key = self._read_master_key()
            if master_key is None:
                raise CacheError('the key file %s vanished as it was written' % MASTER_KEY_FILE, profile=self.profile_name,
                                 hint=DIRECTORY_HINT)
            directory.keys = CacheKeys(master_key)
        return directory.keys

    def _read_master_key(self):
        hint = 'remove %s (every cached token is then renewed once), or set another cache_dir' % (
            os.path.join(self.directory, MASTER_KEY_FILE))
        try:
            master_key = self._directory.read(MASTER_KEY_FILE)
        except OSError as exc:
            raise self._error('cannot use the key file %s' % MASTER_KEY_FILE, exc, hint)
        if master_key is not None and len(master_key) < MASTER_KEY_BYTES:
            raise CacheError('the key file %s in %s is too short to be one' % (MASTER_KEY_FILE, self.directory),
                             profile=self.profile_name, hint=hint)
        return master_key

    def _remove_format_1(self):
        """Remove what format 1 left (its entries are not trusted: any could be another profile's, or planted), and
        say so once: the process that makes the directory's master key does this, under its lock."""
        removed = 0
        for name in os.listdir(self._directory.fd):
            if FORMAT_1_FILES.match(name):
                self._directory.unlink(name)
                removed += name.endswith('.token')
        if removed:
            self._warn('removed %d token cache %s of an older format from %s: an entry is now bound to one '
                       'profile and sealed with a key of this controller, so each profile asks its server for a new '
                       'token once. A refresh_token profile whose newest refresh token was kept only in the cache '
                       'is refused (invalid_grant): authorize it again (playbook tokenops.oauth2.onboard)'
                       % (removed, 'entry' if removed == 1 else 'entries', self.directory))

    def _entry(self, key, suffix, secret):
        """The payload of entry ``key``, or None when absent, sealed with another secret, or unusable (warned)."""
        name, keys = key + suffix, self.keys
        try:
            sealed = self._directory.read(name)
            return None if sealed is None else keys.unseal(key, secret, sealed)
        except OtherSecret:
            return None  # the profile's secret changed: the entry is stale
        except UNREADABLE_OR_MISSING as exc:
            if name not in self._warned:
                self._warned.add(name)
                # Only the kind of failure: the text of a JSON error may quote the file, which may hold a token.
                self._warn('ignoring unreadable token cache file %s (%s); it will be replaced' % (
                    os.path.join(self.directory, name), exc.strerror if isinstance(exc, OSError) else type(exc).__name__))
            return None

    def _write(self, key, suffix, data):
        write_private_file(os.path.join(self.directory, key + suffix), data)

    @classmethod
    def warm_up(cls):
        """Derive a key, encrypt and decrypt once with throwaway material, touching no file: OpenSSL looks each
        algorithm up on its first use in a process, which costs a new process more than the rest of a cache hit.
        ansible-playbook's parent process calls this before it forks the workers (plugin_utils/controller.py)."""
        if CRYPTOGRAPHY_IMPORT_ERROR:
            return
        keys = CacheKeys(os.urandom(MASTER_KEY_BYTES))  # throwaway: no file, no profile
        keys.unseal('warm-up', None, keys.seal('warm-up', None, {}))
        DECRYPTED.clear()

    def load(self, key, secret):
        """The stored record for ``key``, or None when absent, sealed with another secret, or unreadable."""
        record = self._entry(key, '.token', secret)
        return record if isinstance(record, dict) and record.get('access_token') else None

    def store(self, key, secret, record):
        try:
            self._write(key, '.token', self.keys.seal(key, secret, record))
        except OSError as exc:
            raise self._write_error(exc)

    def load_document(self, key, max_age, now):
        """A document (discovery metadata) this cache sealed, or None when absent, altered or older than max_age.
        Public as it is, it says where secrets are sent: one we did not write is never used."""
        stored = self._entry(key, '.json', None)
        try:
            if now - stored['stored_at'] <= max_age and isinstance(stored['document'], dict):
                return stored['document']
        except (KeyError, TypeError):
            pass
        return None

    def store_document(self, key, document, now):
        try:
            self._write(key, '.json', self.keys.seal(key, None, dict(stored_at=now, document=document)))
        except OSError:
            pass  # a document we cannot keep is fetched again next time

    def remove(self, key):
        self._directory.unlink(key + '.token')

    @contextlib.contextmanager
    def lock(self, key, shared=False, blocking=True):
        """Hold a lock for ``key`` across processes: exclusive (whoever renews), or shared (whoever waits for a
        renewal to end; the kernel grants a shared lock to every waiter at once). Yields True; without
        ``blocking``, yields False and holds nothing when another process holds a conflicting lock."""
        try:
            fd = self._directory.open(key + '.lock', os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise self._error('cannot open the lock file %s.lock' % key, exc)
        try:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB))
            except (IOError, OSError) as exc:
                if blocking or exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the flock
