# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.memo: what the lookup keeps per process between calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.memo import Memo


def counting():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)
    return calls, compute


def test_same_inputs_computed_once_other_inputs_again():
    memo = Memo()
    calls, compute = counting()
    assert memo.get(['p', {'client_secret': 's1', 'scope': 'a b'}], compute) == 1
    assert memo.get(['p', {'scope': 'a b', 'client_secret': 's1'}], compute) == 1  # key order does not matter
    assert memo.get(['p', {'client_secret': 's2', 'scope': 'a b'}], compute) == 2  # a changed secret is new input
    assert len(calls) == 2


def test_keys_are_digests_not_the_secrets():
    memo = Memo()
    memo.get({'client_secret': 'very-secret-value'}, lambda: 'built')
    assert all('very-secret-value' not in key for key in memo._values)  # pylint: disable=protected-access


def test_an_error_is_not_remembered():
    memo = Memo()

    def broken():
        raise ValueError('bad profile')
    for attempt in range(2):
        with pytest.raises(ValueError):
            memo.get('same', broken)


def test_bounded():
    memo = Memo(size=3)
    for number in range(10):
        memo.get(number, lambda: 'value')
    assert len(memo._values) <= 3  # pylint: disable=protected-access


def test_inputs_that_cannot_be_keyed_are_computed_each_time():
    memo = Memo()
    calls, compute = counting()
    unsortable = {1: 'a', 'b': 2}
    memo.get(unsortable, compute)
    memo.get(unsortable, compute)
    assert len(calls) == 2
