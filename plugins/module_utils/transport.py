# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP to the authorization server: TLS options, proxies, retries with backoff, and no surprises.

- ``~/.netrc`` is never read: requests would put its credentials in place of ours (``trust_env`` off); proxies
  from the environment are still honoured, by asking requests for them explicitly, except for loopback: a request
  to this machine never leaves it, whatever ``http_proxy`` says (without ``no_proxy``, a proxy would receive a
  plain-http form holding the client secret).
- Redirects are not followed: a token request carries credentials, and a redirect could take them elsewhere.
- Retries are urllib3's (backoff with jitter, ``Retry-After``), bounded by ``retries`` and an overall deadline.
- An answer is read in chunks, at most ``MAX_ANSWER_BYTES`` of it after decompression, and one that is retried
  not at all: a hostile server could otherwise send gigabytes, or a gzip bomb that inflates to them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import socket
import ssl
import threading
import time
import traceback

from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TransportError
from ansible_collections.tokenops.oauth2.plugins.module_utils.redaction import sent_secrets, server_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.url_rules import (  # noqa: F401  is_loopback: for callers
    is_loopback, url_problem, without_userinfo)

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    Retry = object
    HAS_REQUESTS = False
else:
    HAS_REQUESTS = True

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 10.0
# A token endpoint answers a few kilobytes (a JWT access token), a discovery document tens of them.
MAX_ANSWER_BYTES = 1 << 20
READ_CHUNK = 16384  # what urllib3 inflates at a time is bounded by what it reads


