# -*- coding: utf-8 -*-
"""Issue 5's proof: with tokens that live a few seconds, the rotate playbook runs again and again while a consumer
reads its environment file and has the server check the token it holds. The consumer never holds an expired token
for longer than the renew window, and never reads a partial file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat
import threading
import time

import pytest
import requests

from ansible_runner_helper import run_playbook
from rotate_helper import app_rotation

from tests.servers.launch import start

TOKEN_TTL = 24  # seconds: a rotate run takes a few seconds on a loaded 2-core machine
RENEW_BEFORE = 18  # renew once a token is 6 s old: every run but the first few seconds of one renews
RUNS = 8
KEYS = {'APP_TOKEN', 'APP_TOKEN_EXPIRES_AT'}


@pytest.fixture(scope='module')
def short_lived_tokens():
    with start('oidc_provider', access_token_ttl=TOKEN_TTL) as server:
        yield server


class Consumer(threading.Thread):
    """Reads the env file as a service would, over and over, and asks the server (RFC 7662) whether the token it
    read is active. Records what it saw: hashes, never tokens."""

    def __init__(self, env_file, server):
        super(Consumer, self).__init__(daemon=True)
        self.env_file = env_file
        self.introspection_url = server.url + '/token/introspection'
        checker = server.clients['cc_basic']  # a resource server's own credentials (HTTP Basic)
        self.auth = (checker['client_id'], checker['client_secret'])
        self.stopping = threading.Event()
        self.samples = []  # (monotonic time, token sha256, active)
        self.problems = []

    def run(self):
        while not self.stopping.is_set():
            try:
                self.sample()
            except Exception as exc:  # pylint: disable=broad-except  # reported by the test, not lost in a thread
                self.problems.append('consumer failed: %r' % exc)
            self.stopping.wait(0.25)

    def sample(self):
        try:
            fd = os.open(str(self.env_file), os.O_RDONLY)
        except FileNotFoundError:
            return  # not delivered yet
        with os.fdopen(fd) as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            text = handle.read()
        values = dict(line.split('=', 1) for line in text.splitlines() if '=' in line)
        if mode != 0o600 or not text.endswith('\n') or set(values) != KEYS or not all(values.values()):
            self.problems.append('partial or wrong file (mode %o): keys %s, %d bytes' % (mode, sorted(values), len(text)))
            return
        token = values['APP_TOKEN']
        answer = requests.post(self.introspection_url, data={'token': token}, auth=self.auth, timeout=10)
        answer.raise_for_status()
        self.samples.append((time.monotonic(), hashlib.sha256(token.encode()).hexdigest(), answer.json()['active']))

    def longest_expired_stretch(self):
        """The longest time the consumer went on holding a token the server no longer accepted."""
        longest, since = 0.0, None
        for when, digest, active in self.samples:
            if active:
                since = None
            else:
                since = when if since is None else since
                longest = max(longest, when - since)
        return longest


@pytest.mark.serial  # a 3 s token lifetime against wall-clock rotation: another worker's load would blur it
def test_consumer_never_holds_an_expired_token_longer_than_the_renew_window(tmp_path, short_lived_tokens):
    server = short_lived_tokens
    inventory, env_file, env = app_rotation(tmp_path, server.url + '/token', server.clients['cc_basic'],
                                            scope='api:read', resource='urn:tokenops:api')
    args = ('-i', str(inventory), '-e', 'oauth2_deliver_renew_before=%d' % RENEW_BEFORE)

    run_playbook('tokenops.oauth2.rotate', *args, extra_env=env)
    consumer = Consumer(env_file, server)
    consumer.start()
    try:
        for attempt in range(RUNS):
            run = run_playbook('tokenops.oauth2.rotate', *args, extra_env=env, check=False)
            assert run.returncode == 0, 'run %d:\n%s' % (attempt, run.stdout)
    finally:
        consumer.stopping.set()
        consumer.join(30)

    assert consumer.problems == []
    tokens = [digest for when, digest, active in consumer.samples]
    assert len(consumer.samples) > 20 and len(set(tokens)) >= 3, 'the token was not rotated: %d samples, %d tokens' % (
        len(tokens), len(set(tokens)))
    # The renew window is the bound the issue sets; with runs back to back the consumer should see no expired
    # token at all, but a run slowed down by a loaded machine may leave it one for a moment.
    assert consumer.longest_expired_stretch() <= RENEW_BEFORE
