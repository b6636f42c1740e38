# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import pytest
import requests

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import AuthorizationError
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.loopback import LoopbackListener


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_any_free_port_when_the_redirect_uri_names_none(capfd):
    listener = LoopbackListener('http://127.0.0.1/callback')
    assert listener.port > 0 and listener.redirect_uri == 'http://127.0.0.1:%d/callback' % listener.port
    seen = []
    listener.start(lambda url: seen.append(url) or 'the-code')
    assert requests.get('http://127.0.0.1:%d/favicon.ico' % listener.port, timeout=5).status_code == 404
    answer = requests.get(listener.redirect_uri + '?code=the-code&state=s', timeout=5)
    assert answer.status_code == 200 and 'Authorization received' in answer.text
    assert answer.headers['Cache-Control'] == 'no-store'
    assert listener.wait(5) == 'the-code'
    assert seen == [listener.redirect_uri + '?code=the-code&state=s']
    out, err = capfd.readouterr()
    assert 'the-code' not in out + err, 'http.server logs request lines; the listener must not'
    with pytest.raises(requests.ConnectionError):
        requests.get(listener.redirect_uri, timeout=2)  # closed after one redirect


def test_port_zero_and_localhost():
    with LoopbackListener('http://localhost:0/cb') as listener:
        assert listener.redirect_uri == 'http://localhost:%d/cb' % listener.port


def test_the_named_port_and_an_override():
    port = free_port()
    with LoopbackListener('http://127.0.0.1:%d/cb' % port) as listener:
        assert listener.port == port and listener.redirect_uri == 'http://127.0.0.1:%d/cb' % port
    other = free_port()
    with LoopbackListener('http://127.0.0.1:%d/cb' % port, port=other) as listener:
        assert listener.redirect_uri == 'http://127.0.0.1:%d/cb' % other


def test_an_error_in_the_redirect_is_shown_in_the_browser_and_raised():
    listener = LoopbackListener('http://127.0.0.1/callback')

    def refuse(url):
        raise AuthorizationError('the authorization server refused the authorization', error='access_denied',
                                 error_description='<b>no</b>')
    listener.start(refuse)
    answer = requests.get(listener.redirect_uri + '?error=access_denied', timeout=5)
    assert answer.status_code == 400 and 'access_denied - &lt;b&gt;no&lt;/b&gt;' in answer.text
    with pytest.raises(AuthorizationError):
        listener.wait(5)


def test_nothing_within_the_timeout():
    listener = LoopbackListener('http://127.0.0.1/callback')
    listener.start(lambda url: 'never')
    assert listener.wait(0.3) is None


@pytest.mark.parametrize('uri', ['https://127.0.0.1/cb', 'http://example.org/cb', 'http://10.1.2.3/cb', 'cb'])
def test_only_plain_http_on_loopback(uri):
    with pytest.raises(ProfileError, match='loopback'):
        LoopbackListener(uri, profile_name='p')


def test_a_busy_port_is_explained():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(ProfileError, match='cannot listen on 127.0.0.1 port %d' % port):
            LoopbackListener('http://127.0.0.1:%d/cb' % port)


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip('no IPv6')
    try:
        listener = LoopbackListener('http://[::1]/cb')
    except ProfileError:
        pytest.skip('IPv6 loopback not configured')
    with listener:
        assert listener.redirect_uri == 'http://[::1]:%d/cb' % listener.port


# --- issue #12, finding 5: whoever can reach the listener (any local process, any web page) ------------------------

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import (  # noqa: E402
    AuthorizationRequest, parse_redirect)


def listening(redirect_uri='http://127.0.0.1/callback'):
    """A listener started as the authorize plugin starts it: parse_redirect against a real request."""
    listener = LoopbackListener(redirect_uri)
    request = AuthorizationRequest('https://idp.example/authorize', 'app', listener.redirect_uri)
    listener.start(lambda url: parse_redirect(url, request, 'p'))
    return listener, request


