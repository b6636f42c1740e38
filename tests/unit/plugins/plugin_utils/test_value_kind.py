# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.value_kind: how the roles' input checks name what they were given."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.value_kind import kind_of, shown


@pytest.mark.parametrize('value, kind', [
    (None, 'null'), ('', 'a string'), ('x', 'a string'), ({}, 'a mapping'), (OrderedDict(a=1), 'a mapping'),
    ([], 'a list'), ((1,), 'a list'), (True, 'a boolean'), (False, 'a boolean'), (0, 'a number'), (1.5, 'a number'),
    (b'x', 'a bytes'), (object(), 'a object'),
])
def test_kind_of(value, kind):
    assert kind_of(value) == kind


def test_shown_hides_control_characters_and_cuts_long_values():
    assert shown('a\nb\x00c\x1b[31m\x7f') == 'a?b?c?[31m?'
    assert shown('x' * 60) == 'x' * 60
    assert shown('x' * 61) == 'x' * 57 + '...'
    assert shown(['a', 1]) == "['a', 1]"
