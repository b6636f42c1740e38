# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared token store's settings: where it is (``cache_url``), how to log in, the shared key, what to do when it
is down; every rule about them in one place, checked before anything connects.

Pure Python (no redis import), so a profile with a wrong URL is refused without the library installed.

- The URL names the store and the ACL user, never a password: a URL is printed in messages, sits in ansible.cfg and
  inventories, and shows in AWX job settings. A password in it is refused (and never repeated back); the password
  comes from ``cache_password`` (environment or a vaulted variable) instead.
- Messages name the URL by ``display`` (no user information at all), and the user separately.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError

SCHEMES = ('redis', 'rediss', 'unix', 'redis+sentinel')
DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
MAX_DB = 1000000  # Redis's own limit is the configured "databases" (16 by default); this only stops absurd numbers
MAX_URL_LENGTH = 2000
FALLBACKS = ('local', 'fail')
# Grants whose renewal spends a single-use refresh token (or code). Falling back to the controller's own cache would
# fork the refresh chain: this controller would send a refresh token the others may already have rotated, and a server
# with reuse detection (RFC 9700 4.14.2) revokes the whole grant. Those fail instead; the other grants can always
# obtain a fresh token with the profile's own credentials, so for them the local cache costs a request at worst.
FAIL_CLOSED_GRANTS = ('authorization_code', 'refresh_token')
# The shared key is the store's half of the encryption key: a word an operator picks is not enough.
MIN_KEY_LENGTH = 32
KEY_HINT = 'generate one with: openssl rand -base64 32, and keep it vaulted'

URL_OPTION_HINT = ("give cache_url as redis://[user@]host[:port][/db], rediss://... (TLS), unix:///path/to/socket[?db=N] "
                   "or redis+sentinel://[user@]host:port[,host:port...]/service_name[/db]")


class StoreSettingsError(CacheError):
    """A shared store setting is wrong: nothing was connected, nothing was sent."""


class StoreLocation(object):
    """A parsed ``cache_url``. ``hosts`` is a list of (host, port): one, or the Sentinels; ``path`` a unix socket."""

    def __init__(self, scheme, hosts=(), path=None, db=0, username=None, service_name=None):
        self.scheme = scheme
        self.hosts = list(hosts)
        self.path = path
        self.db = db
        self.username = username
        self.service_name = service_name

    @property
    def tls(self):
        return self.scheme == 'rediss'

    @property
    def display(self):
        """The URL for messages: no user information (the user is named apart, where it matters)."""
        if self.scheme == 'unix':
            return 'unix://%s%s' % (self.path, '?db=%d' % self.db if self.db else '')
        hosts = ','.join('%s:%d' % ('[%s]' % host if ':' in host else host, port) for host, port in self.hosts)
        if self.scheme == 'redis+sentinel':
            return 'redis+sentinel://%s/%s/%d' % (hosts, self.service_name, self.db)
        return '%s://%s/%d' % (self.scheme, hosts, self.db)

    def __repr__(self):
        return '<StoreLocation %s>' % self.display


def _refuse(message, profile=None, hint=URL_OPTION_HINT):
    raise StoreSettingsError('cache_url: %s' % message, profile=profile, hint=hint)


def _port(text, default, profile):
    if text in (None, ''):
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        _refuse('the port %r is not a number from 1 to 65535' % text[:20], profile)
    return int(text)


def _db(text, profile):
    if text in (None, ''):
        return 0
    if not text.isdigit() or int(text) > MAX_DB:
        _refuse('the database %r is not a small non-negative number' % text[:20], profile)
    return int(text)


def _host_port(text, default_port, profile):
    """``host``, ``host:port`` or ``[v6]:port``."""
    if text.startswith('['):
        host, _bracket, rest = text[1:].partition(']')
        if not host or (rest and not rest.startswith(':')):
            _refuse('%r is not host:port' % text[:100], profile)
        return host, _port(rest[1:] if rest else None, default_port, profile)
    host, _colon, port = text.partition(':')
    if not host:
        _refuse('a host is missing', profile)
    return host, _port(port, default_port, profile)


