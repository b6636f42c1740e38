# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One token delivered to an environment file on each of 200 hosts: the tokenops.oauth2.deliver role against the
same delivery written by hand with ansible.builtin.uri + ansible.builtin.copy.

Every host is a local-connection host writing its own file (API_TOKEN, API_TOKEN_EXPIRES_AT, mode 0600). Each
approach runs twice: a first delivery (no files yet), then a second run while the token is still valid. The
hand-written play comes in two shapes: uri on every host (the usual pattern, right when hosts may hold different
credentials) and uri with run_once (one request, only right when every host shares the credentials). Token
request counts are the server's own (/_stats). Goal: the role sends 1 request on the first run and 0 on the
second, and its second run changes nothing.

    .venv/bin/python bench/delivery.py [--hosts 200] [--forks 20]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import benchlib

# By hand: ask the token endpoint (HTTP Basic, like the profile), then write the file. RUN_ONCE is filled in.
HAND_PLAY = '''
- name: Deliver the token by hand
  hosts: fleet
  gather_facts: false
  vars:
    profile: "{{ oauth2_profiles.api }}"
  tasks:
    - name: Ask the token endpoint
      ansible.builtin.uri:
        url: "{{ profile.token_url }}"
        method: POST
        body_format: form-urlencoded
        body: {grant_type: client_credentials, scope: "{{ profile.scope }}", resource: "{{ profile.resource }}"}
        url_username: "{{ profile.client_id }}"
        url_password: "{{ profile.client_secret }}"
        force_basic_auth: true
      register: token_response
      run_once: %(run_once)s
      no_log: true

    - name: Write the environment file
      ansible.builtin.copy:
        content: |
          API_TOKEN={{ token_response.json.access_token }}
          API_TOKEN_EXPIRES_AT={{ '%%Y-%%m-%%dT%%H:%%M:%%SZ' | strftime(now().timestamp() | int
                                                              + token_response.json.expires_in, utc=true) }}
        dest: "{{ bench_dir }}/%(name)s/{{ inventory_hostname }}.env"
        mode: "0600"
      no_log: true
'''


def main():
    args = benchlib.fleet_arguments(__doc__).parse_args()

    bench_dir = benchlib.workdir()
    inventory = benchlib.delivery_fleet('delivery-inventory.ini', args.hosts)
    approaches = [
        ('role tokenops.oauth2.deliver', benchlib.write_file('delivery-role.yml', benchlib.deliver_role_play('role')),
         'role'),
        ('uri + copy, uri on every host', benchlib.write_file(
            'delivery-hand.yml', HAND_PLAY % dict(run_once='false', name='hand')), 'hand'),
        ('uri + copy, uri run_once', benchlib.write_file(
            'delivery-hand-once.yml', HAND_PLAY % dict(run_once='true', name='hand-once')), 'hand-once'),
    ]
    cache_dir = os.path.join(bench_dir, 'cache')

    rows = []
    with benchlib.start('oidc_provider') as server:
        variables = benchlib.write_vars('delivery-vars.json', dict(
            oauth2_profiles=dict(api=benchlib.cc_profile(server, 'cc_basic'))))
        for label, playbook, name in approaches:
            os.makedirs(os.path.join(bench_dir, name))
            for run in ('first', 'second'):
                before = benchlib.token_requests(server)
                seconds, output = benchlib.run_playbook(playbook, inventory, cache_dir, '--forks', str(args.forks),
                                                        '-e', '@' + variables)
                changed_hosts = benchlib.hosts_changed(output)
                rows.append((label, run, benchlib.token_requests(server) - before, changed_hosts, seconds))
            files = os.listdir(os.path.join(bench_dir, name))
            if len(files) != args.hosts:
                sys.exit('%s wrote %d files for %d hosts' % (label, len(files), args.hosts))

    every_host = dict((run, seconds) for label, run, _r, _c, seconds in rows if label == approaches[1][0])
    run_once = dict((run, seconds) for label, run, _r, _c, seconds in rows if label == approaches[2][0])
    benchlib.print_table(
        'One token to an env file on each of %d local-connection hosts, forks %d (oidc-provider on 127.0.0.1)'
        % (args.hosts, args.forks),
        ('approach', 'run', 'token requests', 'hosts changed', 'wall s', 'vs uri every host', 'vs uri run_once'),
        [(label, run, requests, changed, '%.1f' % seconds, benchlib.ratio(seconds, every_host[run]),
          benchlib.ratio(seconds, run_once[run])) for label, run, requests, changed, seconds in rows])
    role = dict((run, (requests, changed)) for label, run, requests, changed, _s in rows if label == approaches[0][0])
    goal = role['first'][0] == 1 and role['second'] == (0, 0)
    print('goal (role: 1 request, then 0 requests and 0 hosts changed): %s' % ('met' if goal else 'NOT met'))
    return 0 if goal else 1


if __name__ == '__main__':
    raise SystemExit(main())
