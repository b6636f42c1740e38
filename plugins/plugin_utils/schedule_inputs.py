# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The input check of the schedule role: what its argument spec cannot say.

meta/argument_specs.yml checks the types it can, but it checks converted copies (a list passes as its text where a
string is expected, a bare string as a one-item list) while the role uses the values as given. So the types are
checked again here, each before the value is looked at, then what no spec can say: one line each (a newline or NUL
would end or cut a line of the unit or the cron file), absolute paths, no prompts, time spans. Every problem is
reported at once, one sentence each, naming the variable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from collections.abc import Mapping

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.value_kind import kind_of, shown

PREFIX = 'oauth2_schedule_'
# The time spans of the role: seconds, or a systemd time span ("20min", "1h 30min"; systemd.time(7)).
SPANS = ('interval', 'randomized_delay', 'on_boot', 'run_timeout')
SPAN_UNITS = dict(
    [(unit, 1) for unit in ('', 's', 'sec', 'second', 'seconds')]
    + [(unit, 60) for unit in ('m', 'min', 'minute', 'minutes')]
    + [(unit, 3600) for unit in ('h', 'hr', 'hour', 'hours')]
    + [(unit, 86400) for unit in ('d', 'day', 'days')]
    + [(unit, 604800) for unit in ('w', 'week', 'weeks')])
# A longer span is a mistake (such as a number of 10,000 digits, which Python would refuse to read anyway).
MAX_SPAN = 365 * 86400
MAX_DIGITS = 12
PROMPTS = ('--ask-vault-pass', '--ask-vault-password', '-J', '--ask-pass', '-k', '--ask-become-pass', '-K')
# A newline, carriage return or NUL byte would end or cut a line of the unit or the cron file.
LINE_BREAK = re.compile('[\n\r\x00]')
ENV_NAME = re.compile('[A-Za-z_][A-Za-z0-9_]*')
UNIT_NAME = re.compile('[A-Za-z0-9_][A-Za-z0-9_-]*')
# cron reads only the files of /etc/cron.d whose names hold these.
CRON_FILE_NAME = re.compile('[A-Za-z0-9_-]+')
SPAN_PART = re.compile(r'([0-9]+)\s*([a-z]*)')


def span_seconds(value):
    """VALUE (seconds, or a systemd time span) in seconds; None when unset, unreadable or longer than MAX_SPAN.

    A span is a string or a number (not a boolean, a list or a mapping); its numbers are read only once they are
    known to be short.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip().lower()
    parts = SPAN_PART.findall(text)
    if not parts or SPAN_PART.sub('', text).strip():
        return None
    seconds = 0
    for number, unit in parts:
        if unit not in SPAN_UNITS or len(number) > MAX_DIGITS:
            return None
        seconds += int(number) * SPAN_UNITS[unit]
    return seconds if seconds <= MAX_SPAN else None


def lifetime_seconds(value):
    """A token lifetime: a whole number of seconds above 0 (an int, or a string of digits only), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    # fullmatch: "600\n" is not a lifetime (re.match with '$' would take it).
    if not re.fullmatch('[0-9]{1,%d}' % MAX_DIGITS, text) or int(text) <= 0:
        return None
    return int(text)


def _text(name, value, empty=True):
    """A string on one line; with empty=False, not blank either."""
    if not isinstance(value, str):
        return '%s must be a string, not %s.' % (name, kind_of(value))
    if not empty and not value.strip():
        return '%s must not be empty.' % name
    if LINE_BREAK.search(value):
        return '%s must be one line, without NUL bytes.' % name
    return None


def _path(name, value, empty=True, what='an absolute path'):
    """An absolute path, or '' where empty=True."""
    problem = _text(name, value)
    if problem:
        return problem
    if (value or not empty) and not os.path.isabs(value):
        return '%s must be %s.' % (name, what)
    return None


def _strings(name, value, nullable=False):
    """A list of one-line strings (null too where nullable=True)."""
    if value is None and nullable:
        return None
    if kind_of(value) != 'a list':
        return '%s must be a list of strings, not %s.' % (name, kind_of(value))
    others = [kind_of(item) for item in value if not isinstance(item, str)]
    if others:
        return '%s: every item must be a string, not %s.' % (name, ' or '.join(sorted(set(others), key=others.index)))
    if any(LINE_BREAK.search(item) for item in value):
        return '%s: every item must be one line, without NUL bytes.' % name
    return None


def _vault_ids(value):
    problem = _strings(PREFIX + 'vault_ids', value)
    if problem:
        return [problem]
    return ["oauth2_schedule_vault_ids: '%s' must be LABEL@/absolute/path (a password file or a client script); a "
            "prompt cannot be answered by a timer and a password never goes into the unit." % shown(vault_id)
            for vault_id in value if not os.path.isabs(vault_path(vault_id))]