class HttpResponse(object):
    """What the engine needs of an answer, independent of the HTTP library."""

    def __init__(self, url, status, headers, text, sent_secrets=()):
        self.url = url
        self.status = status
        self.headers = headers
        self.text = text
        # What the request carried that must not show in a message quoting this answer (redaction.py).
        self.sent_secrets = list(sent_secrets)

    @property
    def content_type(self):
        return (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()


def check_url(url, profile, option='token_url'):
    """Refuse a URL that is not a plain http(s) URL (it may come from a discovery document, not the profile), and
    one we would send credentials to in the clear, unless it stays on this machine."""
    problem = url_problem(url)
    if problem:
        shown = server_text(without_userinfo(url), limit=200)
        raise ProfileError("%s '%s' is not an http(s) URL: it %s" % (option, shown, problem), profile=profile.name)
    parts = urlsplit(url)
    if parts.scheme == 'http' and not is_loopback(parts.hostname) and not profile.get('allow_insecure_http'):
        raise ProfileError(
            "%s '%s' is plain http to a host that is not loopback, which would expose credentials and tokens"
            % (option, url), profile=profile.name,
            hint='use https, or set allow_insecure_http: true if the network path is trusted')


def proxies_for(url):
    """The proxies the environment names for URL; none for loopback, which must not leave this machine."""
    if is_loopback(urlsplit(url).hostname):
        return {}
    return requests.utils.get_environ_proxies(url)


class _EncryptedKey(Exception):
    """OpenSSL asked for a passphrase."""


def _no_passphrase():
    # Without a callback OpenSSL would prompt on the terminal, where a playbook run cannot answer (requests passes
    # no passphrase either).
    raise _EncryptedKey()


def check_tls_files(profile):
    """Load ca_path, client_cert and client_key into a throwaway SSL context, so that a file that is missing or not
    PEM is named before anything is sent: requests reads them only in the TLS handshake, after the connection is
    made, and never for an http:// URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca_path, cert, key = profile.get('ca_path'), profile.get('client_cert'), profile.get('client_key')
    checks = []
    if ca_path:
        # A directory of hashed certificates (c_rehash) is only read during the handshake, certificate by certificate.
        where = dict(capath=ca_path) if os.path.isdir(ca_path) else dict(cafile=ca_path)
        checks.append(('ca_path', 'a PEM file of CA certificates', lambda: context.load_verify_locations(**where)))
    if cert:
        # The certificate alone first: load_cert_chain gives the same error for a bad certificate and a bad key.
        checks.append(('client_cert', 'a PEM certificate', lambda: context.load_verify_locations(cafile=cert)))
        option, what = ('client_key', 'the PEM private key of client_cert') if key else \
            ('client_cert', 'a PEM certificate with its private key (no client_key is set)')
        checks.append((option, what, lambda: context.load_cert_chain(cert, key, password=_no_passphrase)))
    for option, what, load in checks:
        try:
            load()
        except _EncryptedKey:
            raise ProfileError('%s %s is encrypted: give an unencrypted key' % (option, profile[option][:200]),
                               profile=profile.name)
        except (IOError, OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            why = _library_reason(exc) if isinstance(exc, ssl.SSLError) else getattr(exc, 'strerror', None) or exc
            raise ProfileError('%s %s cannot be used as %s: %s' % (option, profile[option][:200], what, why),
                               profile=profile.name, hint='ca_path, client_cert and client_key must name readable '
                                                          'PEM files on the host that sends the request')


class DeadlineRetry(Retry):
    """urllib3's Retry that also stops at an overall deadline and never sleeps past it."""

    deadline = None

    def new(self, **kw):
        retry = super(DeadlineRetry, self).new(**kw)
        retry.deadline = self.deadline
        return retry

    def _remaining(self):
        return max(0.0, self.deadline - time.monotonic()) if self.deadline else float('inf')

    def is_exhausted(self):
        return super(DeadlineRetry, self).is_exhausted() or self._remaining() <= 0

    def get_retry_after(self, response):
        retry_after = super(DeadlineRetry, self).get_retry_after(response)
        return None if retry_after is None else min(retry_after, self._remaining())

    def get_backoff_time(self):
        return min(super(DeadlineRetry, self).get_backoff_time(), self._remaining())

    def increment(self, *args, **kwargs):
        retry = super(DeadlineRetry, self).increment(*args, **kwargs)
        # An answer about to be asked again: close it, or urllib3 reads all of it (to reuse the connection), however
        # big. The last answer, which is returned when the retries run out (increment raises), is read as any other.
        response = kwargs.get('response')
        if response is not None:
            response.close()
        return retry


def _hang_up(answer, hung_up):
    """Shut the connection of ANSWER down (a read blocked on it then returns), and say so in HUNG_UP."""
    connection = getattr(answer.raw, 'connection', None) or getattr(answer.raw, '_connection', None)
    sock = getattr(connection, 'sock', None)
    if sock is None:
        return  # already closed: the read has ended
    hung_up.set()
    try:
        # socket.socket's own shutdown, also for an SSLSocket: it acts on the descriptor, and leaves the TLS object
        # alone for the thread reading it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _retry_policy(retries, deadline_at):
    retry = DeadlineRetry(
        total=retries, connect=retries, read=retries if retries else 0, status=retries, other=0, redirect=0,
        allowed_methods=None,  # POST included: a token request other than a code exchange is safe to repeat
        status_forcelist=RETRY_STATUSES, backoff_factor=BACKOFF_FACTOR, backoff_max=BACKOFF_MAX,
        backoff_jitter=BACKOFF_FACTOR, respect_retry_after_header=True, raise_on_status=False,
        raise_on_redirect=False)
    retry.deadline = deadline_at
    return retry


class Transport(object):
    """One HTTP session per profile, with its TLS settings and retry policy."""

    def __init__(self, profile):
        if not HAS_REQUESTS:
            raise TransportError('the Python library requests is required', profile=profile.name,
                                 hint='install it on the host that runs the request (pip install requests)')
        check_tls_files(profile)
        self.profile = profile

    def _session(self, retries, deadline_at):
        session = requests.Session()
        session.trust_env = False  # no ~/.netrc credentials, no REQUESTS_CA_BUNDLE surprises
        adapter = HTTPAdapter(max_retries=_retry_policy(retries, deadline_at))
        session.mount('https://', adapter)
        session.mount('http://', adapter)
        profile = self.profile
        session.verify = profile.get('ca_path') or profile.get('validate_certs')
        if profile.get('client_cert'):
            session.cert = (profile['client_cert'], profile['client_key']) if profile.get('client_key') \
                else profile['client_cert']
        return session

    def request(self, method, url, retry_safe=True, deadline_at=None, option='token_url', **kwargs):
        """Send one request (with retries when safe) and return an HttpResponse; raise TransportError."""
        profile = self.profile
        check_url(url, profile, option)
        deadline_at = deadline_at or time.monotonic() + profile['deadline']
        retries = profile['retries'] if retry_safe else 0
        session = self._session(retries, deadline_at)
        timeout = min(profile['timeout'], max(0.1, deadline_at - time.monotonic()))
        try:
            with session:
                answer = session.request(method, url, timeout=timeout, allow_redirects=False, stream=True,
                                         proxies=proxies_for(url), **kwargs)
                with answer:
                    text = self._read(answer, url, deadline_at)
                return HttpResponse(url, answer.status_code, answer.headers, text,
                                    sent_secrets(kwargs.get('data'), kwargs.get('headers')))
        except requests.exceptions.RequestException as exc:
            # The library's text may quote the server (a bad status line, say): redact what this request carried.
            raise self._explain(exc, url, profile.secret_values() + sent_secrets(kwargs.get('data'),
                                                                                 kwargs.get('headers')))
        except (IOError, OSError) as exc:  # a TLS file that changed since check_tls_files
            raise ProfileError('cannot use the TLS files of the profile: %s' % exc, profile=profile.name, url=url,
                               hint='ca_path, client_cert and client_key must name readable PEM files on the host '
                                    'that sends the request')

    def _read(self, answer, url, deadline_at):
        """The body of ANSWER as text, refused past MAX_ANSWER_BYTES once decompressed, or at DEADLINE_AT."""
        # A server sending a byte now and then answers every read within timeout: hang up on it at the deadline.
        hung_up = threading.Event()
        watchdog = threading.Timer(max(0.0, deadline_at - time.monotonic()), _hang_up, (answer, hung_up))
        watchdog.daemon = True
        watchdog.start()
        body = bytearray()
        try:
            for chunk in answer.iter_content(READ_CHUNK):
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise TransportError(
                        'the answer is larger than %d MiB%s, more than any OAuth 2.0 endpoint sends; the rest was not '
                        'read' % (MAX_ANSWER_BYTES >> 20,
                                  ' (decompressed)' if answer.headers.get('Content-Encoding') else ''),
                        profile=self.profile.name, url=url, status=answer.status_code,
                        hint='check the URL: it must name the endpoint itself; otherwise the server is broken or '
                             'hostile')
        except requests.exceptions.RequestException:
            if not hung_up.is_set():
                raise
        finally:
            watchdog.cancel()
        if hung_up.is_set():
            raise TransportError(
                'the answer did not arrive within the deadline of %g s; the rest was not read'
                % self.profile['deadline'], profile=self.profile.name, url=url, status=answer.status_code,
                hint='the server sends its answer too slowly: try again later, or raise deadline')
        try:
            return body.decode(answer.encoding or 'utf-8', 'replace')
        except LookupError:  # a charset Python does not know
            return body.decode('utf-8', 'replace')

    def _explain(self, exc, url, secrets):
        """A TransportError that says in plain words what went wrong and what to check."""
        profile = self.profile
        cause = _root_cause(exc)
        reason = server_text(_library_reason(cause), secrets)
        name = type(cause).__name__
        common = dict(profile=profile.name, url=url)
        if isinstance(exc, requests.exceptions.SSLError) or 'SSL' in name or 'Certificate' in name:
            # ssl.SSLCertVerificationError says why in verify_message ("unable to get local issuer certificate",
            # "IP address mismatch, ..."); other SSL errors only have OpenSSL's text.
            why = getattr(cause, 'verify_message', None)
            if why:
                what = 'the server certificate did not verify (%s)' % server_text(why.rstrip('.'), secrets)
            else:
                what = reason
            if profile.get('ca_path'):
                hint = ('ca_path %s does not hold the CA that signed the server certificate, or the certificate '
                        'does not name this host: check both' % profile['ca_path'])
            else:
                hint = 'set ca_path to the CA bundle that signed the server certificate'
            return TransportError('TLS verification failed: %s' % what, hint=(
                hint + ' (validate_certs: false only for a test server)'), **common)
        if isinstance(exc, requests.exceptions.Timeout) or 'Timeout' in name:
            return TransportError('no answer within timeout=%ss' % profile['timeout'], hint=(
                'check that the server is up and answering, or raise timeout'), **common)
        if 'NameResolution' in name or 'Name or service not known' in str(cause):
            return TransportError('the host name %s does not resolve' % urlsplit(url).hostname, hint=(
                'check the URL for typos and the DNS configuration of this host'), **common)
        if isinstance(exc, requests.exceptions.ConnectionError):
            return TransportError('cannot connect: %s' % reason, hint=(
                'check the URL and that the server is up and reachable from this host '
                '(proxies are taken from https_proxy/no_proxy, never for localhost or a loopback address)'), **common)
        return TransportError('request failed: %s' % reason, **common)


def _root_cause(exc):
    """The innermost exception: requests wraps urllib3's MaxRetryError, which wraps the real reason."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, 'reason', None)
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _library_reason(exc):
    """The cause without urllib3's long wrapper text ("HTTPConnectionPool(...): Failed to establish...")."""
    text = str(exc)
    for marker in ('Failed to establish a new connection: ', 'Caused by '):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r'\s*\(_ssl\.c:\d+\)', '', text)  # OpenSSL's source line: noise, and its ")" would be stripped
    return text.strip('()\'" ')[:300]
