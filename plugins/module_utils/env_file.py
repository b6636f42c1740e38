# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and rewrite KEY=VALUE environment files, keeping every line that is not ours.

Pure text in, text out: no Ansible import, so the env_file module and the unit tests share it.

One file format has to satisfy four readers: systemd ``EnvironmentFile=``, ``docker --env-file``, the compose
``.env`` / python-dotenv family, and POSIX ``sh`` (``set -a; . FILE``). They disagree on quoting, so the rule is:

* a value made only of SAFE_CHARS (letters, digits and ``_-.+/=:@%,~``: every character of base64, base64url,
  JWTs and RFC 6750 ``b64token``) is written bare, ``KEY=value``. All four readers, docker included, read it as is.
  (A ``~`` at the start of the value or right after ``:`` would be tilde-expanded by sh, so such a value is quoted.)
* any other value is written in single quotes, ``KEY='value'``. systemd, dotenv, compose and sh read the text
  between the quotes literally. ``docker --env-file`` does not parse quotes at all and would keep them as part of
  the value: docker ``--env-file`` users must keep to SAFE_CHARS (tokens always do).
* a value no quoting form can carry identically is refused, naming the key, never the value:
  control characters (newline, carriage return, NUL, ... end a line or cannot be stored), ``'`` and ``\\`` (escape
  characters inside dotenv single quotes, literal for systemd and sh), and ``$`` (python-dotenv expands ``${VAR}``
  even inside single quotes). Refusing beats writing a file whose readers see different secrets.

A key set more than once takes the last assignment in every reader; when this module sets a key, it rewrites the
last assignment in place and drops the earlier ones, so no stale secret stays behind in a dead line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

KEY_PATTERN = r'[A-Za-z_][A-Za-z0-9_]*'
SAFE_CHARS = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=:@%,~')

_KEY_RE = re.compile(KEY_PATTERN + r'\Z')
# An assignment as the readers see it: optional indentation, an optional `export ` (dotenv and sh accept it), the
# key, optional blanks, `=`. Anything else (comments, blanks, lines we do not understand) is kept verbatim.
_ASSIGNMENT_RE = re.compile(r'[ \t]*(?:export[ \t]+)?(' + KEY_PATTERN + r')[ \t]*=')
_CONTROL_NAMES = {'\n': 'a newline', '\r': 'a carriage return', '\0': 'a NUL character'}


class EnvFileError(ValueError):
    """A key or value this module refuses to write. The message names the key, never the value."""


def validate_key(key):
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise EnvFileError('invalid key %r: a key must match %s' % (key, KEY_PATTERN))


def render_value(key, value):
    """Return VALUE as it is written after ``KEY=`` (see the module docstring for the rule)."""
    validate_key(key)
    for char in value:
        if char in _CONTROL_NAMES:
            raise EnvFileError('the value of %s contains %s; environment files hold one line per key' %
                               (key, _CONTROL_NAMES[char]))
        if ord(char) < 0x20 or ord(char) == 0x7f:
            raise EnvFileError('the value of %s contains a control character (U+%04X), which environment files '
                               'cannot carry reliably' % (key, ord(char)))
        if 0xd800 <= ord(char) <= 0xdfff:
            raise EnvFileError('the value of %s is not valid Unicode text (lone surrogate)' % key)
        if char in "'\\$":
            raise EnvFileError(
                "the value of %s contains %r, which systemd, docker/dotenv and sh cannot all read back "
                "identically; use a value without ' \\ or $ (tokens never contain them)" % (key, char))
    if all(char in SAFE_CHARS for char in value) and not value.startswith('~') and ':~' not in value:
        return value
    return "'%s'" % value


def render_line(key, value):
    return '%s=%s' % (key, render_value(key, value))


class Entry:
    """One logical line of the file: ``key`` is None for comments, blanks and lines we do not understand.

    ``text`` holds the physical lines exactly as read, line endings included (several physical lines when a quoted
    value spans lines or an unquoted one ends with a backslash continuation).
    """

    __slots__ = ('key', 'text')

    def __init__(self, key, text):
        self.key = key
        self.text = text

    def __repr__(self):
        return 'Entry(%r, %r)' % (self.key, self.text)


