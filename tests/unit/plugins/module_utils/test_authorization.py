# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import stat

import pytest
from urllib.parse import parse_qs, urlsplit

from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import (
    AuthorizationError, AuthorizationRequest, PendingAuthorizations, add_query, exchange_code, new_request,
    parse_redirect)
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import CacheError, ProfileError, TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.pkce import code_challenge
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response

ENDPOINT = 'https://idp.example/authorize'
REDIRECT = 'https://app.example/callback'


def profile(**options):
    base = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret', redirect_uri=REDIRECT)
    base.update(options)
    return build_profile('p', base)


def query(url):
    return dict((k, v if len(v) > 1 else v[0]) for k, v in parse_qs(urlsplit(url).query).items())


def request(**kwargs):
    return new_request(profile(**kwargs.pop('options', {})), ENDPOINT, REDIRECT, **kwargs)


def test_url_has_state_and_s256_challenge_never_the_verifier():
    req = request(options=dict(scope=['read', 'write']))
    params = query(req.url)
    assert params == dict(response_type='code', client_id='app', redirect_uri=REDIRECT, scope='read write',
                          state=req.state, code_challenge=code_challenge(req.code_verifier),
                          code_challenge_method='S256')
    assert req.code_verifier not in req.url


def test_endpoint_query_is_kept_and_extra_params_added():
    req = new_request(profile(), 'https://idp.example/authorize?tenant=t1', REDIRECT,
                      params=dict(login_hint='ops@example.org', acr_values=['a', 'b']))
    assert req.url.startswith('https://idp.example/authorize?tenant=t1&response_type=code&')
    params = query(req.url)
    assert params['tenant'] == 't1' and params['login_hint'] == 'ops@example.org'
    assert params['acr_values'] == ['a', 'b']


def test_resource_and_audience_go_to_the_authorization_endpoint():
    params = query(request(options=dict(resource=['urn:a', 'urn:b'], audience='api')).url)
    assert params['resource'] == ['urn:a', 'urn:b'] and params['audience'] == 'api'


def test_offline_access_asks_for_consent_unless_prompt_is_given():
    assert query(request(options=dict(scope='openid offline_access')).url)['prompt'] == 'consent'
    assert query(request(options=dict(scope='openid offline_access'), params=dict(prompt='login')).url)['prompt'] \
        == 'login'
    assert 'prompt' not in query(request(options=dict(scope='openid')).url)


@pytest.mark.parametrize('name', ['state', 'code_challenge', 'redirect_uri', 'client_id'])
def test_extra_params_cannot_replace_what_protects_the_flow(name):
    with pytest.raises(ProfileError, match="may not set %s" % name):
        request(params={name: 'x'})


def test_add_query_on_a_bare_endpoint():
    assert add_query('https://a.example/x', [('a', '1 2')]) == 'https://a.example/x?a=1+2'


def redirect(req, **params):
    fields = dict(state=req.state)
    fields.update(params)
    return add_query(REDIRECT, [(k, v) for k, v in fields.items() if v is not None])


def test_redirect_gives_the_code():
    req = request()
    assert parse_redirect(redirect(req, code='the-code'), req) == 'the-code'
    # A trailing slash, a default port or an upper-case host is still the redirect URI.
    assert parse_redirect(redirect(req, code='c').replace('app.example/', 'APP.example:443/'), req) == 'c'


def test_a_pasted_query_alone_is_enough():
    req = request()
    assert parse_redirect('  code=abc&state=%s\n' % req.state, req) == 'abc'
    assert parse_redirect('?code=abc&state=%s' % req.state, req) == 'abc'


def test_fragment_response_mode():
    req = request()
    assert parse_redirect('%s#code=frag&state=%s' % (REDIRECT, req.state), req) == 'frag'


@pytest.mark.parametrize('state', ['other-state', '', None])
def test_state_mismatch_is_refused_without_repeating_the_code(state):
    req = request()
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, code='secret-code-123', state=state), req, profile_name='p')
    message = str(info.value)
    assert 'state' in message and 'secret-code-123' not in message and REDIRECT + '?' not in message
    assert info.value.hint


def test_error_redirect_carries_the_servers_words():
    req = request()
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, error='access_denied', error_description='The user said no'), req, 'p')
    assert info.value.error == 'access_denied' and info.value.error_description == 'The user said no'
    assert str(info.value) == ("profile 'p': the authorization server refused the authorization: access_denied - "
                               "The user said no. Hint: " + info.value.hint)
    assert 'refused the authorization' in info.value.hint


def test_error_uri_is_never_shown():
    """Issue #12, finding 5: error_uri is whatever the sender of the redirect wants the operator to open."""
    req = request()
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, error='consent_required', error_uri='https://idp.example/help'), req)
    assert info.value.error == 'consent_required' and 'idp.example/help' not in str(info.value)


@pytest.mark.parametrize('state', ['other-state', None])
def test_an_error_without_this_requests_state_is_not_the_servers_answer(state):
    req = request()
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, error='access_denied', error_description='Call 0800 now', state=state), req)
    assert 'state' in str(info.value) and info.value.error is None and '0800' not in str(info.value)


