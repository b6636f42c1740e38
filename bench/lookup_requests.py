# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token requests for one play over many hosts: the lookup (controller cache) against the naive uri + set_fact.

The play runs over 200 local-connection hosts with forks 20; each host uses one of two profiles and three tasks
need its token. The lookup version runs twice (cold cache, then warm); the naive version asks the token endpoint
with ansible.builtin.uri once per host and keeps the answer with set_fact, so it costs the same every run.
Request counts are the server's own (/_stats). Goal: cold = 2 (the distinct profiles), warm = 0.

    .venv/bin/python bench/lookup_requests.py [--hosts 200] [--forks 20]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import benchlib

TASKS = 3

LOOKUP_PLAY = '''
- name: Three tasks per host use the token, each through the lookup
  hosts: fleet
  gather_facts: false
  tasks:
%s
''' % '\n'.join('''
    - name: Use the token ({n})
      ansible.builtin.assert:
        that: lookup('tokenops.oauth2.token', token_profile, field='header').startswith('Bearer ')
        quiet: true'''.format(n=n) for n in range(1, TASKS + 1))

# The naive way: every host asks the token endpoint itself and keeps the answer for its later tasks. Basic or body
# client authentication as the client requires, like the profiles do.
URI_PLAY = '''
- name: Three tasks per host use the token, fetched once per host with uri
  hosts: fleet
  gather_facts: false
  vars:
    profile: "{{ oauth2_profiles[token_profile] }}"
    in_body: "{{ profile.client_auth == 'client_secret_post' }}"
  tasks:
    - name: Ask the token endpoint
      ansible.builtin.uri:
        url: "{{ profile.token_url }}"
        method: POST
        body_format: form-urlencoded
        body: >-
          {{ {'grant_type': 'client_credentials', 'scope': profile.scope, 'resource': profile.resource}
             | combine({'client_id': profile.client_id, 'client_secret': profile.client_secret} if in_body else {}) }}
        url_username: "{{ omit if in_body else profile.client_id }}"
        url_password: "{{ omit if in_body else profile.client_secret }}"
        force_basic_auth: "{{ not in_body }}"
      register: token_response
      no_log: true

    - name: Keep the token
      ansible.builtin.set_fact:
        token_header: "Bearer {{ token_response.json.access_token }}"
      no_log: true
%s
''' % '\n'.join('''
    - name: Use the token ({n})
      ansible.builtin.assert:
        that: token_header.startswith('Bearer ')
        quiet: true'''.format(n=n) for n in range(1, TASKS + 1))


def main():
    args = benchlib.fleet_arguments(__doc__).parse_args()

    inventory = benchlib.two_profile_fleet(args.hosts)
    lookup_play = benchlib.write_file('lookup.yml', LOOKUP_PLAY)
    uri_play = benchlib.write_file('uri.yml', URI_PLAY)
    cache_dir = os.path.join(benchlib.workdir(), 'cache')

    with benchlib.start('oidc_provider') as server:
        variables = benchlib.write_vars('vars.json', dict(oauth2_profiles=dict(
            alpha=benchlib.cc_profile(server, 'cc_basic'), beta=benchlib.cc_profile(server, 'cc_post'))))
        runs = []
        for label, playbook in (('uri + set_fact (naive, every run)', uri_play),
                                ('lookup, cold cache', lookup_play),
                                ('lookup, warm cache', lookup_play)):
            before = benchlib.token_requests(server)
            seconds = benchlib.run_playbook(playbook, inventory, cache_dir, '--forks', str(args.forks),
                                            '-e', '@' + variables)[0]
            runs.append((label, benchlib.token_requests(server) - before, seconds))

    base_requests, base_seconds = runs[0][1], runs[0][2]
    benchlib.print_table(
        'Token requests: %d hosts x %d tasks, forks %d, 2 profiles (oidc-provider on 127.0.0.1)'
        % (args.hosts, TASKS, args.forks),
        ('approach', 'token requests', 'requests vs uri', 'wall s', 'time vs uri'),
        [(label, requests, benchlib.ratio(requests, base_requests), '%.1f' % seconds,
          benchlib.ratio(seconds, base_seconds)) for label, requests, seconds in runs])
    goal = runs[1][1] == 2 and runs[2][1] == 0
    print('goal (cold = 2 distinct profiles, warm = 0): %s' % ('met' if goal else 'NOT met'))
    return 0 if goal else 1


if __name__ == '__main__':
    raise SystemExit(main())
