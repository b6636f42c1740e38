# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile, describe_unknown, number_text

BASE = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret')


def test_defaults_are_applied():
    profile = build_profile('p', BASE)
    assert profile['grant_type'] == 'client_credentials'
    assert profile['client_auth'] == 'client_secret_basic'
    assert profile['validate_certs'] is True
    assert profile['timeout'] == 10.0


def test_overrides_win_and_none_means_not_given():
    profile = build_profile('p', dict(BASE, scope='a'), dict(scope=['b', 'c'], client_id=None))
    assert profile['scope'] == 'b c'
    assert profile['client_id'] == 'app'


def test_unknown_key_names_profile_and_suggests():
    with pytest.raises(ProfileError) as err:
        build_profile('harbor', dict(BASE, client_secert='x'))
    assert "profile 'harbor'" in str(err.value)
    assert "'client_secert' (did you mean 'client_secret'?)" in str(err.value)


def test_describe_unknown_suggests_the_closest_candidate():
    assert describe_unknown(['scop', u'unknown_k\xe9y'], ['scope', 'field']) == \
        "'scop' (did you mean 'scope'?), 'unknown_k\xe9y'"


@pytest.mark.parametrize('value, text', [(70000, '70000'), (-1, '-1'), (1.5, '1.5'), (10 ** 30, 'a larger number'),
                                         (10 ** 12000, 'a larger number'), (-10 ** 40, 'a smaller number')],
                         ids=['int', 'negative', 'float', '1e30', '12000-digits', '-1e40'])
def test_number_text_never_converts_a_huge_int(value, text):
    assert number_text(value) == text


def test_missing_client_id():
    with pytest.raises(ProfileError, match="profile 'p': missing 'client_id'"):
        build_profile('p', dict(token_url='https://idp.example/token', client_secret='x'))


@pytest.mark.parametrize('grant, missing', [
    ('password', "'username' and 'password'"),
    ('authorization_code', "'code' and 'redirect_uri'"),
    ('refresh_token', "'refresh_token'"),
])
def test_grant_requirements(grant, missing):
    with pytest.raises(ProfileError) as err:
        build_profile('p', dict(BASE, grant_type=grant))
    assert 'grant_type %s needs %s' % (grant, missing) in str(err.value)


def test_secret_required_unless_public_client():
    with pytest.raises(ProfileError, match='client_secret'):
        build_profile('p', dict(token_url='https://idp.example/token', client_id='app'))
    assert build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_auth='none'))


def test_wrong_type_and_choice_are_profile_errors():
    with pytest.raises(ProfileError, match="profile 'p'.*timeout"):
        build_profile('p', dict(BASE, timeout='soon'))
    with pytest.raises(ProfileError, match="profile 'p'.*grant_type"):
        build_profile('p', dict(BASE, grant_type='implicit'))


def test_scope_list_items_checked():
    with pytest.raises(ProfileError, match='scope items'):
        build_profile('p', dict(BASE, scope=['a b']))


def test_not_a_mapping():
    with pytest.raises(ProfileError, match='must be a mapping'):
        build_profile('p', 'token_url=x')


def test_harbor_tower_id_picks_environment():
    sandbox = build_profile('h', dict(preset='harbor_lockers', tower_id='0100A1', client_id='c', client_secret='s'))
    assert sandbox['token_url'] == \
        'https://accounts.sandbox.harborlockers.com/realms/harbor/protocol/openid-connect/token'
    assert sandbox['validate_url'] == 'https://api.sandbox.harborlockers.com/api/v1/login/test-token'
    assert sandbox['client_auth'] == 'client_secret_post'
    assert sandbox['scope'] == 'service_provider'
    production = build_profile('h', dict(preset='harbor_lockers', tower_id='1000B2', client_id='c', client_secret='s'))
    assert production['token_url'].startswith('https://accounts.harborlockers.com/')


def test_harbor_bad_tower_id_is_named():
    with pytest.raises(ProfileError, match="tower_id '2200' does not start with"):
        build_profile('h', dict(preset='harbor_lockers', tower_id='2200', client_id='c', client_secret='s'))


def test_harbor_contradiction_and_base_url_override():
    with pytest.raises(ProfileError, match='contradicts'):
        build_profile('h', dict(preset='harbor_lockers', tower_id='1000', environment='sandbox', client_id='c',
                                client_secret='s'))
    profile = build_profile('h', dict(preset='harbor_lockers', environment='sandbox', base_url='http://127.0.0.1:9/',
                                      client_id='c', client_secret='s', scope='tower_access'))
    assert profile['token_url'] == 'http://127.0.0.1:9/realms/harbor/protocol/openid-connect/token'


