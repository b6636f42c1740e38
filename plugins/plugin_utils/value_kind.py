# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the input checks of the roles name what they were given instead of what they expected.

A role's argument spec converts copies of its variables while the role uses the values as given, so the roles check
the types again and say "oauth2_schedule_environment must be a mapping ..., not a list". This is the one place that
words "a list".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping, Sequence


def kind_of(value):
    """'null', 'a string', 'a mapping', 'a list', 'a boolean', 'a number' or 'a <type>': what VALUE is, for a message.

    Booleans are tested before numbers (bool is an int in Python); tuples count as lists, as YAML and Jinja make no
    difference.
    """
    if value is None:
        return 'null'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, Mapping):
        return 'a mapping'
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return 'a list'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    return 'a %s' % type(value).__name__


def shown(value, limit=60):
    """VALUE as text to quote in a message: control characters as '?', at most LIMIT characters ('...' at the end).

    A value is quoted so that the reader recognizes it; a newline or an escape sequence in it would break the message
    or the terminal showing it.
    """
    text = ''.join('?' if ord(char) < 0x20 or char == '\x7f' else char for char in str(value))
    return text if len(text) <= limit else text[:limit - 3] + '...'
