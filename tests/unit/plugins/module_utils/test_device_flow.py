# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.device_flow import (
    DEVICE_CODE_GRANT, DeviceAuthorization, DeviceFlowError, poll_for_token, request_device_authorization)
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import TokenEndpointError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile

from .fakes import FakeTransport, json_response, text_response

DEVICE_URL = 'https://idp.example/device/code'
TOKEN_URL = 'https://idp.example/token'


def profile(**options):
    base = dict(token_url=TOKEN_URL, client_id='tv', client_auth='none', scope='openid offline_access')
    base.update(options)
    return build_profile('p', base)


class Clock(object):
    """Monotonic time that only moves when the flow sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def pending(error='authorization_pending'):
    return json_response({'error': error}, status=400)


def token():
    return json_response({'access_token': 'at', 'refresh_token': 'rt', 'expires_in': 300, 'token_type': 'Bearer'})


def poll(transport, clock, expires_in=600, interval=5, prof=None):
    authorization = DeviceAuthorization('dev-code-secret', 'WDJB-MJHT', 'https://idp.example/device', expires_in,
                                        interval)
    return poll_for_token(prof or profile(), TOKEN_URL, authorization, transport, sleep=clock.sleep, clock=clock,
                          wall_clock=lambda: 1700000000.0, started_at=clock())


def test_device_authorization_request_and_response():
    transport = FakeTransport(json_response({
        'device_code': 'dev', 'user_code': 'WDJB-MJHT', 'verification_uri': 'https://idp.example/device',
        'verification_uri_complete': 'https://idp.example/device?user_code=WDJB-MJHT', 'expires_in': 1800,
        'interval': 7}))
    answer = request_device_authorization(profile(), DEVICE_URL, transport)
    assert (answer.device_code, answer.user_code, answer.expires_in, answer.interval) == ('dev', 'WDJB-MJHT', 1800, 7)
    assert answer.verification_uri_complete.endswith('user_code=WDJB-MJHT')
    call, = transport.calls
    assert call['url'] == DEVICE_URL and call['data'] == {'client_id': 'tv', 'scope': 'openid offline_access'}
    assert call['headers']['Accept'] == 'application/json'


def test_defaults_interval_5_and_reads_googles_verification_url():
    transport = FakeTransport(json_response({'device_code': 'd', 'user_code': 'u', 'expires_in': '600',
                                             'verification_url': 'https://www.google.com/device'}))
    answer = request_device_authorization(profile(), DEVICE_URL, transport)
    assert answer.interval == 5 and answer.expires_in == 600 and answer.verification_uri.endswith('/device')


def test_confidential_client_authenticates_at_both_endpoints():
    prof = profile(client_auth='client_secret_basic', client_secret='s3cret')
    transport = FakeTransport(json_response({'device_code': 'd', 'user_code': 'u', 'verification_uri': 'https://v',
                                             'expires_in': 60}))
    request_device_authorization(prof, DEVICE_URL, transport)
    assert transport.calls[0]['headers']['Authorization'].startswith('Basic ')
    assert 'client_id' not in transport.calls[0]['data']
    transport = FakeTransport(token())
    poll(transport, Clock(), prof=prof)
    assert transport.calls[0]['headers']['Authorization'].startswith('Basic ')


def test_device_authorization_errors_carry_the_servers_words():
    transport = FakeTransport(json_response({'error': 'invalid_client', 'error_description': 'unknown client'},
                                            status=401))
    with pytest.raises(TokenEndpointError) as info:
        request_device_authorization(profile(), DEVICE_URL, transport)
    assert info.value.error == 'invalid_client' and 'device authorization request refused' in str(info.value)


@pytest.mark.parametrize('body', [
    {'user_code': 'u', 'verification_uri': 'https://v', 'expires_in': 60},
    {'device_code': 'd', 'user_code': 'u', 'expires_in': 60},
    {'device_code': 'd', 'user_code': 'u', 'verification_uri': 'https://v', 'expires_in': 0},
    {'device_code': 'd', 'user_code': 'u', 'verification_uri': 'https://v', 'expires_in': 'soon'},
])
def test_incomplete_device_authorization_responses(body):
    with pytest.raises(TokenEndpointError, match='lacks a usable'):
        request_device_authorization(profile(), DEVICE_URL, FakeTransport(json_response(body)))


def test_html_instead_of_a_device_endpoint():
    with pytest.raises(TokenEndpointError, match='not an RFC 8628 device authorization endpoint') as info:
        request_device_authorization(profile(), DEVICE_URL, FakeTransport(text_response('<h1>login</h1>')))
    assert info.value.hint.startswith('check device_authorization_url: it must be an RFC 8628 device authorization')


def test_a_device_authorization_url_that_does_not_exist_names_the_option():
    with pytest.raises(TokenEndpointError) as info:
        request_device_authorization(profile(), DEVICE_URL, FakeTransport(text_response('', status=404)))
    assert info.value.hint.startswith('check device_authorization_url: it must be an RFC 8628')


def test_polls_at_the_interval_until_approved():
    clock = Clock()
    transport = FakeTransport(pending(), pending(), token())
    result = poll(transport, clock)
    assert (result.access_token, result.refresh_token) == ('at', 'rt')
    assert clock.slept == [5, 5, 5]  # the first request waits an interval too: nobody approves that fast
    assert all(c['data'] == {'grant_type': DEVICE_CODE_GRANT, 'device_code': 'dev-code-secret', 'client_id': 'tv'}
               for c in transport.calls)


def test_slow_down_adds_five_seconds_for_good():
    clock = Clock()
    transport = FakeTransport(pending(), pending('slow_down'), pending(), pending('slow_down'), token())
    poll(transport, clock)
    assert clock.slept == [5, 5, 10, 10, 15]


def test_stops_at_expires_in_without_a_late_request():
    clock = Clock()
    transport = FakeTransport(pending(), pending(), pending())
    with pytest.raises(DeviceFlowError) as info:
        poll(transport, clock, expires_in=12)
    assert info.value.error == 'expired_token' and 'WDJB-MJHT' in str(info.value)
    assert clock.slept == [5, 5] and len(transport.calls) == 2  # 10 + 5 would be past 12 s


def test_access_denied():
    with pytest.raises(DeviceFlowError, match='the user denied') as info:
        poll(FakeTransport(pending(), json_response({'error': 'access_denied', 'error_description': 'no'}, 400)),
             Clock())
    assert info.value.error == 'access_denied' and info.value.error_description == 'no'


def test_expired_token_from_the_server():
    with pytest.raises(DeviceFlowError, match='expired before the user approved') as info:
        poll(FakeTransport(pending('expired_token')), Clock())
    assert info.value.error == 'expired_token'


def test_other_errors_end_the_flow_as_they_are():
    with pytest.raises(TokenEndpointError) as info:
        poll(FakeTransport(json_response({'error': 'invalid_client'}, 401)), Clock())
    assert not isinstance(info.value, DeviceFlowError) and info.value.error == 'invalid_client'


def test_an_interval_of_zero_is_one_second():
    assert DeviceAuthorization('d', 'u', 'v', 60, 0).interval == 1


# --- what a hostile device authorization endpoint can show the operator (issue #12) ---------------------------------

def device_answer(**fields):
    body = {'device_code': 'dev', 'user_code': 'WDJB-MJHT', 'verification_uri': 'https://idp.example/device',
            'expires_in': 600, 'interval': 5}
    body.update(fields)
    return json_response(body)


@pytest.mark.parametrize('field, value', [
    ('verification_uri', 'https://idp.example/device\x1b]0;owned\x07'),
    ('verification_uri', 'javascript:alert(1)'),
    ('verification_uri', 'https://user:pw-in-uri@idp.example/device'),
    ('verification_uri', ['https://idp.example/device']),
    ('verification_uri_complete', 'https://idp.example/device?user_code=X\x1b[2J'),
    ('user_code', 'WDJB\x1b[2J-MJHT'),
    ('user_code', 'W' * 300),
    ('user_code', 1234),
])
def test_hostile_strings_meant_for_the_operator_are_refused_by_name(field, value):
    with pytest.raises(TokenEndpointError, match=field) as err:
        request_device_authorization(profile(), DEVICE_URL, FakeTransport(device_answer(**{field: value})))
    message = str(err.value)
    assert '\x1b' not in message and 'pw-in-uri' not in message and len(message) < 600


def test_a_look_alike_unicode_host_is_quoted_in_the_refusal_as_escapes_never_as_itself():
    # Cyrillic a: the refusal must not show the person a link that reads like the real site's.
    with pytest.raises(TokenEndpointError, match='verification_uri') as err:
        request_device_authorization(profile(), DEVICE_URL, FakeTransport(device_answer(
            verification_uri='https://\u0430ccounts.example/device')))
    message = str(err.value)
    assert '\u0430' not in message and '\\u0430ccounts.example' in message


def test_a_plain_verification_uri_and_user_code_are_kept():
    answer = request_device_authorization(profile(), DEVICE_URL, FakeTransport(device_answer(
        verification_uri_complete='https://idp.example/device?user_code=WDJB-MJHT')))
    assert answer.user_code == 'WDJB-MJHT' and answer.verification_uri == 'https://idp.example/device'
    assert answer.verification_uri_complete == 'https://idp.example/device?user_code=WDJB-MJHT'
