# -*- coding: utf-8 -*-
"""Transport against a throwaway in-process HTTP server: retries, Retry-After, deadline, redirects, netrc."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.server
import json
import threading
import time

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TransportError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import Transport, check_url


class Script(object):
    """Answers to give, in order; the last one repeats."""

    def __init__(self):
        self.answers = []
        self.seen = []


@pytest.fixture
def server():
    script = Script()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get('Content-Length') or 0)
            self.rfile.read(length)
            script.seen.append(dict(path=self.path, authorization=self.headers.get('Authorization'),
                                    at=time.monotonic()))
            status, headers, body = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
            if isinstance(body, float):
                time.sleep(body)
                body = '{}'
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = 'http://127.0.0.1:%d' % httpd.server_address[1]
    yield script
    httpd.shutdown()
    httpd.server_close()


def transport(**options):
    base = dict(token_url='http://127.0.0.1/token', client_id='app', client_secret='s')
    base.update(options)
    return Transport(build_profile('p', base))


OK = (200, {'Content-Type': 'application/json'}, json.dumps({'access_token': 'a'}))


def test_5xx_then_success_is_retried(server):
    server.answers = [(503, {}, ''), (502, {}, ''), OK]
    response = transport().request('POST', server.url + '/token', data={'a': 1})
    assert response.status == 200 and len(server.seen) == 3


def test_retries_are_bounded(server):
    server.answers = [(500, {}, 'down')]
    response = transport(retries=2).request('POST', server.url + '/token')
    assert response.status == 500 and len(server.seen) == 3


def test_not_retried_when_unsafe(server):
    server.answers = [(503, {}, ''), OK]
    response = transport().request('POST', server.url + '/token', retry_safe=False)
    assert response.status == 503 and len(server.seen) == 1


def test_retry_after_is_honoured(server):
    server.answers = [(429, {'Retry-After': '1'}, ''), OK]
    response = transport().request('POST', server.url + '/token')
    assert response.status == 200
    assert server.seen[1]['at'] - server.seen[0]['at'] >= 0.9


def test_retry_after_is_bounded_by_deadline(server):
    server.answers = [(429, {'Retry-After': '3600'}, '')]
    started = time.monotonic()
    response = transport(deadline=1.5).request('POST', server.url + '/token')
    assert response.status == 429 and time.monotonic() - started < 5


def test_timeout_is_a_transport_error(server):
    server.answers = [(200, {}, 2.0)]
    with pytest.raises(TransportError, match='no answer within timeout=0.5s'):
        transport(timeout=0.5, retries=0).request('POST', server.url + '/token')


def test_connection_refused_names_url():
    with pytest.raises(TransportError) as err:
        transport(retries=1).request('POST', 'http://127.0.0.1:9/token')
    assert 'cannot connect' in str(err.value) and 'http://127.0.0.1:9/token' in str(err.value)


def test_redirect_not_followed(server):
    server.answers = [(302, {'Location': '/elsewhere'}, '')]
    response = transport().request('POST', server.url + '/token', headers={'Authorization': 'Basic x'})
    assert response.status == 302 and [s['path'] for s in server.seen] == ['/token']


def test_netrc_never_replaces_credentials(server, tmp_path, monkeypatch):
    netrc = tmp_path / '.netrc'
    netrc.write_text('machine 127.0.0.1 login intruder password netrc-pass\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    monkeypatch.setenv('HOME', str(tmp_path))
    server.answers = [OK]
    transport().request('POST', server.url + '/token', data={'client_id': 'app'})
    assert server.seen[0]['authorization'] is None


@pytest.mark.parametrize('url', ['http://idp.example/token', 'ftp://127.0.0.1/x', 'not a url'])
def test_insecure_or_bogus_urls_refused(url):
    with pytest.raises(ProfileError):
        check_url(url, build_profile('p', dict(token_url='https://x', client_id='a', client_secret='s')))


@pytest.mark.parametrize('url', ['http://127.0.0.1/t', 'http://localhost:8080/t', 'http://[::1]/t', 'https://a.example'])
def test_loopback_http_and_https_allowed(url):
    check_url(url, build_profile('p', dict(token_url='https://x', client_id='a', client_secret='s')))


def test_insecure_http_allowed_when_asked():
    check_url('http://idp.example/t', build_profile('p', dict(token_url='https://x', client_id='a', client_secret='s',
                                                              allow_insecure_http=True)))


# --- issue #12: loopback never through a proxy (finding 8), *.localhost, URLs a server gives ------------------------

class RecordingProxy(object):
    """A real HTTP proxy listening on 127.0.0.1 that records every request reaching it and answers 502."""

    def __init__(self):
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_any(self):
                length = int(self.headers.get('Content-Length') or 0)
                seen.append(dict(line=self.requestline, body=self.rfile.read(length).decode()))
                self.send_response(502)
                self.send_header('Content-Length', '0')
                self.end_headers()
            do_GET = do_POST = do_CONNECT = do_any

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(monkeypatch):
    recording = RecordingProxy()
    for name in ('no_proxy', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)
    for name in ('http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.setenv(name, recording.url)
    yield recording
    recording.close()


@pytest.mark.parametrize('host', ['127.0.0.1', 'localhost'])
def test_loopback_is_never_sent_through_a_proxy(server, proxy, host):
    server.answers = [OK]
    url = server.url.replace('127.0.0.1', host) + '/token'
    response = transport().request('POST', url, data={'client_secret': 'proxied-secret-1'})
    assert response.status == 200 and len(server.seen) == 1
    assert proxy.seen == [], 'the form with client_secret reached the proxy'


def test_other_hosts_still_use_the_proxy_from_the_environment(proxy):
    response = transport(allow_insecure_http=True, retries=0).request('POST', 'http://idp.example/token',
                                                                      data={'grant_type': 'client_credentials'})
    assert response.status == 502 and [s['line'] for s in proxy.seen] == ['POST http://idp.example/token HTTP/1.1']


@pytest.mark.parametrize('url', ['http://app.localhost/t', 'http://localhost.evil.example/t', 'http://localhost./t',
                                 'http://127.0.0.1.nip.io/t'])
def test_only_localhost_itself_and_loopback_literals_count_as_loopback(url):
    with pytest.raises(ProfileError, match='not loopback'):
        check_url(url, build_profile('p', dict(token_url='https://x', client_id='a', client_secret='s')))


@pytest.mark.parametrize('url', ['https://user:pw-from-server@idp.example/t', 'https://idp.example/\x1b]0;x\x07',
                                 ['https://idp.example/t']])
def test_a_url_from_a_server_is_checked_like_a_profile_url(url):
    with pytest.raises(ProfileError) as err:
        check_url(url, build_profile('p', dict(token_url='https://x', client_id='a', client_secret='s')),
                  option='token_endpoint')
    assert 'token_endpoint' in str(err.value) and 'pw-from-server' not in str(err.value)
    assert '\x1b' not in str(err.value)
