# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token cache: one encrypted file per token identity, shared by every process on the controller.

- Files are named by a hash of what identifies a token (never of a secret) and encrypted with a key derived from
  the profile's secret, so a reader without the secret learns nothing, and a changed secret simply misses.
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
import json
import os
import stat
import tempfile
import traceback

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography.fernet import Fernet, InvalidToken
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

FORMAT_VERSION = 1
# For clients without a secret (client_auth: none), a random key kept in the cache directory stands in; such
# entries are then protected by the directory's 0700 permissions only.
LOCAL_KEY_FILE = '.local-key'


# What load() decrypted in this process, by key id and ciphertext; kept in memory only, never written anywhere. A
# template may call the lookup a thousand times, reading the same entry each time: the same ciphertext under the same
# key is the same record. A token stored since, by this process or another, is a new ciphertext, decrypted afresh.
DECRYPTED = {}
DECRYPTED_SIZE = 32


def decrypt_record(fernet, key_id, data):
    """The record in the entry ``data`` (its Fernet token), decrypted with ``fernet``; raises like Fernet and json."""
    record = DECRYPTED.get((key_id, data))
    if record is None:
        record = json.loads(fernet.decrypt(data.encode('ascii')).decode('utf-8'))
        if not isinstance(record, dict) or not record.get('access_token'):
            raise ValueError('no token inside')
        if len(DECRYPTED) >= DECRYPTED_SIZE:
            DECRYPTED.clear()
        DECRYPTED[(key_id, data)] = record
    return dict(record)


def cache_key(identity):
    canonical = json.dumps(identity, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()


def write_private_file(path, data):
    """Write ``data`` to ``path`` atomically, readable by the owner only from the first byte."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')  # mkstemp creates the file 0600
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class TokenCache(object):
    def __init__(self, directory, warn=None, profile_name=None):
        self.profile_name = profile_name  # named in every error, like the engine's other errors
        if CRYPTOGRAPHY_IMPORT_ERROR:
            raise CacheError('the Python library cryptography is required for the token cache', profile=profile_name,
                             hint='install it, or set cache: false')
        self.directory = os.path.abspath(os.path.expanduser(directory))
        self._warn = warn or (lambda msg: None)
        self._warned = set()  # a request reads its entry twice (before and under the lock): one warning is enough
        self._ensure_directory()

    def _ensure_directory(self):
        hint = 'set cache_dir to a writable directory, or cache: false'
        try:
            os.makedirs(self.directory, mode=0o700)
        except ValueError as exc:  # a NUL byte in the path
            raise CacheError('cannot use %r as the token cache directory: %s' % (self.directory[:200], exc),
                             profile=self.profile_name, hint=hint)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise CacheError('cannot create the token cache directory %s: %s' % (self.directory[:200], exc.strerror),
                                 profile=self.profile_name, hint=hint)
        if not os.path.isdir(self.directory):
            raise CacheError('the token cache directory %s is not a directory' % self.directory,
                             profile=self.profile_name, hint=hint)
        info = os.stat(self.directory)
        if stat.S_IMODE(info.st_mode) & 0o077:
            if info.st_uid != os.getuid():
                raise CacheError('the token cache directory %s is open to others and not ours' % self.directory,
                                 profile=self.profile_name, hint='choose another cache_dir')
            os.chmod(self.directory, 0o700)

    def _path(self, key, suffix='.token'):
        return os.path.join(self.directory, key + suffix)

    def _local_key(self):
        path = os.path.join(self.directory, LOCAL_KEY_FILE)
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except IOError:
            with self.lock('local-key'):
                if not os.path.exists(path):
                    write_private_file(path, os.urandom(32))
            with open(path, 'rb') as handle:
                return handle.read()

    def _fernet(self, key, secret):
        material = secret.encode('utf-8') if secret else self._local_key()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=key.encode('ascii'),
                       info=b'tokenops.oauth2 token cache v1').derive(material)
        return Fernet(base64.urlsafe_b64encode(derived)), hashlib.sha256(derived).hexdigest()[:16]

    @classmethod
    def warm_up(cls):
        """Derive a key, encrypt and decrypt once with throwaway material, touching no file: OpenSSL looks each
        algorithm up on its first use in a process, which costs a new process more than the rest of a cache hit.
        ansible-playbook's parent process calls this before it forks the workers (plugin_utils/controller.py)."""
        if CRYPTOGRAPHY_IMPORT_ERROR:
            return
        fernet = cls._fernet(cls.__new__(cls), 'warm-up', 'warm-up')[0]  # no directory: a non-empty secret needs none
        fernet.decrypt(fernet.encrypt(b'{}'))

    def load(self, key, secret):
        """The stored record for ``key``, or None when absent, sealed with another secret, or unreadable."""
        path = self._path(key)
        try:
            with open(path, 'rb') as handle:
                raw = handle.read()
        except IOError:
            return None
        fernet, key_id = self._fernet(key, secret)
        try:
            envelope = json.loads(raw.decode('utf-8'))
            if envelope.get('version') != FORMAT_VERSION:
                raise ValueError('format version %r' % envelope.get('version'))
            if envelope.get('key_id') != key_id:
                return None  # sealed with another secret: the profile's secret changed, the entry is stale
            return decrypt_record(fernet, key_id, envelope['data'])
        except (ValueError, KeyError, TypeError, AttributeError, InvalidToken, UnicodeError) as exc:
            if path not in self._warned:
                self._warned.add(path)
                self._warn('ignoring unreadable token cache file %s (%s); it will be replaced'
                           % (path, type(exc).__name__))
            return None

    def store(self, key, secret, record):
        fernet, key_id = self._fernet(key, secret)
        envelope = dict(version=FORMAT_VERSION, key_id=key_id,
                        data=fernet.encrypt(json.dumps(record).encode('utf-8')).decode('ascii'))
        try:
            write_private_file(self._path(key), json.dumps(envelope).encode('utf-8'))
        except OSError as exc:
            raise CacheError('cannot write the token cache in %s: %s' % (self.directory, exc.strerror),
                             profile=self.profile_name, hint='free space or fix permissions of cache_dir, or set cache: false')

    def load_document(self, key, max_age, now):
        """A public document (discovery metadata) stored in the clear, or None when absent or older than max_age."""
        try:
            with open(self._path(key, '.json'), 'rb') as handle:
                stored = json.loads(handle.read().decode('utf-8'))
            if now - stored['stored_at'] <= max_age and isinstance(stored['document'], dict):
                return stored['document']
        except (IOError, ValueError, KeyError, TypeError):
            pass
        return None

    def store_document(self, key, document, now):
        try:
            write_private_file(self._path(key, '.json'),
                               json.dumps(dict(stored_at=now, document=document)).encode('utf-8'))
        except OSError:
            pass  # a document we cannot keep is fetched again next time

    def remove(self, key):
        with contextlib.suppress(OSError):
            os.unlink(self._path(key))

    @contextlib.contextmanager
    def lock(self, key, shared=False, blocking=True):
        """Hold a lock for ``key`` across processes: exclusive (whoever renews), or shared (whoever waits for a
        renewal to end; the kernel grants a shared lock to every waiter at once). Yields True; without
        ``blocking``, yields False and holds nothing when another process holds a conflicting lock."""
        fd = os.open(self._path(key, '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
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
