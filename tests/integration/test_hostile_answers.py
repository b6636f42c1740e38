# -*- coding: utf-8 -*-
"""Issue 12, the review after the ten findings: what else a malicious token endpoint (or a proxy on its path) can put
in its answer, through real ansible-playbook runs against the quirks server's /fault/ endpoints.

- Fields and headers that reach a message: an ``expires_in`` that echoes the request, the names of the keys of an
  answer without ``access_token``, the ``Content-Type`` of an answer that is not JSON. Each may carry the client
  secret (echoed) and terminal escape sequences: masked and escaped like every other server string.
- Numbers that are not: ``expires_in`` NaN or Infinity (JSON words Python reads), a JWT ``exp`` beyond any date.
  Refused or ignored with a clear message, never a crash nor a token that never renews.
- Answers too big to hold: a body of tens of megabytes, and a gzip bomb (a few hundred kilobytes that inflate to
  hundreds of megabytes). Refused once past the limit, without reading the rest.
- A granted ``scope`` that holds a line break and a second key, delivered into an env file: no line is added.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import requests

from ansible_runner_helper import PLAYBOOK_DIR, ansible_env, local_inventory, run_playbook
from token_helper import cache_env, fail, obtain, write_vars

SECRET = 'hostile-answer-secret-5e7b21'
# What the terminal would act on, raw or as the JSON escape a callback prints for a raw one.
TERMINAL_CONTROLS = ('\x1b', '\x07', '\x9b', '\u202e', '\\u001b', '\\u0007')


def profile(server, fault, **extra):
    options = dict(token_url='%s/fault/%s' % (server.url, fault), client_id='fault-client', client_secret=SECRET,
                   client_auth='client_secret_post', retries=0)
    options.update(extra)
    return options


def assert_quiet(out):
    assert SECRET not in out, 'the client secret the server echoed is in the output'
    found = [c for c in TERMINAL_CONTROLS if c in out]
    assert not found, 'terminal control characters from the server in the output: %r' % found


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_an_expires_in_echoing_the_request_is_masked_and_escaped(tmp_path, quirks_server, via):
    out = fail(tmp_path, dict(echo=profile(quirks_server, 'echo-expires-in')), 'echo', via=via)
    assert_quiet(out)
    assert "the token response has expires_in='" in out and 'which is not a number' in out, out


def test_the_key_names_of_an_answer_without_access_token_are_masked_and_escaped(tmp_path, quirks_server):
    out = fail(tmp_path, dict(keys=profile(quirks_server, 'echo-keys')), 'keys')
    assert_quiet(out)
    assert 'the JSON answer has no access_token (keys: ' in out, out


def test_a_content_type_echoing_the_request_is_masked_and_escaped(tmp_path, quirks_server):
    out = fail(tmp_path, dict(kind=profile(quirks_server, 'hostile-content-type')), 'kind')
    assert_quiet(out)
    assert 'the URL answered with text/html' in out, out


@pytest.mark.parametrize('value', ['NaN', 'Infinity', '-Infinity', '1e999'])
def test_an_expires_in_that_is_not_a_finite_number_is_refused_clearly(tmp_path, quirks_server, value):
    profiles = dict(nan=profile(quirks_server, 'nan-expires?value=' + value))
    out = fail(tmp_path, profiles, 'nan')
    assert "profile 'nan': the token response has expires_in=" in out, out
    assert 'which is not a usable lifetime' in out, out


def test_a_jwt_exp_beyond_any_date_is_not_trusted(tmp_path, quirks_server):
    """No expires_in, and a JWT whose exp is 1e20 (or Infinity): the token lives default_ttl, as one without exp."""
    profiles = dict(far=profile(quirks_server, 'far-exp-jwt', default_ttl=600),
                    inf=profile(quirks_server, 'far-exp-jwt?exp=Infinity', default_ttl=600))
    results = obtain(tmp_path, profiles, lookup=False)
    for name in profiles:
        token = results['module'][name]
        assert 0 < token['expires_in'] <= 600, token['expires_in']


def streamed(server, path):
    """How much of each streamed answer of PATH the client took, oldest first."""
    return server.stats().get('streamed', {}).get(path, [])


def test_a_huge_answer_is_refused_without_reading_it_all(tmp_path, quirks_server):
    before = len(streamed(quirks_server, '/fault/huge-body'))
    out = fail(tmp_path, dict(huge=profile(quirks_server, 'huge-body?mb=64')), 'huge')
    assert "profile 'huge': the answer is larger than 1 MiB" in out, out
    sent = streamed(quirks_server, '/fault/huge-body')[before:]
    assert len(sent) == 1 and sent[0]['sent'] < sent[0]['length'], 'the whole body was read: %r' % sent


def test_a_huge_answer_that_is_retried_is_not_read_either(tmp_path, quirks_server):
    """urllib3 reads a retried answer to its end (to reuse the connection) before it asks again: not this one."""
    before = len(streamed(quirks_server, '/fault/huge-body'))
    out = fail(tmp_path, dict(huge=profile(quirks_server, 'huge-body?mb=64&status=503', retries=1)), 'huge')
    assert "profile 'huge': the answer is larger than 1 MiB" in out, out
    sent = streamed(quirks_server, '/fault/huge-body')[before:]
    assert len(sent) == 2, 'asked twice: %r' % sent
    assert all(answer['sent'] < answer['length'] for answer in sent), 'a whole body was read: %r' % sent


def test_a_gzip_bomb_is_refused_once_it_inflates_past_the_limit(tmp_path, quirks_server):
    out = fail(tmp_path, dict(bomb=profile(quirks_server, 'gzip-bomb?mb=200')), 'bomb')
    assert "profile 'bomb': the answer is larger than 1 MiB" in out, out
    assert 'decompressed' in out, out


def test_a_granted_scope_cannot_add_a_line_to_an_env_file(tmp_path, quirks_server):
    """The scope a server grants may be delivered (vars: {X: scope}); one holding a line break and KEY=VALUE is shown
    escaped, and the env file refuses the escape's backslash: the delivery fails, and no line is added."""
    env_path = str(tmp_path / 'app.env')
    with open(env_path, 'w') as handle:
        handle.write('KEPT=1\n')
    inventory = local_inventory(
        str(tmp_path / 'inventory.json'),
        oauth2_profiles=dict(scoped=profile(quirks_server, 'hostile-scope')),
        oauth2_deliveries=[dict(profile='scoped', to='env_file', path=env_path,
                                vars=dict(APP_TOKEN='access_token', APP_SCOPE='scope'))],
        oauth2_rotate_lock=str(tmp_path / 'rotate.lock'))
    proc = run_playbook('tokenops.oauth2.rotate', '-i', inventory, check=False,
                        extra_env={'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')})
    received = requests.get(quirks_server.url + '/_requests', timeout=10).json()
    assert any(r['path'] == '/fault/hostile-scope' for r in received), 'the server was asked'
    with open(env_path) as handle:
        lines = handle.read().splitlines()
    assert not any(line.startswith('INJECTED') for line in lines), lines
    assert proc.returncode != 0 and 'the value of APP_SCOPE contains' in proc.stdout, proc.stdout
    assert lines == ['KEPT=1'], 'nothing of a refused delivery is written'
    assert json.dumps(SECRET) not in proc.stdout and SECRET not in proc.stdout
    assert os.path.exists(env_path)