def _value_is_open(rest):
    """Tell whether the value text after ``=`` continues on the next physical line.

    Follows systemd's reading: a quote opens only where a value (or a quoted part) starts, backslash escapes the
    next character outside single quotes, and a backslash before the line end continues the line.
    """
    state = 'pre'
    i = 0
    while i < len(rest):
        char = rest[i]
        if state == 'single':
            if char == "'":
                state = 'pre'
        elif state == 'double':
            if char == '\\':
                i += 1
            elif char == '"':
                state = 'pre'
        elif char == '\\':
            i += 1
            if i >= len(rest):
                return True
        elif state == 'pre' and char == "'":
            state = 'single'
        elif state == 'pre' and char == '"':
            state = 'double'
        elif state == 'pre' and char not in ' \t':
            state = 'bare'
        i += 1
    return state in ('single', 'double')


def parse(text):
    """Split TEXT into a list of Entry; ``''.join(e.text for e in parse(t)) == t`` always holds."""
    lines = text.splitlines(True) if text else []
    # str.splitlines also splits on \v, \f, \x1c-\x1e, \x85, \u2028, \u2029, which none of the readers treat as a
    # line end; glue those pieces back so that only \n (and \r\n) separate lines.
    physical = []
    for line in lines:
        if physical and not physical[-1].endswith('\n'):
            physical[-1] += line
        else:
            physical.append(line)
    entries = []
    i = 0
    while i < len(physical):
        line = physical[i]
        i += 1
        match = _ASSIGNMENT_RE.match(line)
        if not match:
            entries.append(Entry(None, line))
            continue
        text_lines = [line]
        while _value_is_open(''.join(text_lines)[match.end():].rstrip('\r\n')) and i < len(physical):
            text_lines.append(physical[i])
            i += 1
        entries.append(Entry(match.group(1), ''.join(text_lines)))
    return entries


def _line_ending(text):
    if text.endswith('\r\n'):
        return '\r\n'
    if text.endswith('\n'):
        return '\n'
    return ''


def update(text, present=None, absent=()):
    """Set the keys of PRESENT (an ordered mapping KEY -> str) and remove the keys in ABSENT.

    Returns ``(new_text, changes)``; ``changes`` maps each key that differs to ``'value changed'``, ``'added'`` or
    ``'removed'``, in file order then append order. Raises EnvFileError before anything is decided when a key or a
    value cannot be written.
    """
    present = present or {}
    wanted = dict((key, render_line(key, value)) for key, value in present.items())
    for key in absent:
        validate_key(key)

    entries = parse(text)
    last_index = {}
    for index, entry in enumerate(entries):
        if entry.key is not None:
            last_index[entry.key] = index

    changes = {}
    result = []
    for index, entry in enumerate(entries):
        key = entry.key
        if key in wanted:
            if index != last_index[key]:
                # An earlier duplicate: dead for every reader, but it may hold an old secret.
                changes[key] = 'value changed'
                continue
            ending = _line_ending(entry.text)
            if entry.text[:len(entry.text) - len(ending)] != wanted[key]:
                changes[key] = 'value changed'
                result.append(wanted[key] + (ending or '\n'))
            else:
                result.append(entry.text)
        elif key is not None and key in absent:
            changes[key] = 'removed'
        else:
            result.append(entry.text)

    for key, line in wanted.items():
        if key not in last_index:
            if result and not result[-1].endswith('\n'):
                result[-1] += '\n'
            result.append(line + '\n')
            changes[key] = 'added'
    return ''.join(result), changes


def diff_summary(changes, path=''):
    """An Ansible ``diff`` dict that names the changed keys and never shows a value."""
    before = []
    after = []
    for key, change in changes.items():
        if change == 'added':
            after.append('%s (added)\n' % key)
        elif change == 'removed':
            before.append('%s (removed)\n' % key)
        else:
            before.append('%s (old value)\n' % key)
            after.append('%s (value changed)\n' % key)
    return dict(before=''.join(before), after=''.join(after), before_header=path, after_header=path)
