# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the unit tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest


@pytest.fixture
def umask_000():
    """The widest umask: a file created without an explicit mode would be world-readable."""
    old = os.umask(0)
    yield
    os.umask(old)