DEVICE_PLAYBOOK = '''- name: Authorize with the device flow
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Authorize
      tokenops.oauth2.authorize:
        profile: device
        flow: device
'''


def authorize_device(tmp_path, server, device_query, token_fault='access-denied'):
    """Run the device flow against /fault/device-code?DEVICE_QUERY, polling /fault/TOKEN_FAULT; it must fail."""
    playbook, variables = tmp_path / 'device.yml', tmp_path / 'device-vars.json'
    playbook.write_text(DEVICE_PLAYBOOK)
    variables.write_text(json.dumps(dict(oauth2_profiles=dict(device=dict(
        token_url='%s/fault/%s' % (server.url, token_fault), client_id='device-client', client_auth='none',
        device_authorization_url='%s/fault/device-code?%s' % (server.url, device_query), retries=0)))))
    proc = run_playbook(str(playbook), '-e', '@%s' % variables, check=False,
                        extra_env={'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')})
    assert proc.returncode != 0, proc.stdout
    return proc.stdout


def polls(server, fault):
    return server.stats()['by_path'].get('/fault/' + fault, 0)


@pytest.mark.parametrize('value', ['Infinity', '1e999', 'NaN', '-Infinity'])
def test_a_device_code_lifetime_that_is_not_a_finite_number_is_refused_clearly(tmp_path, quirks_server, value):
    before = polls(quirks_server, 'access-denied')
    out = authorize_device(tmp_path, quirks_server, 'expires_in=' + value)
    assert "profile 'device': the device authorization response lacks a usable expires_in" in out, out
    assert polls(quirks_server, 'access-denied') == before, 'nothing is polled'


