# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file path options of env_file, vault_vars and run_lock: what ansible's 'path' type lets through."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def path_problem(option, raw, value):
    """Why OPTION cannot name a file, or None; env_file, vault_vars and run_lock share this check.

    RAW is the value as the task gave it, VALUE what ansible's 'path' type made of it. That conversion hides two
    mistakes (a list or mapping becomes its repr, null becomes ''), so both are needed.
    """
    if isinstance(raw, (dict, list)):
        return '%s must be a file path, got a %s' % (option, 'mapping' if isinstance(raw, dict) else 'list')
    if not value:
        return '%s must be a file path, got %s' % (option, 'null' if raw is None else 'an empty string')
    if '\0' in value:  # the OS cannot take it: Python raises ValueError 'embedded null byte'
        return '%s must not contain a NUL byte' % option
    return None
