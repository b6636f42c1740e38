# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A token consumer, as a service started with ``EnvironmentFile=`` would be: read the token from an environment
file, call an endpoint of the authorization server with it, and record whether the server accepted it.

    python consumer.py --config app.json --env-file /etc/app/token.env [--record app.records] [--tag web1]

The config (JSON, so that no secret is on the command line) says which key of the environment file holds the
token and how to check it:

    {"key": "APP_TOKEN", "check": "me", "url": "http://127.0.0.1:PORT/me"}
    {"key": "API_TOKEN", "check": "introspect", "url": "http://127.0.0.1:PORT/token/introspection",
     "client_id": "...", "client_secret": "..."}

``me`` sends ``Authorization: Bearer <token>`` to a userinfo-style endpoint (oauth2_server's ``/me``); ``introspect``
asks an RFC 7662 endpoint (oidc-provider's) as a resource server would, with its own client credentials. The
record (one JSON line per run) and the output hold the token's SHA-256, never the token. Exit status 0 only when
the server accepted the token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import sys

import requests
from dotenv import dotenv_values


def check(config, token):
    """Return (accepted, what the server said about the token's owner)."""
    if config['check'] == 'me':
        answer = requests.get(config['url'], headers={'Authorization': 'Bearer %s' % token}, timeout=10)
        if answer.status_code != 200:
            return False, 'HTTP %d' % answer.status_code
        body = answer.json()
        user = body.get('user') if isinstance(body.get('user'), dict) else body  # oauth2_server nests the user
        return True, str(user.get('username') or user.get('sub') or user.get('id'))
    if config['check'] == 'introspect':
        answer = requests.post(config['url'], data={'token': token}, timeout=10,
                               auth=(config['client_id'], config['client_secret']))
        if answer.status_code != 200:
            return False, 'HTTP %d' % answer.status_code
        body = answer.json()
        return bool(body.get('active')), str(body.get('client_id'))
    raise ValueError('unknown check %r' % config['check'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True)
    parser.add_argument('--env-file', required=True)
    parser.add_argument('--record')
    parser.add_argument('--tag', default='')
    args = parser.parse_args(argv)
    with open(args.config) as handle:
        config = json.load(handle)

    token = dotenv_values(args.env_file).get(config['key']) or ''
    accepted, owner = check(config, token) if token else (False, 'no %s in %s' % (config['key'], args.env_file))
    record = dict(tag=args.tag, key=config['key'], accepted=accepted, owner=owner,
                  token_sha256=hashlib.sha256(token.encode()).hexdigest())
    if args.record:
        with open(args.record, 'a') as handle:
            handle.write(json.dumps(record) + '\n')
    print(json.dumps(record))
    return 0 if accepted else 1


if __name__ == '__main__':
    sys.exit(main())