def vault_path(vault_id):
    """The file or client script of a vault identity LABEL@PATH (PATH alone without a label)."""
    return vault_id.split('@', 1)[-1]


def _extra_args(value):
    problem = _strings(PREFIX + 'extra_args', value)
    if problem:
        return [problem]
    return ["oauth2_schedule_extra_args: '%s' prompts, and nobody answers a timer." % shown(arg)
            for arg in value if arg in PROMPTS or arg.startswith('--ask-')]


def _environment(value):
    if not isinstance(value, Mapping):
        return ['oauth2_schedule_environment must be a mapping of variable names to values, not %s.' % kind_of(value)]
    problems = []
    for name, item in value.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            problems.append("oauth2_schedule_environment: '%s' is not a variable name." % shown(name))
        elif not isinstance(item, (str, int, float)):  # a boolean is an int
            problems.append('oauth2_schedule_environment: the value of %s must be a string, a number or a boolean, '
                            'not %s.' % (name, kind_of(item)))
        elif LINE_BREAK.search(str(item)):
            problems.append('oauth2_schedule_environment: the value of %s must be one line, without NUL bytes.' % name)
    return problems


def _token_lifetimes(value):
    if not isinstance(value, Mapping):
        return ['oauth2_schedule_token_lifetimes must be a mapping of profile names to seconds, not %s.'
                % kind_of(value)]
    return ["oauth2_schedule_token_lifetimes: the lifetime of '%s' must be a number of seconds above 0." % shown(profile)
            for profile, lifetime in value.items() if lifetime_seconds(lifetime) is None]


def _user(value):
    problem = _text(PREFIX + 'user', value, empty=False)
    if not problem and value.startswith('-'):
        problem = "oauth2_schedule_user must be the name of a user, not an option ('%s')." % shown(value)
    return problem


def _unit_name(value):
    problem = _text(PREFIX + 'unit_name', value, empty=False)
    if not problem and not UNIT_NAME.fullmatch(value):
        problem = ('oauth2_schedule_unit_name may hold letters, digits, _ and - (it names the units, the cron file '
                   'and the lock).')
    return problem


def _cron_file(value):
    problem = _path(PREFIX + 'cron_file', value, empty=False)
    if not problem and not CRON_FILE_NAME.fullmatch(os.path.basename(value)):
        problem = ('oauth2_schedule_cron_file: cron ignores files in /etc/cron.d whose names hold anything but '
                   'letters, digits, _ and - (no dot).')
    return problem


def _read_write_paths(value):
    problem = _strings(PREFIX + 'read_write_paths', value)
    if problem:
        return problem
    relative = ["'%s'" % shown(item) for item in value if not os.path.isabs(item)]
    if relative:
        return 'oauth2_schedule_read_write_paths: every item must be an absolute path, not %s.' % ', '.join(relative)
    return None


def _spans(settings):
    return ["oauth2_schedule_%s: '%s' is not a number of seconds or a time span such as 20min or 1h 30min, of at most "
            "%d days." % (name, shown(settings[PREFIX + name]), MAX_SPAN // 86400)
            for name in SPANS if settings[PREFIX + name] is not None and span_seconds(settings[PREFIX + name]) is None]


def input_problems(settings):
    """Every problem of the role's variables (SETTINGS: variable name -> value as given), one sentence each."""
    get = settings.get
    present = get(PREFIX + 'state') == 'present'
    problems = [
        _path(PREFIX + 'inventory', get(PREFIX + 'inventory'), empty=False,
              what='the absolute path of the inventory the scheduled run uses') if present else None,
        _text(PREFIX + 'playbook', get(PREFIX + 'playbook'), empty=not present),
        _text(PREFIX + 'ansible_playbook', get(PREFIX + 'ansible_playbook'), empty=not present),
        _path(PREFIX + 'vault_password_file', get(PREFIX + 'vault_password_file')),
    ]
    problems += _vault_ids(get(PREFIX + 'vault_ids')) + _extra_args(get(PREFIX + 'extra_args'))
    problems += _environment(get(PREFIX + 'environment')) + _spans(settings)
    problems += _token_lifetimes(get(PREFIX + 'token_lifetimes'))
    problems += [
        _strings(PREFIX + 'profiles', get(PREFIX + 'profiles'), nullable=True),
        _user(get(PREFIX + 'user')),
        _text(PREFIX + 'group', get(PREFIX + 'group')),
        _path(PREFIX + 'working_dir', get(PREFIX + 'working_dir'),
              what='an absolute path (empty: the home directory of the user)'),
        _unit_name(get(PREFIX + 'unit_name')),
        _path(PREFIX + 'unit_dir', get(PREFIX + 'unit_dir'), empty=False),
        _cron_file(get(PREFIX + 'cron_file')),
        _path(PREFIX + 'lock_file', get(PREFIX + 'lock_file')),
        _read_write_paths(get(PREFIX + 'read_write_paths')),
    ]
    return [problem for problem in problems if problem]