def parse_store_url(url, profile=None):
    """The StoreLocation of ``url``, or StoreSettingsError saying what is wrong (never quoting a password)."""
    if not isinstance(url, str):
        _refuse('must be a string, got a %s' % type(url).__name__, profile)
    if len(url) > MAX_URL_LENGTH:
        _refuse('is longer than %d characters' % MAX_URL_LENGTH, profile)
    if any(ord(c) > 126 or ord(c) < 33 for c in url):
        _refuse('must be an ASCII URL without spaces or control characters', profile)
    scheme, _sep, rest = url.partition('://')
    if scheme.lower() not in SCHEMES or not _sep:
        _refuse("the scheme must be one of %s" % ', '.join(s + '://' for s in SCHEMES), profile)
    scheme = scheme.lower()
    try:
        # urlsplit knows nothing of a list of hosts: split the parts as an http URL would be, and the hosts ourselves.
        parts = urlsplit('http://' + rest)
    except ValueError as exc:
        _refuse('is not a valid URL (%s)' % exc, profile)
    if parts.fragment:
        _refuse('must not have a #fragment', profile)
    userinfo, _at, hosts = parts.netloc.rpartition('@')
    if ':' in userinfo:
        # Never echo it: what follows the colon is a password.
        _refuse('must not hold a password (what follows the user name and a colon)', profile,
                hint='remove it from the URL and give it as cache_password (environment variable '
                     'TOKENOPS_OAUTH2_CACHE_PASSWORD, or a vaulted variable tokenops_oauth2_cache_password); '
                     'and change it, since it was written where a password does not belong')
    username = unquote(userinfo) if userinfo else None
    query = parse_qsl(parts.query, keep_blank_values=True)
    path = parts.path

    if scheme == 'unix':
        if hosts:
            _refuse('a unix:// URL takes a socket path, not a host: unix:///path/to/socket', profile)
        unknown = [k for k, _v in query if k != 'db']
        if unknown:
            _refuse('unknown parameter %r (a unix:// URL takes ?db=N only)' % unknown[0][:40], profile)
        if not path or not path.startswith('/') or path.endswith('/'):
            _refuse('a unix:// URL needs the absolute path of a socket: unix:///path/to/socket', profile)
        return StoreLocation(scheme, path=unquote(path), db=_db(dict(query).get('db'), profile), username=username)

    if query:
        _refuse('takes no ?parameters (TLS files are the settings cache_ca_path, cache_client_cert and '
                'cache_client_key)', profile)
    if not hosts:
        _refuse('a host is missing', profile)
    segments = [unquote(s) for s in path.split('/')[1:]] if path else []
    if scheme == 'redis+sentinel':
        addresses = [_host_port(h, DEFAULT_SENTINEL_PORT, profile) for h in hosts.split(',')]
        if not segments or not segments[0]:
            _refuse('a redis+sentinel:// URL needs the service name (the name the Sentinels monitor): '
                    'redis+sentinel://host:port,host:port/service_name[/db]', profile)
        if len(segments) > 2 or (len(segments) == 2 and not segments[1]):
            _refuse('a redis+sentinel:// URL has the path /service_name[/db]', profile)
        return StoreLocation(scheme, hosts=addresses, db=_db(segments[1] if len(segments) > 1 else None, profile),
                             username=username, service_name=segments[0])
    if ',' in hosts:
        _refuse('several hosts are for redis+sentinel:// URLs only', profile)
    if len(segments) > 1:
        _refuse('the path is the database number only: /0', profile)
    return StoreLocation(scheme, hosts=[_host_port(hosts, DEFAULT_PORT, profile)],
                         db=_db(segments[0] if segments else None, profile), username=username)


def default_fallback(grant_type):
    """What happens when the store is down, unless cache_fallback says: see FAIL_CLOSED_GRANTS."""
    return 'fail' if grant_type in FAIL_CLOSED_GRANTS else 'local'


class SharedStoreSettings(object):
    """Everything needed to open the shared store for one profile. ``password`` and ``key`` are secrets: never in a
    message, never in ``repr``."""

    def __init__(self, location, password=None, key=None, fallback='local', ca_path=None, client_cert=None,
                 client_key=None):
        self.location = location
        self.password = password
        self.key = key
        self.fallback = fallback
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key

    def __repr__(self):
        return '<SharedStoreSettings %s fallback=%s>' % (self.location.display, self.fallback)


def _text(name, value, profile):
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise StoreSettingsError('%s must be a string, got a %s' % (name, type(value).__name__), profile=profile)
    if '\0' in value or '\n' in value or '\r' in value:
        raise StoreSettingsError('%s must be one line without NUL bytes' % name, profile=profile)
    return value


def _file(name, value, profile):
    value = _text(name, value, profile)
    if value is None:
        return None
    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        raise StoreSettingsError('%s %s is not a readable file' % (name, path[:200]), profile=profile,
                                 hint='give the path of a PEM file on the controller')
    return path


def shared_store_settings(profile, plugin_settings):
    """The SharedStoreSettings for ``profile``, or None when it uses no shared store.

    ``plugin_settings``: the plugin-level values (ansible.cfg, environment, variables) of cache_url, cache_password,
    cache_key, cache_fallback, cache_ca_path, cache_client_cert and cache_client_key. The profile's own cache_url and
    cache_fallback win over them. A profile with ``cache: false`` uses no store at all.
    """
    name = profile.name
    if not profile.get('cache'):
        return None
    url = profile.get('cache_url') or plugin_settings.get('cache_url')
    if not url:
        return None
    location = parse_store_url(url, profile=name)
    fallback = profile.get('cache_fallback') or plugin_settings.get('cache_fallback') or \
        default_fallback(profile.get('grant_type'))
    if fallback not in FALLBACKS:
        raise StoreSettingsError('cache_fallback must be %s, got %r' % (' or '.join(FALLBACKS), str(fallback)[:40]),
                                 profile=name)
    key = _text('cache_key', plugin_settings.get('cache_key'), name)
    if key is None:
        raise StoreSettingsError(
            'cache_url %s needs the shared store key cache_key: entries are encrypted on the controller with a key '
            'every controller sharing the store must have' % location.display, profile=name,
            hint='set the environment variable TOKENOPS_OAUTH2_CACHE_KEY or the vaulted variable '
                 'tokenops_oauth2_cache_key (the same on every controller); ' + KEY_HINT)
    if len(key) < MIN_KEY_LENGTH:
        raise StoreSettingsError('cache_key is shorter than %d characters' % MIN_KEY_LENGTH, profile=name,
                                 hint=KEY_HINT)
    settings = SharedStoreSettings(
        location, password=_text('cache_password', plugin_settings.get('cache_password'), name), key=key,
        fallback=fallback,
        ca_path=_file('cache_ca_path', plugin_settings.get('cache_ca_path'), name),
        client_cert=_file('cache_client_cert', plugin_settings.get('cache_client_cert'), name),
        client_key=_file('cache_client_key', plugin_settings.get('cache_client_key'), name))
    if (settings.ca_path or settings.client_cert) and not location.tls:
        raise StoreSettingsError('cache_ca_path and cache_client_cert are for a rediss:// (TLS) cache_url, not %s'
                                 % location.display, profile=name, hint='use rediss:// or drop the TLS settings')
    if settings.client_key and not settings.client_cert:
        raise StoreSettingsError('cache_client_key needs cache_client_cert', profile=name)
    return settings
