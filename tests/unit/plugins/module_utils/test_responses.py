# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.responses import parse_token_response

from .fakes import json_response, text_response

NOW = 1700000000.0
PROFILE = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret-xyz'))


def parse(response, profile=PROFILE, scope=None):
    return parse_token_response(response, profile, NOW, scope)


def jwt(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip('=')
    return '%s.%s.sig' % (part({'alg': 'none'}), part(claims))


@pytest.mark.parametrize('expires_in', [3600, '3600', 3600.0, '3600.0'])
def test_expires_in_any_numeric_form(expires_in):
    token = parse(json_response({'access_token': 'a', 'token_type': 'Bearer', 'expires_in': expires_in}))
    assert token.expires_at_ts == NOW + 3600


def test_lowercase_bearer_from_spring_is_normalised():
    token = parse(json_response({'access_token': 'a', 'token_type': 'bearer', 'expires_in': 42961,
                                 'refresh_token': 'r', 'scope': 'read write'}))
    assert token.token_type == 'Bearer' and token.header() == 'Bearer a'
    assert token.refresh_token == 'r' and token.scope == 'read write'


def test_keycloak_null_refresh_token_means_none():
    token = parse(json_response({'access_token': 'a', 'refresh_token': None, 'refresh_expires_in': 0,
                                 'expires_in': 300, 'token_type': 'Bearer'}))
    assert token.refresh_token is None


def test_granted_scope_recorded_even_when_different():
    token = parse(json_response({'access_token': 'a', 'expires_in': 60, 'scope': 'read'}), scope='read write')
    assert token.scope == 'read'
    token = parse(json_response({'access_token': 'a', 'expires_in': 60}), scope='read write')
    assert token.scope == 'read write'


def test_missing_expires_in_reads_jwt_exp_then_default_ttl():
    token = parse(json_response({'access_token': jwt({'exp': NOW + 900}), 'token_type': 'Bearer'}))
    assert token.expires_at_ts == NOW + 900
    token = parse(json_response({'access_token': 'opaque'}))
    assert token.expires_at_ts == NOW + 300


@pytest.mark.parametrize('expires_in', [-5, 0, 'soon', 10 ** 12, True])
def test_unusable_expires_in_is_an_error(expires_in):
    with pytest.raises(TokenEndpointError, match='expires_in'):
        parse(json_response({'access_token': 'a', 'expires_in': expires_in}))


def test_rfc6749_error_read_from_body_first():
    with pytest.raises(TokenEndpointError) as err:
        parse(json_response({'error': 'invalid_client', 'error_description': 'Bad client s3cret-xyz'}, status=401))
    message = str(err.value)
    assert "profile 'p'" in message and 'HTTP 401' in message and 'https://idp.example/token' in message
    assert 'invalid_client - Bad client ********' in message
    assert 's3cret-xyz' not in message
    assert 'check client_id/client_secret' in message


def test_depotfinity_403_gets_its_preset_hint():
    depot = build_profile('d', dict(preset='depotfinity', region='eu', client_id='c', client_secret='s'))
    with pytest.raises(TokenEndpointError, match='DepotFinity answers 403'):
        parse(json_response({'message': 'Forbidden'}, status=403), profile=depot)


def test_404_hint():
    with pytest.raises(TokenEndpointError, match='check the token URL'):
        parse(text_response('Not Found', status=404, content_type='text/plain'))


def test_401_hint_mentions_environment():
    with pytest.raises(TokenEndpointError, match='sandbox vs production'):
        parse(text_response('', status=401))


def test_html_page_explained_with_redacted_excerpt():
    html = '<html><head><style>p{}</style></head><body><h1>Sign in</h1><p>client s3cret-xyz</p>' + 'x' * 500
    with pytest.raises(TokenEndpointError) as err:
        parse(text_response(html, status=200))
    message = str(err.value)
    assert 'answered with text/html, not a token endpoint' in message
    assert 'Sign in client ********' in message
    assert '<h1>' not in message and 's3cret-xyz' not in message and len(message) < 600


def test_truncated_json_and_missing_access_token():
    with pytest.raises(TokenEndpointError, match='not a token endpoint'):
        parse(text_response('{"access_token": "abc', content_type='application/json'))
    with pytest.raises(TokenEndpointError, match='no access_token'):
        parse(json_response({'token_type': 'Bearer'}))


def test_redirect_is_explained():
    response = text_response('', status=302)
    response.headers['Location'] = 'https://elsewhere.example/token'
    with pytest.raises(TokenEndpointError, match='redirected to https://elsewhere.example/token; credentials'):
        parse(response)


def test_error_in_200_body():
    with pytest.raises(TokenEndpointError, match='invalid_scope'):
        parse(json_response({'error': 'invalid_scope'}))


# --- what a hostile token endpoint can put in front of the operator (issue #12, finding 3) -------------------------

BASIC = 'Basic YXBwOnMzY3JldC14eXo='  # app:s3cret-xyz


def sent(response, **form):
    response.sent_secrets = [BASIC, BASIC.split(' ', 1)[1]] + list(form.values())
    return response


def refused(response, profile=PROFILE):
    with pytest.raises(TokenEndpointError) as err:
        parse(response, profile)
    return err.value


def shown(error):
    return str(error) + json.dumps(error.as_dict())


def test_a_secret_echoed_in_the_error_field_is_masked():
    error = refused(sent(json_response({'error': 'invalid_client:s3cret-xyz:%s' % BASIC.split(' ')[1]}, status=401)))
    assert 's3cret-xyz' not in shown(error) and BASIC.split(' ')[1] not in shown(error)
    assert error.error == 'invalid_client:********:********'


@pytest.mark.parametrize('code', ['invalid\x1b[2Jclient', 'a"quote', 'back\\slash', u'caf\u00e9', ''])
def test_an_error_code_outside_the_rfc6749_character_set_is_not_shown(code):
    error = refused(json_response({'error': code, 'error_description': 'why'}, status=400))
    assert error.error is None
    assert not code or code not in shown(error)
    assert 'not shown' in str(error) and 'HTTP 400' in str(error) and 'why' in str(error)


def test_a_long_error_code_is_capped():
    error = refused(json_response({'error': 'invalid_client ' + 'x' * 5000}, status=401))
    assert error.error.startswith('invalid_client xxx') and len(error.error) < 200 and len(str(error)) < 600


def test_error_description_and_error_uri_cannot_reach_the_terminal():
    error = refused(json_response({'error': 'invalid_request', 'error_description': '\x1b]0;owned\x07' + 'd' * 2000,
                                   'error_uri': 'https://evil.example/phish'}, status=400))
    assert '\x1b' not in shown(error) and '\x07' not in shown(error)
    assert 'evil.example' not in shown(error) and len(error.error_description) < 400


def test_a_secret_echoed_in_a_redirect_location_is_not_shown():
    response = sent(text_response('', status=302), refresh_token='held-refresh-token-77')
    response.headers['Location'] = ('https://elsewhere.example/login/%s?client_secret=s3cret-xyz&rt=held-refresh-'
                                    'token-77&auth=%s#\x1b[2J' % ('held-refresh-token-77', BASIC.split(' ')[1]))
    error = refused(response)
    assert 'redirected to https://elsewhere.example/login/********' in str(error)
    for leak in ('s3cret-xyz', 'held-refresh-token-77', BASIC.split(' ')[1], '\x1b', 'client_secret='):
        assert leak not in shown(error), leak


def test_a_location_with_credentials_in_it_is_shown_without_them():
    response = text_response('', status=307)
    response.headers['Location'] = 'https://user:pass-in-location@elsewhere.example/token'
    error = refused(response)
    assert 'pass-in-location' not in shown(error) and 'elsewhere.example/token' in str(error)


def test_an_html_excerpt_cannot_reach_the_terminal():
    error = refused(text_response('<p>\x1b]0;owned\x07 \x9b2J hello</p>', status=502))
    assert '\x1b' not in shown(error) and '\x9b' not in shown(error) and 'hello' in str(error)


@pytest.mark.parametrize('token_type', ['Bearer\r\nX-Injected: 1', 'Bearer x', '\x1b[31mBearer', 'B' * 200])
def test_a_token_type_that_is_not_an_http_auth_scheme_is_refused(token_type):
    error = refused(json_response({'access_token': 'a', 'token_type': token_type, 'expires_in': 60}))
    assert 'token_type' in str(error) and '\r' not in shown(error) and '\x1b' not in shown(error)


@pytest.mark.parametrize('access_token', ['line\nbreak', 'bell\x07', u'caf\u00e9'])
def test_an_access_token_with_characters_rfc6749_forbids_is_refused_without_showing_it(access_token):
    error = refused(json_response({'access_token': access_token, 'expires_in': 60}))
    assert 'access_token' in str(error) and access_token not in shown(error)


def test_a_granted_scope_with_control_characters_is_escaped():
    token = parse(json_response({'access_token': 'a', 'expires_in': 60, 'scope': 'read \x1b]0;owned\x07write'}))
    assert '\x1b' not in token.scope and '\x07' not in token.scope and token.scope.startswith('read ')
