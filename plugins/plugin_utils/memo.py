# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A per-process memo for work that depends only on its inputs, for lookups called many times in one task.

A template may call the token lookup a thousand times, and a task loop runs all its items in one worker process.
Validating the same options and the same profile each time was most of the cost of a cache hit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json


class Memo(object):
    """Values by a SHA-256 of their inputs (which hold secrets: only the digest is kept as a key), at most ``size``."""

    def __init__(self, size=64):
        self.size = size
        self._values = {}

    def get(self, inputs, compute):
        """The value computed from ``inputs`` (plain JSON-able data): remembered, or ``compute()`` now. An exception
        from ``compute`` is not remembered, so a wrong input is reported every time."""
        try:
            key = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=repr).encode('utf-8')).hexdigest()
        except (TypeError, ValueError):  # keys of mixed types cannot be sorted: not worth a memo, still valid input
            return compute()
        if key not in self._values:
            value = compute()
            if len(self._values) >= self.size:
                self._values.clear()  # a run with more distinct inputs than that gains little from keeping them
            self._values[key] = value
        return self._values[key]
