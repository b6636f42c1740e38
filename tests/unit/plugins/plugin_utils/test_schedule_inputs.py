# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.schedule_inputs: the schedule role's input check, and its time spans and lifetimes.

Every value of the wrong type is named by its kind before its contents are looked at; every problem is reported at
once. The role's own runs with bad values are the schedule groups of tests/integration/test_bad_input_matrix.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_inputs import (
    input_problems, lifetime_seconds, span_seconds)

DEFAULTS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'schedule', 'defaults', 'main.yml')


def defaults(**overrides):
    """The role's defaults (templates left as they are), with an inventory and OVERRIDES (names without prefix)."""
    with open(DEFAULTS) as handle:
        settings = yaml.safe_load(handle)
    settings.update(oauth2_schedule_inventory='/srv/inventory', oauth2_schedule_ansible_playbook='/usr/bin/ansible-playbook',
                    oauth2_schedule_cron_file='/etc/cron.d/tokenops-oauth2-rotate')
    settings.update(('oauth2_schedule_' + name, value) for name, value in overrides.items())
    return settings


def test_the_defaults_with_an_inventory_pass():
    assert input_problems(defaults()) == []


@pytest.mark.parametrize('value, seconds', [
    (600, 600), ('600', 600), (' 20min ', 1200), ('1h 30min', 5400), ('1H30M', 5400), ('2d', 172800), ('1w', 604800),
    ('0', 0), ('365d', 31536000), ('366d', None), ('5 parsecs', None), ('-1', None), (-1, None), (1.5, None),
    ('9' * 13, None), ('9' * 10000, None), (True, None), (None, None), ([600], None), ({'s': 1}, None), ('', None),
    ('min', None), ('1 2', 2 + 1), ('10s x', None),
])
def test_span_seconds(value, seconds):
    assert span_seconds(value) == seconds


@pytest.mark.parametrize('value, seconds', [
    (600, 600), ('600', 600), ('600\n', None), ('600 ', None), (0, None), (-1, None), ('abc', None), (True, None),
    (600.0, None), (None, None), ('9' * 13, None),
])
def test_lifetime_seconds(value, seconds):
    assert lifetime_seconds(value) == seconds


def test_a_lifetime_with_a_trailing_newline_is_refused():
    """The Jinja check took '600\\n' as 600: its regular expression's $ matches before a final newline."""
    assert input_problems(defaults(token_lifetimes={'api': '600\n'})) == [
        "oauth2_schedule_token_lifetimes: the lifetime of 'api' must be a number of seconds above 0."]


def test_every_problem_at_once_in_the_role_order():
    problems = input_problems(defaults(
        inventory='inventory/hosts.ini', vault_ids=['prod@prompt', 'ok@/etc/vault-pass'], extra_args=['--ask-vault-pass', '-e', 'x=1'],
        interval='5 parsecs', environment={'BAD NAME': 'x', 'LIST': ['a'], 'NL': 'a\nb', 'OK': 1, 'FLAG': True},
        user='-x', unit_name='a.b', cron_file='/etc/cron.d/a.b', read_write_paths=['rel', '/abs', 'also rel'],
        working_dir='relative'))
    assert problems == [
        'oauth2_schedule_inventory must be the absolute path of the inventory the scheduled run uses.',
        "oauth2_schedule_vault_ids: 'prod@prompt' must be LABEL@/absolute/path (a password file or a client script); "
        "a prompt cannot be answered by a timer and a password never goes into the unit.",
        "oauth2_schedule_extra_args: '--ask-vault-pass' prompts, and nobody answers a timer.",
        "oauth2_schedule_environment: 'BAD NAME' is not a variable name.",
        'oauth2_schedule_environment: the value of LIST must be a string, a number or a boolean, not a list.',
        'oauth2_schedule_environment: the value of NL must be one line, without NUL bytes.',
        "oauth2_schedule_interval: '5 parsecs' is not a number of seconds or a time span such as 20min or 1h 30min, "
        "of at most 365 days.",
        "oauth2_schedule_user must be the name of a user, not an option ('-x').",
        'oauth2_schedule_working_dir must be an absolute path (empty: the home directory of the user).',
        'oauth2_schedule_unit_name may hold letters, digits, _ and - (it names the units, the cron file and the lock).',
        'oauth2_schedule_cron_file: cron ignores files in /etc/cron.d whose names hold anything but letters, digits, '
        '_ and - (no dot).',
        "oauth2_schedule_read_write_paths: every item must be an absolute path, not 'rel', 'also rel'.",
    ]


@pytest.mark.parametrize('name, value, problem', [
    ('inventory', ['a'], 'oauth2_schedule_inventory must be a string, not a list.'),
    ('inventory', '', 'oauth2_schedule_inventory must be the absolute path of the inventory the scheduled run uses.'),
    ('inventory', '/a\x00b', 'oauth2_schedule_inventory must be one line, without NUL bytes.'),
    ('playbook', '', 'oauth2_schedule_playbook must not be empty.'),
    ('playbook', 'a\rb', 'oauth2_schedule_playbook must be one line, without NUL bytes.'),
    ('ansible_playbook', None, 'oauth2_schedule_ansible_playbook must be a string, not null.'),
    ('vault_password_file', 'relative', 'oauth2_schedule_vault_password_file must be an absolute path.'),
    ('vault_ids', 'prod@/x', 'oauth2_schedule_vault_ids must be a list of strings, not a string.'),
    ('vault_ids', [None, 1, None], 'oauth2_schedule_vault_ids: every item must be a string, not null or a number.'),
    ('extra_args', {'a': 1}, 'oauth2_schedule_extra_args must be a list of strings, not a mapping.'),
    ('extra_args', ['a\nb'], 'oauth2_schedule_extra_args: every item must be one line, without NUL bytes.'),
    ('environment', ['a'], 'oauth2_schedule_environment must be a mapping of variable names to values, not a list.'),
    ('environment', {'K': None}, 'oauth2_schedule_environment: the value of K must be a string, a number or a '
                                 'boolean, not null.'),
    ('token_lifetimes', 7, 'oauth2_schedule_token_lifetimes must be a mapping of profile names to seconds, not a number.'),
    ('token_lifetimes', {'p': None}, "oauth2_schedule_token_lifetimes: the lifetime of 'p' must be a number of "
                                     "seconds above 0."),
    ('profiles', 'api', 'oauth2_schedule_profiles must be a list of strings, not a string.'),
    ('user', '', 'oauth2_schedule_user must not be empty.'),
    ('group', 5, 'oauth2_schedule_group must be a string, not a number.'),
    ('unit_dir', '', 'oauth2_schedule_unit_dir must be an absolute path.'),
    ('lock_file', 'x.lock', 'oauth2_schedule_lock_file must be an absolute path.'),
    ('randomized_delay', True, "oauth2_schedule_randomized_delay: 'True' is not a number of seconds or a time span "
                               "such as 20min or 1h 30min, of at most 365 days."),
])
def test_one_problem(name, value, problem):
    assert input_problems(defaults(**{name: value})) == [problem]


def test_removal_needs_no_inventory_or_playbook():
    assert input_problems(defaults(state='absent', inventory='', playbook='')) == []
    assert input_problems(defaults(state='present', inventory='')) != []


def test_values_quoted_are_one_line_and_short():
    problems = input_problems(defaults(extra_args=['--ask-' + 'x' * 100 + '\x1b']))
    assert problems == ["oauth2_schedule_extra_args: '--ask-%s...' prompts, and nobody answers a timer." % ('x' * 51)]
