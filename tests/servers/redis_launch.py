"""Start real Redis servers (Debian's redis-server and redis-sentinel) on 127.0.0.1 for the shared token store's tests.

    from tests.servers.redis_launch import start_redis, start_sentinel_group
    with start_redis(acl_rules=rules, persistence=True) as server:
        server.url                  # redis://tokenops@127.0.0.1:PORT/0 (the ACL user; no password in it)
        server.password             # the ACL user's password (give it as cache_password)
        server.admin()              # a redis.Redis logged in as the default user (requirepass), for checks
        server.stop(); server.start(); server.restart(); server.kill()   # SIGTERM / SIGKILL; same port again
        server.fill(); server.unfill()   # maxmemory just above what is used, noeviction: writes fail "OOM"
        server.dump_path            # the RDB file (persistence=True; server.admin().save() writes it now)

Kinds: plain TCP (default), TLS (``tls=pki`` from ``make_pki(directory)``: the port speaks TLS only and wants a
client certificate), unix socket only (``unix=True``: no TCP port at all). ``start_sentinel_group`` starts a primary,
a replica and three Sentinels (quorum 2) whose primary a test can kill (``group.primary.kill()``).

Every server has ``requirepass`` (the default user, the admin) and an ACL user (``user``, default ``tokenops``) that
has only ``acl_rules``. Ports are free ports chosen just before the start (redis-server's port 0 means "no TCP"), so a
restart gets the same port back. A temp dir holds config, log, socket and dump; it is removed at stop. Each server is
killed if the test process dies (PR_SET_PDEATHSIG), and stopped at exit.
"""

import atexit
import ctypes
import datetime
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REDIS_SERVER = shutil.which('redis-server') or '/usr/bin/redis-server'
REDIS_SENTINEL = shutil.which('redis-sentinel') or '/usr/bin/redis-sentinel'
_RUNNING = set()
PR_SET_PDEATHSIG = 1


class RedisStartError(RuntimeError):
    pass


