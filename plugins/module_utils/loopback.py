# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A one-shot HTTP listener on the loopback interface that receives the authorization redirect (RFC 8252 7.3).

It binds the IP literal of the redirect URI, on the port the redirect URI names, or on one the OS picks when it
names none (or ``:0``); RFC 8252 section 7.3 has servers accept any port for a loopback redirect URI.

``localhost`` binds both 127.0.0.1 and ::1 on the same port: a browser may resolve it to either, and an address
left free would let another local user listen there on that port and receive the code (RFC 8252 section 8.3
advises the IP literals for this reason; providers that only register ``localhost`` keep working).

Any local process, and any web page the browser shows, can send requests here. Requests to other paths (a
browser's ``/favicon.ico``) are answered 404; a request to the redirect path without this authorization's
``state`` is answered 400, without repeating what it says, and the wait goes on. Only the redirect that carries the
state (with a code or with the server's error) ends it. Nothing is logged: the request line carries the code.

A browser started for the person gets the listener's one-time link (``browser_url``) rather than the authorization
URL: a command line is readable by every user of the machine, and the URL's ``state`` and ``code_challenge`` would
let another user answer the listener with a code for an account of their own. The link sends the browser on to the
authorization URL once; a second request for it (whoever comes second: that user, or the browser after them) ends
the wait with an error, so that the person sees the authorization fail rather than someone else finish it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import socket
import threading

from ansible.module_utils.six.moves.BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
from ansible.module_utils.six.moves.socketserver import ThreadingMixIn
from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import AuthorizationError, StrayRedirect
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error, ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.pkce import new_state

from html import escape

PAGE = u'''<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%(title)s</title></head>
<body style="font-family: sans-serif; margin: 3em"><h1>%(title)s</h1><p>%(text)s</p></body></html>
'''


def _page(title, text):
    return (PAGE % dict(title=escape(title), text=escape(text))).encode('utf-8')


class _Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    timeout = 10  # a browser's idle preconnect must not hold a thread forever
    server_version = 'tokenops-oauth2-authorize'
    sys_version = ''

    def do_GET(self):  # noqa: N802 - http.server's naming
        listener = self.server.listener
        with listener.lock:  # one answer ends the wait, even when two arrive at once
            path = urlsplit(self.path).path
            if path == listener.link_path and listener.authorization_url and not listener.done.is_set():
                self._follow_link(listener)
                return
            if path != listener.path or listener.done.is_set():
                self._reply(404, _page('Not found', 'This is not the redirect address of the authorization.'))
                return
            try:
                listener.result = listener.accept(listener.base_url + self.path)
            except StrayRedirect:
                self._reply(400, _page('Not this authorization', 'This address only accepts the answer to the '
                                       'authorization in progress. You can close this window.'))
                return
            except OAuth2Error as exc:
                listener.error = exc
                said = ' - '.join(text for text in (exc.error, exc.error_description) if text)
                self._reply(400, _page('Authorization failed', '%s%s. You can close this window; the terminal says '
                                       'more.' % (exc.message, ': ' + said if said else '')))
            else:
                self._reply(200, _page('Authorization received', 'Ansible has the authorization and is fetching '
                                       'the token. You can close this window and return to the terminal.'))
            listener.done.set()

    def _follow_link(self, listener):
        """The one-time link: on to the authorization URL the first time, the end of the wait the second."""
        if not listener.link_followed:
            listener.link_followed = True
            self._reply(302, b'', location=listener.authorization_url)
            return
        listener.error = AuthorizationError(
            'the one-time link given to the browser was requested twice, so someone else on this machine may have '
            'read it (from the browser\'s command line) and followed it', profile=listener.profile_name,
            hint='run again, and open the link only once; on a machine shared with users you do not trust, leave '
                 'open_browser off and copy the URL shown instead')
        self._reply(400, _page('Authorization stopped', 'This link was already used, so the authorization was '
                               'stopped. You can close this window; the terminal says more.'))
        listener.done.set()

    def _reply(self, status, body, location=None):
        self.send_response(status)
        if location:
            self.send_header('Location', location)
        self.send_header('Content-Type', 'text/html; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass  # the request line holds the authorization code


LOCALHOST = ('127.0.0.1', '::1')
# Without IPv6 on this host nobody can listen on ::1 either: 127.0.0.1 alone is then enough for localhost.
NO_ADDRESS = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
PORT_ATTEMPTS = 5  # a free port on 127.0.0.1 may be taken on ::1; try a few


def _bind_hosts(host, profile_name):
    if host == 'localhost':
        return LOCALHOST
    try:
        if ipaddress.ip_address(host).is_loopback:
            return (host,)
    except ValueError:
        pass
    raise ProfileError("the loopback flow needs a redirect_uri on 127.0.0.1, [::1] or localhost (RFC 8252 section "
                       "7.3), not on '%s'" % host, profile=profile_name,
                       hint='register http://127.0.0.1/callback (any port) for the client, or use flow paste')


def _server(host, port):
    server_class = type('_LoopbackServer', (_Server,), dict(
        address_family=socket.AF_INET6 if ':' in host else socket.AF_INET))
    return server_class((host, port), _Handler)


def _bind_all(hosts, port, profile_name):
    """One server per host, all on PORT (for 0: the port the OS picks for the first host, which the others take)."""
    for attempt in range(PORT_ATTEMPTS):
        servers, failure = [], None
        for host in hosts:
            wanted = servers[0].server_address[1] if servers else port
            try:
                servers.append(_server(host, wanted))
            except (OSError, socket.error) as exc:
                if servers and exc.errno in NO_ADDRESS:
                    continue
                failure = (host, wanted, exc)
                break
        if failure is None:
            return servers
        for server in servers:
            server.server_close()
        host, wanted, exc = failure
        if port or exc.errno != errno.EADDRINUSE or attempt == PORT_ATTEMPTS - 1:
            raise ProfileError('cannot listen on %s port %d for the redirect: %s' % (host, wanted, exc),
                               profile=profile_name,
                               hint='free the port, or use a redirect_uri without a port (any free port is then '
                                    'used, which RFC 8252 servers accept)')


def loopback_redirect(redirect_uri, profile_name=None):
    """The addresses to listen on for REDIRECT_URI and the port it names (None: any); ProfileError when it is not an
    http:// loopback URI. Checked before anything is shown, and again when listening."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != 'http' or not parts.hostname:
        raise ProfileError("the loopback flow needs an http:// loopback redirect_uri, not '%s'" % redirect_uri,
                           profile=profile_name, hint='such as http://127.0.0.1/callback')
    try:
        named_port = parts.port
    except ValueError:
        raise ProfileError("redirect_uri '%s' has an invalid port" % redirect_uri, profile=profile_name)
    return _bind_hosts(parts.hostname, profile_name), named_port


class LoopbackListener(object):
    """Listen for the redirect. ``redirect_uri`` is what to send in the authorization request (real port in it)."""

    def __init__(self, redirect_uri, port=None, profile_name=None):
        parts = urlsplit(redirect_uri)
        hosts, named_port = loopback_redirect(redirect_uri, profile_name)
        bind_port = port if port is not None else (named_port or 0)
        self._servers = _bind_all(hosts, bind_port, profile_name)
        for server in self._servers:
            server.listener = self
        self.port = self._servers[0].server_address[1]
        if named_port == self.port or (named_port is None and self.port == 80):
            self.redirect_uri = redirect_uri
        else:
            netloc = '%s:%d' % ('[%s]' % parts.hostname if ':' in parts.hostname else parts.hostname, self.port)
            self.redirect_uri = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ''))
        self.path = parts.path or '/'
        self.base_url = '%s://%s' % (parts.scheme, urlsplit(self.redirect_uri).netloc)
        self.profile_name = profile_name
        self.link_path = '/tokenops-authorize-%s' % new_state()
        self.browser_url = self.base_url + self.link_path
        self.link_followed = False
        self.authorization_url = None
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.accept = None
        self.result = None
        self.error = None
        self._threads = []

    def start(self, accept, authorization_url=None):
        """Serve in the background. ACCEPT(url) returns what wait() returns, raises StrayRedirect for a request that
        is not the answer (refused, the wait goes on), or another OAuth2Error (the wait ends with it). With
        AUTHORIZATION_URL, ``browser_url`` leads there, once."""
        self.accept = accept
        self.authorization_url = authorization_url
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.2))
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def wait(self, timeout):
        """What ``accept`` returned for the redirect, or its error; None when none came within TIMEOUT seconds."""
        try:
            if not self.done.wait(timeout):
                return None
            if self.error is not None:
                raise self.error
            return self.result
        finally:
            self.close()

    def close(self):
        for server, thread in zip(self._servers, self._threads):
            server.shutdown()
            thread.join(5)
        self._threads = []
        for server in self._servers:
            server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
