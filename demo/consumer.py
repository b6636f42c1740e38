#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small service that uses a delivered token, as a systemd unit with ``EnvironmentFile=`` would: it takes the
token from its environment once, at start (so it sees a new token only when it is restarted), and calls an API
with it every second until it is stopped.

    python demo/consumer.py --name orders-sync --token-var ORDERS_TOKEN --api http://127.0.0.1:PORT/me \
        --log services/orders-sync/calls.log [--watch-pid PID]

demo/services.py starts it with the variables of its env file loaded (``sh -c 'set -a; . FILE; exec ...'``). Each
line of the log is JSON: a ``start`` event with the token's SHA-256 (never the token), then one ``call`` per
request with the HTTP status and whom the server says the token belongs to. Standard library only, so that it runs
in any Python that runs ansible-core.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import os
import signal
import sys
import time

from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

MAX_LIFETIME = 900  # seconds: a demo service never outlives a forgotten demo by long


def fingerprint(token):
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def call_api(url, token):
    """GET url with the token; return (HTTP status, who the server says the token belongs to, or None)."""
    request = Request(url, headers={'Authorization': 'Bearer %s' % token})
    try:
        with urlopen(request, timeout=5) as answer:
            body = json.loads(answer.read().decode('utf-8'))
            user = body.get('user') or {}
            return answer.status, str(user.get('username') or user.get('id') or body.get('client_id'))
    except HTTPError as exc:
        return exc.code, None
    except (URLError, OSError, ValueError):
        return 0, None  # the server is gone (the demo is ending) or answered something else


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--name', required=True)
    parser.add_argument('--token-var', required=True)
    parser.add_argument('--api', required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument('--interval', type=float, default=1.0)
    parser.add_argument('--watch-pid', type=int, default=0, help='stop when this process (the demo) is gone')
    args = parser.parse_args(argv)

    token = os.environ.get(args.token_var, '')
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    def log(**event):
        event.update(service=args.name, pid=os.getpid(), time=round(time.time(), 3))
        with open(args.log, 'a') as handle:
            handle.write(json.dumps(event, sort_keys=True) + '\n')

    log(event='start', token_sha256=fingerprint(token) if token else None,
        expires_at=os.environ.get(args.token_var + '_EXPIRES_AT'))
    started = time.monotonic()
    while not stopping and time.monotonic() - started < MAX_LIFETIME:
        if args.watch_pid and not alive(args.watch_pid):
            break
        status, owner = call_api(args.api, token) if token else (0, None)
        log(event='call', status=status, owner=owner, token_sha256=fingerprint(token) if token else None)
        deadline = time.monotonic() + args.interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.05)
    log(event='stop')
    return 0


if __name__ == '__main__':
    sys.exit(main())