def _die_with_parent():
    """In the child, before exec: the kernel sends SIGKILL when the test process that started it dies."""
    libc = ctypes.CDLL('libc.so.6', use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# ---- a test PKI: one CA, a server certificate for 127.0.0.1, a client certificate ---------------------------------
class Pki:
    def __init__(self, directory):
        self.directory = directory
        self.ca, self.server_cert, self.server_key, self.client_cert, self.client_key = (
            os.path.join(directory, name) for name in ('ca.pem', 'server.pem', 'server.key', 'client.pem',
                                                       'client.key'))


def _write_key(path, key):
    with open(path, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def _certificate(subject, issuer_name, issuer_key, public_key, ca=False, usage=None, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory, ca_name='tokenops redis test CA'):
    """Write a CA, a server certificate for IP 127.0.0.1 and a client certificate (PEM) into ``directory``."""
    pki = Pki(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(ca_name, None, ca_key, ca_key.public_key(), ca=True)
    for cert_path, key_path, subject, usage, san in (
            (pki.server_cert, pki.server_key, '127.0.0.1', ExtendedKeyUsageOID.SERVER_AUTH,
             [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            (pki.client_cert, pki.client_key, 'tokenops controller', ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        key = ec.generate_private_key(ec.SECP256R1())
        with open(cert_path, 'wb') as handle:
            handle.write(_certificate(subject, ca_cert.subject, ca_key, key.public_key(), usage=usage, san=san)
                         .public_bytes(serialization.Encoding.PEM))
        _write_key(key_path, key)
    with open(pki.ca, 'wb') as handle:
        handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    return pki


class _Closing:
    """``with`` closes it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- one redis-server -----------------------------------------------------------------------------------------------
class RedisServer(_Closing):
    """A redis-server child process. See the module docstring."""

    def __init__(self, acl_rules, user='tokenops', persistence=False, tls=None, unix=False, replica_of=None,
                 admin_password=None, user_password=None, extra_config=()):
        self.workdir = tempfile.mkdtemp(prefix='tokenops-redis-')
        os.chmod(self.workdir, 0o700)
        self.user = user
        self.password = user_password or secrets.token_urlsafe(24)
        self.admin_password = admin_password or secrets.token_urlsafe(24)
        self.acl_rules = acl_rules
        self.persistence = persistence
        self.tls = tls
        self.unix = unix
        self.replica_of = replica_of
        self.extra_config = list(extra_config)
        self.port = None if unix else free_port()
        self.socket_path = os.path.join(self.workdir, 'redis.sock')
        self.dump_path = os.path.join(self.workdir, 'dump.rdb')
        self.log_path = os.path.join(self.workdir, 'redis.log')
        self.process = None

    # -- what a client needs ----------------------------------------------------------------------------------------
    @property
    def url(self):
        if self.unix:
            return 'unix://%s@%s' % (self.user, self.socket_path)
        return '%s://%s@127.0.0.1:%d/0' % ('rediss' if self.tls else 'redis', self.user, self.port)

    def connection_kwargs(self):
        if self.unix:
            return dict(unix_socket_path=self.socket_path)
        kwargs = dict(host='127.0.0.1', port=self.port)
        if self.tls:
            kwargs.update(ssl=True, ssl_ca_certs=self.tls.ca, ssl_certfile=self.tls.client_cert,
                          ssl_keyfile=self.tls.client_key)
        return kwargs

    def admin(self, **kwargs):
        """A client logged in as the default user, for the test's own checks and faults."""
        return redis.Redis(password=self.admin_password, **self._client_kwargs(kwargs))

    def as_user(self, **kwargs):
        """A client logged in as the ACL user, as the store logs in."""
        return redis.Redis(username=self.user, password=self.password, **self._client_kwargs(kwargs))

    def _client_kwargs(self, overrides):
        kwargs = dict(self.connection_kwargs(), socket_timeout=5)
        kwargs.update(overrides)
        return kwargs

    # -- life cycle -------------------------------------------------------------------------------------------------
    def _config(self):
        lines = [
            'bind 127.0.0.1',
            'port %d' % (0 if (self.unix or self.tls) else self.port),
            'dir %s' % self.workdir,
            'logfile %s' % self.log_path,
            'daemonize no',
            'protected-mode yes',
            'requirepass "%s"' % self.admin_password,
            'user %s reset on >%s %s' % (self.user, self.password, self.acl_rules),
            'appendonly no',
            'dbfilename dump.rdb',
            'save %s' % ('"1 1"' if self.persistence else '""'),
        ]
        if self.unix:
            lines += ['unixsocket %s' % self.socket_path, 'unixsocketperm 700']
        if self.tls:
            lines += ['tls-port %d' % self.port, 'tls-cert-file %s' % self.tls.server_cert,
                      'tls-key-file %s' % self.tls.server_key, 'tls-ca-cert-file %s' % self.tls.ca,
                      'tls-auth-clients yes']
        if self.replica_of:
            lines += ['replicaof 127.0.0.1 %d' % self.replica_of.port, 'masterauth "%s"' % self.admin_password]
        else:
            # A replica promoted by Sentinel must find the old primary's replicas able to follow it.
            lines += ['masterauth "%s"' % self.admin_password]
        return '\n'.join(lines + self.extra_config) + '\n'

    def start(self, timeout=15):
        config_path = os.path.join(self.workdir, 'redis.conf')
        if not os.path.exists(config_path):  # a restart keeps the file (Sentinel may have rewritten it)
            with open(config_path, 'w') as handle:
                handle.write(self._config())
            os.chmod(config_path, 0o600)
        self.process = subprocess.Popen([REDIS_SERVER, config_path], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent, cwd=self.workdir)
        _RUNNING.add(self)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.admin(socket_timeout=1, socket_connect_timeout=1).ping():
                    return self
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                pass
            except redis.ResponseError as exc:  # LOADING while it reads its dump
                if 'LOADING' not in str(exc):
                    raise
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = 'exited with %s' % self.process.returncode if self.process.poll() is not None else 'timed out'
                self.kill()
                raise RedisStartError('redis-server %s before it answered PING:\n%s' % (why, self.log()))
            time.sleep(0.05)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as handle:
                return handle.read()[-4000:]
        except OSError:
            return ''

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM (a redis-server with persistence on saves its dump first) and wait."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self):
        """SIGKILL: dies on the spot, as in a crash."""
        if self.running:
            self.process.kill()
            self.process.wait(timeout=5)

    def restart(self):
        self.stop()
        return self.start()

    def fill(self):
        """Make every write that needs memory fail with OOM: maxmemory just above what is used, noeviction."""
        admin = self.admin()
        used = int(admin.info('memory')['used_memory'])
        admin.config_set('maxmemory-policy', 'noeviction')
        admin.config_set('maxmemory', str(used + 1024))

    def unfill(self):
        self.admin().config_set('maxmemory', '0')

    def close(self):
        self.kill()
        _RUNNING.discard(self)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __repr__(self):
        return '<RedisServer %s pid=%s>' % (self.url, self.process.pid if self.process else None)


def start_redis(acl_rules, **options):
    """Start a RedisServer (options: see RedisServer) and wait until it answers."""
    return RedisServer(acl_rules, **options).start()


# ---- Sentinel ---------------------------------------------------------------------------------------------------------
class SentinelProcess:
    def __init__(self, workdir, primary, service_name, quorum):
        self.port = free_port()
        self.config_path = os.path.join(workdir, 'sentinel-%d.conf' % self.port)
        with open(self.config_path, 'w') as handle:
            handle.write('\n'.join([
                'bind 127.0.0.1', 'port %d' % self.port, 'dir %s' % workdir, 'daemonize no',
                'logfile %s' % os.path.join(workdir, 'sentinel-%d.log' % self.port),
                'sentinel monitor %s 127.0.0.1 %d %d' % (service_name, primary.port, quorum),
                'sentinel auth-pass %s %s' % (service_name, primary.admin_password),
                'sentinel down-after-milliseconds %s 1000' % service_name,
                'sentinel failover-timeout %s 10000' % service_name,
                'sentinel parallel-syncs %s 1' % service_name,
            ]) + '\n')
        os.chmod(self.config_path, 0o600)
        self.process = subprocess.Popen([REDIS_SENTINEL, self.config_path], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent, cwd=workdir)

    def client(self):
        return redis.Redis(host='127.0.0.1', port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


class SentinelGroup(_Closing):
    """A primary, a replica and three Sentinels. ``url`` is the redis+sentinel:// URL for the ACL user."""

    def __init__(self, acl_rules, service_name='tokenops', user='tokenops'):
        self.service_name = service_name
        self.primary = RedisServer(acl_rules, user=user)
        self.replica = RedisServer(acl_rules, user=user, replica_of=self.primary,
                                   admin_password=self.primary.admin_password, user_password=self.primary.password)
        self.user, self.password = user, self.primary.password
        self.workdir = tempfile.mkdtemp(prefix='tokenops-sentinel-')
        self.sentinels = []

    def start(self, timeout=30):
        self.primary.start()
        self.replica.start()
        _wait(lambda: self.primary.admin().info('replication').get('connected_slaves', 0) >= 1, timeout,
              'the replica to connect to the primary')
        self.sentinels = [SentinelProcess(self.workdir, self.primary, self.service_name, 2) for _sentinel in range(3)]
        _RUNNING.add(self)
        # Sentinels find each other and the replica through the primary's hello channel: wait until each knows all.
        _wait(lambda: all(self._sentinel_view(s) for s in self.sentinels), timeout, 'the Sentinels to see each other')
        return self

    def _sentinel_view(self, sentinel):
        try:
            master = sentinel.client().sentinel_master(self.service_name)
        except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError):
            return False
        return int(master.get('num-other-sentinels', 0)) >= 2 and int(master.get('num-slaves', 0)) >= 1

    @property
    def url(self):
        return 'redis+sentinel://%s@%s/%s/0' % (
            self.user, ','.join('127.0.0.1:%d' % s.port for s in self.sentinels), self.service_name)

    def current_primary_port(self):
        host, port = self.sentinels[0].client().sentinel_get_master_addr_by_name(self.service_name)
        return int(port)

    def wait_for_failover(self, old_port, timeout=60):
        """Wait until the Sentinels name another primary than ``old_port`` and it accepts writes."""
        def promoted():
            try:
                port = self.current_primary_port()
            except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError, TypeError):
                return False
            if port == old_port:
                return False
            server = self.replica if port == self.replica.port else self.primary
            return server.admin().info('replication')['role'] == 'master'
        _wait(promoted, timeout, 'the Sentinels to promote the replica')
        return self.current_primary_port()

    def close(self):
        for sentinel in self.sentinels:
            sentinel.stop()
        self.replica.close()
        self.primary.close()
        _RUNNING.discard(self)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_sentinel_group(acl_rules, **options):
    return SentinelGroup(acl_rules, **options).start()


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RedisStartError('timed out waiting for %s' % what)
        time.sleep(0.1)


@atexit.register
def _stop_all():
    for server in list(_RUNNING):
        server.close()