@pytest.mark.parametrize('stray', [
    '?code=attacker-code',
    '?code=attacker-code&state=wrong-state',
    '?error=access_denied&error_description=Call+0800+now&error_uri=https://evil.example/help',
    '?error=access_denied&error_description=Call+0800+now&state=wrong-state',
    '',
])
def test_a_request_without_this_authorizations_state_is_refused_and_the_wait_goes_on(stray):
    listener, request = listening()
    with listener:
        answer = requests.get(listener.redirect_uri + stray, timeout=5)
        assert answer.status_code == 400
        assert '0800' not in answer.text and 'evil.example' not in answer.text
        assert requests.get('http://127.0.0.1:%d/other' % listener.port, timeout=5).status_code == 404
        # The genuine redirect still reaches the listener and completes the authorization.
        genuine = requests.get(listener.redirect_uri + '?code=the-code&state=' + request.state, timeout=5)
        assert genuine.status_code == 200 and 'Authorization received' in genuine.text
        assert listener.wait(5) == 'the-code'


def test_an_error_with_the_right_state_ends_the_wait_without_error_uri():
    listener, request = listening()
    answer = requests.get(listener.redirect_uri + '?error=access_denied&error_description=no&error_uri='
                          'https://idp.example/help&state=' + request.state, timeout=5)
    assert answer.status_code == 400 and 'access_denied - no' in answer.text and 'help' not in answer.text
    with pytest.raises(AuthorizationError) as err:
        listener.wait(5)
    assert err.value.error == 'access_denied' and 'idp.example/help' not in str(err.value)


def test_stray_requests_until_the_timeout_end_in_no_redirect():
    listener, unused_request = listening()
    assert requests.get(listener.redirect_uri + '?code=x&state=y', timeout=5).status_code == 400
    assert listener.wait(0.5) is None


def test_localhost_listens_on_both_loopback_addresses_on_one_port():
    """A browser may resolve localhost to ::1 or to 127.0.0.1: the listener holds both, so that no other local user
    can take the other one on the same port and receive the redirect (RFC 8252 section 8.3)."""
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(('::1', 0))
        except OSError:
            pytest.skip('no IPv6 loopback here')
    listener, request = listening('http://localhost/callback')
    with listener:
        port = listener.port
        assert listener.redirect_uri == 'http://localhost:%d/callback' % port
        for family, address in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
            with socket.socket(family) as squatter:
                with pytest.raises(OSError):
                    squatter.bind((address, port))
        assert requests.get('http://[::1]:%d/callback?code=x' % port, timeout=5).status_code == 400
        answer = requests.get('http://[::1]:%d/callback?code=v6-code&state=%s' % (port, request.state), timeout=5)
        assert answer.status_code == 200 and listener.wait(5) == 'v6-code'


def test_the_browsers_one_time_link_leads_to_the_authorization_url_once():
    listener = LoopbackListener('http://127.0.0.1/callback', profile_name='p')
    listener.start(lambda url: 'the-code', 'https://idp.example/auth?state=s3cret-state')
    assert listener.browser_url.startswith(listener.base_url + '/tokenops-authorize-')
    assert 's3cret-state' not in listener.browser_url
    first = requests.get(listener.browser_url, allow_redirects=False, timeout=5)
    assert first.status_code == 302 and first.headers['Location'] == 'https://idp.example/auth?state=s3cret-state'
    assert first.headers['Cache-Control'] == 'no-store'
    second = requests.get(listener.browser_url, allow_redirects=False, timeout=5)
    assert second.status_code == 400 and 'Location' not in second.headers and 's3cret' not in second.text
    with pytest.raises(AuthorizationError, match='requested twice') as info:
        listener.wait(5)
    assert info.value.profile == 'p' and 'open_browser off' in info.value.hint


def test_without_an_authorization_url_there_is_no_link_to_follow():
    listener = LoopbackListener('http://127.0.0.1/callback')
    listener.start(lambda url: 'the-code')
    assert requests.get(listener.browser_url, allow_redirects=False, timeout=5).status_code == 404
    listener.close()