def test_harbor_scope_choices():
    with pytest.raises(ProfileError, match="scope 'admin' is not offered"):
        build_profile('h', dict(preset='harbor_lockers', environment='sandbox', client_id='c', client_secret='s',
                                scope='admin'))


def test_preset_needs_its_inputs():
    with pytest.raises(ProfileError, match="preset 'depotfinity' needs 'region'"):
        build_profile('d', dict(preset='depotfinity', client_id='c', client_secret='s'))
    depot = build_profile('d', dict(preset='depotfinity', region='eu', client_id='c', client_secret='s'))
    assert depot['token_url'] == 'https://clientapp-auth.eu.depot.emobility.io/oauth2/token'
    assert depot['basic_encoding'] == 'raw'


def test_spring_password_grant_warns():
    profile = build_profile('b', dict(preset='spring_security_oauth2', base_url='https://breakout.example',
                                      client_id='breakout_app', client_secret='x', username='u', password='p'))
    assert profile['token_url'] == 'https://breakout.example/oauth/token'
    assert any('RFC 9700' in w for w in profile.warnings)


def test_unknown_preset_suggests():
    with pytest.raises(ProfileError, match="profile 'k': value of preset must be one of: .*keycloak"):
        build_profile('k', dict(BASE, preset='keycloack'))


def test_identity_has_no_secrets():
    profile = build_profile('p', dict(BASE, grant_type='password', username='u', password='pw',
                                      extra_params={'api_key': 'k3y'}, headers={'X-Api-Key': 'h3ader'}))
    identity = repr(profile.identity(lambda value: 'hashed'))
    assert not [s for s in ('s3cret', 'pw', 'k3y', 'h3ader') if s in identity]
    assert set(profile.secret_values()) == {'s3cret', 'pw', 'k3y', 'h3ader'}


# --- credentials inside a URL option (issue #12, finding 10) ---------------------------------------------------------

@pytest.mark.parametrize('key', ['token_url', 'issuer', 'authorization_url', 'device_authorization_url',
                                 'introspection_url', 'revocation_url', 'validate_url', 'base_url', 'redirect_uri'])
@pytest.mark.parametrize('userinfo', ['ops:pw-in-url-1@', 'ops@', ':pw-in-url-1@', 'ops:pw-in-url-1:x@'])
def test_a_url_option_with_credentials_is_refused_without_showing_them(key, userinfo):
    options = dict(token_url='https://idp.example/token', client_id='app', client_secret='s')
    options[key] = 'https://%sidp.example/x' % userinfo
    with pytest.raises(ProfileError) as err:
        build_profile('p', options)
    message = str(err.value)
    assert "'%s'" % key in message and 'client_id' in message, message
    assert 'pw-in-url-1' not in message and userinfo not in message


def test_a_bad_url_with_credentials_does_not_show_them_either():
    with pytest.raises(ProfileError) as err:
        build_profile('p', dict(token_url='https://ops:pw-in-url-2@idp.example/a b', client_id='a', client_secret='s'))
    assert 'pw-in-url-2' not in str(err.value)


def test_a_redirect_uri_may_use_a_private_scheme():
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_secret='s',
                                      redirect_uri='com.example.app:/oauth2redirect'))
    assert profile['redirect_uri'] == 'com.example.app:/oauth2redirect'


def test_a_header_name_ending_in_a_newline_is_refused():
    with pytest.raises(ProfileError, match='not a valid HTTP header name'):
        build_profile('p', dict(token_url='https://idp.example/token', client_id='a', client_secret='s',
                                headers={'X-Tenant\n': 'a'}))


@pytest.mark.parametrize('given, missing', [
    (dict(introspection_client_id='rs'), "'introspection_client_secret'"),
    (dict(introspection_client_secret='rs-secret'), "'introspection_client_id'"),
    (dict(introspection_client_auth='client_secret_post'), "'introspection_client_id' and 'introspection_client_secret'"),
])
def test_introspection_client_id_and_secret_go_together(given, missing):
    options = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret')
    options.update(given)
    with pytest.raises(ProfileError) as info:
        build_profile('p', options)
    assert str(info.value).startswith("profile 'p': %s needs %s" % (sorted(given)[0], missing))


def test_the_introspection_client_secret_is_a_secret_of_the_profile():
    profile = build_profile('p', dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret',
                                      introspection_client_id='rs', introspection_client_secret='rs-s3cret'))
    assert 'rs-s3cret' in profile.secret_values()
