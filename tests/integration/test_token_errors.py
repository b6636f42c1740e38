# -*- coding: utf-8 -*-
"""Bad input and faults through real ansible-playbook runs: each fails with a message that names the profile and
says what to do, shows no traceback, and leaves what is on disk intact."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import requests

from token_helper import fail, obtain

from tests.servers.launch import start


def fault(server, name, **options):
    client = server.clients['fault']
    profile = dict(token_url='%s/fault/%s' % (server.url, name), client_id=client['client_id'],
                   client_secret=client['client_secret'])
    profile.update(options)
    return profile


@pytest.mark.parametrize('name, expected', [
    ('html-200', 'answered with text/html, not a token endpoint: "'),
    ('html-502', 'answered with text/html, not a token endpoint'),
    ('text-plain', 'answered with text/plain'),
    ('truncated-json', 'not a token endpoint'),
    ('no-access-token', 'the JSON answer has no access_token'),
    ('negative-expires', 'not a usable lifetime'),
    ('invalid-client', 'invalid_client'),
    ('invalid-scope', 'check scope against the scopes this client may request'),
    ('invalid-grant', 'invalid_grant'),
    ('unsupported-grant-type', 'the server does not offer this grant_type'),
])
def test_bad_answers_are_explained(tmp_path, quirks_server, name, expected):
    out = fail(tmp_path, dict(broken=fault(quirks_server, name, retries=1)), 'broken')
    assert "profile 'broken'" in out and '/fault/%s' % name in out and expected in out


def test_404_says_check_the_url(tmp_path, quirks_server):
    out = fail(tmp_path, dict(typo=fault(quirks_server, '../no-such-endpoint')), 'typo', via='lookup')
    assert 'HTTP 404' in out and 'check the token URL' in out


RETRY_AFTER = 2  # seconds; urllib3 does not back off before a first retry, so a wait this long between the two
# attempts is the server's Retry-After being honoured


@pytest.mark.parametrize('name, failures', [('flaky-503', 2), ('flaky-500', 1), ('rate-limited', 1),
                                            ('temporarily-unavailable', 1)])
def test_transient_failures_are_retried(tmp_path, quirks_server, name, failures):
    key = tmp_path.name  # this test's own counter at the server, and how its requests are told apart
    query = '?n=%d&key=%s&retry_after=%d' % (failures, key, RETRY_AFTER)
    results = obtain(tmp_path, dict(flaky=fault(quirks_server, name + query)), lookup=False)
    assert results['module']['flaky']['access_token']
    sent = [r for r in requests.get(quirks_server.url + '/_requests', timeout=10).json()
            if r['path'] == '/fault/' + name and r['query'].get('key') == key]
    # Each failure was retried once, and the success ended it: no more attempts, none fewer.
    assert len(sent) == failures + 1, [r['time'] for r in sent]
    if name == 'rate-limited':
        # A lower bound the client must respect (the server asked it to wait), measured by the server's clock.
        waited = sent[1]['time'] - sent[0]['time']
        assert waited >= RETRY_AFTER - 0.05, 'retried %.2f s after a 429 with Retry-After: %d' % (waited, RETRY_AFTER)


def test_redirect_is_not_followed_with_credentials(tmp_path, quirks_server):
    requests.post(quirks_server.url + '/_requests/reset', timeout=10)
    out = fail(tmp_path, dict(moved=fault(quirks_server, 'redirect?status=307')), 'moved')
    assert 'was redirected to' in out and 'credentials were not sent on' in out
    paths = [r['path'] for r in requests.get(quirks_server.url + '/_requests', timeout=10).json()]
    assert '/fault/redirect-target' not in paths


def test_slow_server_times_out(tmp_path, quirks_server):
    out = fail(tmp_path, dict(slow=fault(quirks_server, 'slow?delay=3', timeout=1, retries=0)), 'slow')
    assert 'no answer within timeout=1.0s' in out


def test_unreachable_server(tmp_path):
    out = fail(tmp_path, dict(down=dict(token_url='http://127.0.0.1:9/token', client_id='a', client_secret='s',
                                        retries=1)), 'down')
    assert "profile 'down': cannot connect" in out and 'Connection refused' in out


def test_unresolvable_host(tmp_path):
    out = fail(tmp_path, dict(dns=dict(token_url='https://idp.does-not-exist.invalid/token', client_id='a',
                                       client_secret='s', retries=0)), 'dns')
    assert 'the host name idp.does-not-exist.invalid does not resolve' in out


def test_plain_http_off_loopback_refused_before_sending(tmp_path):
    out = fail(tmp_path, dict(clear=dict(token_url='http://idp.example.org/token', client_id='a', client_secret='s')),
               'clear')
    assert 'plain http to a host that is not loopback' in out and 'allow_insecure_http' in out


@pytest.mark.parametrize('profile, expected', [
    (dict(token_url='https://idp.example/t', client_id='a', client_secret='s', scop='x'),
     "unknown key 'scop' (did you mean 'scope'?)"),
    (dict(token_url='https://idp.example/t', client_secret='s'), "missing 'client_id'"),
    (dict(token_url='https://idp.example/t', client_id='a', client_secret='s', grant_type='password', username='u'),
     "grant_type password needs 'password'"),
    (dict(token_url='https://idp.example/t', client_id='a', client_secret='s', grant_type='authorization_code'),
     "grant_type authorization_code needs 'code' and 'redirect_uri'"),
    (dict(token_url='https://idp.example/t', client_id='a', client_secret='s', timeout='soon'),
     "argument 'timeout' is of type str and we were unable to convert to float"),
    (['not', 'a', 'mapping'], 'a profile must be a mapping'),
])
def test_wrong_profiles_fail_before_any_request(tmp_path, profile, expected):
    for via in ('module', 'lookup'):
        out = fail(tmp_path, dict(wrong=profile), 'wrong', via=via)
        assert "profile 'wrong'" in out and expected in out


def test_unknown_profile_name_lists_the_defined_ones(tmp_path):
    out = fail(tmp_path, dict(alpha=dict(token_url='https://x', client_id='a', client_secret='s')), 'beta')
    assert "profile 'beta': no such profile in oauth2_profiles; defined: alpha" in out


def test_failed_renewal_leaves_the_cached_token_intact(tmp_path):
    with start('quirks') as server:
        profile = dict(fault(server, 'ok'), renew_before=0)
        first = obtain(tmp_path, dict(p=profile), lookup=False)
        cache_dir = os.path.join(str(tmp_path), 'cache')
        before = dict((n, open(os.path.join(cache_dir, n), 'rb').read()) for n in os.listdir(cache_dir))
    # The server is gone: a forced renewal fails...
    out = fail(tmp_path, dict(p=dict(profile, retries=0)), 'p', args=('-e', 'token_force=true'))
    assert 'cannot connect' in out
    after = dict((n, open(os.path.join(cache_dir, n), 'rb').read()) for n in os.listdir(cache_dir))
    assert before == after
    # ...and the token obtained before is still served.
    again = obtain(tmp_path, dict(p=profile), lookup=False)
    assert again['module']['p']['access_token'] == first['module']['p']['access_token']
