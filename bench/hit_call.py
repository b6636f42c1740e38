# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CPU cost of one cache hit inside a template, in one process, next to lookups that do no work of their own.

cache_hit.py times the same thing inside a play, by the clock; this script renders the template in its own process
(ansible-core's Templar, the collection loaded as ansible-playbook loads it) and counts CPU time, which a busy
machine disturbs much less. Three lookups, each called --calls times in one template, in alternating rounds:

- lookup('env', 'HOME'): the baseline of goal (c), a builtin found by its short name;
- lookup('ansible.builtin.env', 'HOME'): the same lookup by its full name, as every collection's lookup is called;
  the difference is what Ansible itself spends resolving a full name, on every call;
- lookup('tokenops.oauth2.token', 'bench'): a cache hit (the server sees one token request, the warm-up).

Reported: CPU microseconds per call (median and lowest over the rounds) and the ratio to lookup('env').

    .venv/bin/python bench/hit_call.py [--calls 1000] [--rounds 5]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import statistics
import time

import benchlib

LOOKUPS = (('env', "lookup('env', 'HOME')"),
           ('ansible.builtin.env', "lookup('ansible.builtin.env', 'HOME')"),
           ('tokenops.oauth2.token (cache hit)', "lookup('tokenops.oauth2.token', 'bench')"))
TEMPLATE = ("{%% set ns = namespace(n=0) %%}{%% for i in range(%d) %%}{%% set ns.n = ns.n + (%s | length) %%}"
            "{%% endfor %%}{{ ns.n }}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--calls', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    os.environ.update(ANSIBLE_COLLECTIONS_PATH=benchlib.collections_path(),
                      TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(benchlib.workdir(), 'cache'))
    # Imported here: ansible reads its configuration (and the collection path above) on first import.
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    try:
        from ansible.template import trust_as_template
    except ImportError:  # before ansible-core 2.19, every string is a template
        def trust_as_template(value):
            return value
    init_plugin_loader([benchlib.collections_path()])

    with benchlib.start('oidc_provider') as server:
        templar = Templar(loader=DataLoader(), variables=dict(oauth2_profiles=dict(
            bench=benchlib.cc_profile(server, 'cc_basic'))))
        templates = [(label, trust_as_template(TEMPLATE % (args.calls, call))) for label, call in LOOKUPS]
        for _label, template in templates:  # warm-up: the one token request, and the first loads
            templar.template(template)
        per_call = dict((label, []) for label, _t in templates)
        for _round in range(args.rounds):
            for label, template in templates:
                started = time.process_time()
                templar.template(template)
                per_call[label].append((time.process_time() - started) / args.calls * 1e6)
        requests = benchlib.token_requests(server)

    baseline = statistics.median(per_call[LOOKUPS[0][0]])
    benchlib.print_table(
        'CPU per lookup call, %d calls in one template, %d alternating rounds, one process; token requests: %d '
        '(the warm-up)' % (args.calls, args.rounds, requests),
        ('lookup', 'median us', 'lowest us', 'median / env'),
        [(label, '%.0f' % statistics.median(times), '%.0f' % min(times),
          benchlib.ratio(statistics.median(times), baseline)) for label, times in per_call.items()])
    if requests != 1:
        raise SystemExit('expected exactly 1 token request (the warm-up), the server saw %d: the lookups were not all '
                         'cache hits' % requests)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