def test_a_device_code_said_to_live_for_years_is_waited_for_an_hour_at_most(tmp_path, quirks_server):
    out = authorize_device(tmp_path, quirks_server, 'expires_in=1000000000')
    assert 'The code expires in 3600 s' in out, out
    assert "profile 'device': the user denied the authorization" in out, out


def test_an_interval_longer_than_the_code_is_waited_for_is_refused_at_once(tmp_path, quirks_server):
    before = polls(quirks_server, 'access-denied')
    out = authorize_device(tmp_path, quirks_server, 'expires_in=600&interval=1e12')
    assert 'asks to wait 1000000000000 s between polls, but the code is waited for 600 s' in out, out
    assert polls(quirks_server, 'access-denied') == before, 'nothing is polled'


def test_a_server_answering_slow_down_forever_is_polled_ever_more_slowly_until_the_code_expires(
        tmp_path, quirks_server):
    """expires_in 8 s, interval 1 s: a poll at about 1 s, the next 6 s later (slow_down adds 5 s), then none (11 s
    more would pass the expiry). Polling at the first interval would ask about 7 times."""
    before = polls(quirks_server, 'slow-down')
    out = authorize_device(tmp_path, quirks_server, 'expires_in=8&interval=1', token_fault='slow-down')
    assert "profile 'device': the user code WDJB-MJHT was not approved within 8 seconds" in out, out
    assert 1 <= polls(quirks_server, 'slow-down') - before <= 2


@pytest.mark.parametrize('location', ['file:///etc/shadow', 'ftp://127.0.0.1/token', 'data:,{"access_token":"x"}'])
def test_a_redirect_to_another_scheme_is_not_followed(tmp_path, quirks_server, location):
    """Redirects are never followed (credentials would go along); one to file://, ftp:// or data: is no exception,
    and is named, not acted on."""
    from urllib.parse import quote
    out = fail(tmp_path, dict(moved=profile(quirks_server, 'redirect-scheme?to=' + quote(location, safe=''))), 'moved')
    assert 'token request was redirected to %s; credentials were not sent on' % location.split('?')[0] in out, out
    assert 'root:' not in out


def test_a_verification_uri_on_a_look_alike_unicode_host_is_refused(tmp_path, quirks_server):
    """A homograph (Cyrillic a in accounts.example) would send the person to a look-alike site; only ASCII URLs are
    shown, so an internationalized host appears as its punycode (xn--...), which does not look like the real one."""
    from urllib.parse import quote
    uri = 'https://\u0430ccounts.example/device'
    out = authorize_device(tmp_path, quirks_server, 'uri=' + quote(uri))
    assert "the device authorization response's verification_uri must be an ASCII URL" in out, out
    assert 'Verification URL:' not in out, 'never offered to open (only quoted in the refusal)'


def test_an_answer_sent_a_byte_at_a_time_ends_at_the_deadline(tmp_path, quirks_server):
    """Each byte comes within timeout (2 s), the whole answer would take 200 s: the deadline (3 s) bounds it."""
    variables = write_vars(tmp_path, dict(slow=profile(quirks_server, 'dribble', timeout=2, deadline=3)),
                           token_name='slow', token_via='module')
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               os.path.join(PLAYBOOK_DIR, 'token_fail.yml'), '-e', '@' + variables]
    try:
        proc = subprocess.run(command, env=ansible_env(cache_env(tmp_path)), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail('the run was still reading the answer after 90 s (deadline: 3 s)')
    assert proc.returncode != 0, proc.stdout
    assert "profile 'slow': the answer did not arrive within the deadline of 3 s" in proc.stdout, proc.stdout
