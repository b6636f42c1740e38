# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every variable a role defines, documents, sets or registers carries the collection's prefix: oauth2_<role>_, or
__oauth2_<role>_ for the role's private ones. ansible-lint's var-naming[no-role-prefix] would want <role>_; it is
skipped in .ansible-lint and this test checks the collection's rule instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles')
ROLES = sorted(os.listdir(ROLES_DIR))
# Public names the collection's design fixes outside the prefix, per role.
DESIGNED = dict(deliver=('oauth2_deliveries', 'oauth2_force'))
SET_FACT = ('ansible.builtin.set_fact', 'set_fact')


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def task_variables(tasks):
    """The variables TASKS set (set_fact), register or define (vars), blocks included."""
    for task in tasks or []:
        for part in ('block', 'rescue', 'always'):
            yield from task_variables(task.get(part))
        for action in SET_FACT:
            for name in task.get(action) or {}:
                if name != 'cacheable':
                    yield name
        if task.get('register'):
            yield task['register']
        yield from task.get('vars') or {}


def role_variables(role):
    base = os.path.join(ROLES_DIR, role)
    for path in glob.glob(os.path.join(base, 'defaults', '*.yml')) + glob.glob(os.path.join(base, 'vars', '*.yml')):
        for name in load(path):
            yield os.path.relpath(path, base), name
    for name in load(os.path.join(base, 'meta', 'argument_specs.yml'))['argument_specs']['main']['options']:
        yield 'meta/argument_specs.yml', name
    for path in glob.glob(os.path.join(base, 'tasks', '*.yml')) + glob.glob(os.path.join(base, 'handlers', '*.yml')):
        for name in task_variables(load(path)):
            yield os.path.relpath(path, base), name


@pytest.mark.parametrize('role', ROLES)
def test_every_variable_of_a_role_carries_the_collection_prefix(role):
    found = list(role_variables(role))
    prefixes = ('oauth2_%s_' % role, '__oauth2_%s_' % role)
    wrong = ['%s: %s' % (where, name) for where, name in found
             if not name.startswith(prefixes) and name not in DESIGNED.get(role, ())]
    assert len(found) > 5 and not wrong, 'not prefixed %s or %s:\n%s' % (prefixes + ('\n'.join(wrong),))


def test_the_check_catches_a_variable_without_the_prefix():
    tasks = [dict(name='x', block=[dict(name='y', set_fact=dict(force=True, cacheable=False), register='result')])]
    assert list(task_variables(tasks)) == ['force', 'result']