def test_the_servers_words_in_a_redirect_are_escaped_and_checked():
    req = request()
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, error='access\x1b[2Jdenied', error_description='\x1b]0;owned\x07no'), req)
    assert info.value.error is None and '\x1b' not in str(info.value) and 'not shown' in str(info.value)
    with pytest.raises(AuthorizationError) as info:
        parse_redirect(redirect(req, code='c', iss='https://other.example/\x1b[2J'), req, issuer='https://idp.example')
    assert 'RFC 9207' in str(info.value) and '\x1b' not in str(info.value)


def test_an_address_elsewhere_is_not_the_redirect():
    req = request()
    with pytest.raises(AuthorizationError, match='not an address under the redirect URI'):
        parse_redirect('https://evil.example/callback?code=c&state=%s' % req.state, req)
    with pytest.raises(AuthorizationError, match='not an address under'):
        parse_redirect('https://app.example/other?code=c&state=%s' % req.state, req)


def test_rfc9207_issuer_mismatch_is_refused():
    req = request()
    url = redirect(req, code='c', iss='https://other.example')
    with pytest.raises(AuthorizationError, match='RFC 9207'):
        parse_redirect(url, req, issuer='https://idp.example')
    assert parse_redirect(redirect(req, code='c', iss='https://idp.example/'), req, issuer='https://idp.example') \
        == 'c'


@pytest.mark.parametrize('url', ['', '   ', REDIRECT])
def test_no_code_no_error(url):
    req = request()
    with pytest.raises(AuthorizationError):
        parse_redirect(url, req)
    with pytest.raises(AuthorizationError, match='neither a code nor an error'):
        parse_redirect(redirect(req), req)


def test_exchange_sends_code_verifier_and_redirect_uri_once():
    prof = profile(scope='openid offline_access', grant_type='refresh_token', refresh_token='old-refresh')
    req = new_request(prof, ENDPOINT, 'http://127.0.0.1:4711/callback')
    transport = FakeTransport(json_response({'access_token': 'at', 'refresh_token': 'rt', 'expires_in': 60}))
    token = exchange_code(prof, req, 'the-code', transport, clock=lambda: 1000.0)
    assert (token.access_token, token.refresh_token, token.scope) == ('at', 'rt', 'openid offline_access')
    call, = transport.calls
    assert call['data'] == dict(grant_type='authorization_code', code='the-code', code_verifier=req.code_verifier,
                                redirect_uri='http://127.0.0.1:4711/callback')
    assert base64.b64decode(call['headers']['Authorization'][6:]) == b'app:s3cret'
    assert call['retry_safe'] is False  # a code is single-use


def test_exchange_error_is_redacted_of_the_code():
    prof = profile(client_auth='none', client_secret=None)
    req = new_request(prof, ENDPOINT, REDIRECT)
    transport = FakeTransport(json_response(
        {'error': 'invalid_grant', 'error_description': 'code the-code-4711 was used'}, status=400))
    with pytest.raises(TokenEndpointError) as info:
        exchange_code(prof, req, 'the-code-4711', transport)
    assert 'the-code-4711' not in str(info.value) and info.value.error == 'invalid_grant'
    assert transport.calls[0]['data']['client_id'] == 'app'


def test_pending_requests_round_trip_in_private_files(tmp_path):
    clock = [1000.0]
    pending = PendingAuthorizations(str(tmp_path / 'cache'), max_age=900, clock=lambda: clock[0])
    req = AuthorizationRequest(ENDPOINT, 'app', REDIRECT, scope='openid', params={'prompt': 'login'},
                               created_at=clock[0])
    key = pending.key(profile(), ENDPOINT)
    pending.save(key, req)
    assert stat.S_IMODE(os.stat(str(tmp_path / 'cache')).st_mode) == 0o700
    path, = list((tmp_path / 'cache').iterdir())
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    loaded = pending.load(key)
    assert loaded.url == req.url and loaded.code_verifier == req.code_verifier
    clock[0] += 901
    assert pending.load(key) is None and not list((tmp_path / 'cache').iterdir())


@pytest.mark.parametrize('where', ['a_file', 'nul'])
def test_an_unusable_directory_is_named_with_what_to_set(tmp_path, where):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    directory = str(blocker / 'cache') if where == 'a_file' else str(tmp_path) + '/c\x00'
    pending = PendingAuthorizations(directory, profile_name='p')
    request = AuthorizationRequest(ENDPOINT, 'app', REDIRECT, scope='openid', created_at=1000.0)
    with pytest.raises(CacheError) as caught:
        pending.save(pending.key(profile(), ENDPOINT), request)
    assert 'cannot keep the waiting authorization request' in str(caught.value)
    assert caught.value.profile == 'p' and 'cache_dir' in caught.value.hint


def test_pending_keys_differ_by_profile_client_and_endpoint(tmp_path):
    keys = {PendingAuthorizations.key(profile(), ENDPOINT), PendingAuthorizations.key(profile(client_id='b'), ENDPOINT),
            PendingAuthorizations.key(profile(), ENDPOINT + '2'),
            PendingAuthorizations.key(build_profile('q', dict(token_url='https://t', client_id='app',
                                                              client_secret='s')), ENDPOINT)}
    assert len(keys) == 4
    pending = PendingAuthorizations(str(tmp_path))
    assert pending.load('missing') is None
    pending.remove('missing')
