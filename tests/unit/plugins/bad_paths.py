# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path values env_file, vault_vars and run_lock must all refuse, with the message each must give."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def bad_paths(suffix):
    """(path, message) pairs; ``suffix`` makes the names look like the plugin's own files."""
    return [
        (['a' + suffix, 'b' + suffix], 'path must be a file path, got a list'),
        ({'a' + suffix: 1}, 'path must be a file path, got a mapping'),
        ('', 'path must be a file path, got an empty string'),
        (None, 'path must be a file path, got null'),
        ('nul-\0-byte' + suffix, 'path must not contain a NUL byte'),
    ]
