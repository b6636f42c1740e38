# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``import ansible_collections.tokenops.oauth2...`` work under plain pytest.

Plugins import their helpers by the collection's full name, which only resolves from a directory laid out as
``ansible_collections/tokenops/oauth2``. The checkout can live anywhere (NOTES.md), so for each pytest session this
builds such a tree in a temporary directory, with ``oauth2`` a symlink to the repository root, and puts it first on
``sys.path``. Under ``ansible-test units`` the collection is already importable and nothing is done.

This file only sets up imports and the markers; fixtures belong in the conftest.py files further down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_importable():
    try:
        spec = importlib.util.find_spec('ansible_collections.tokenops.oauth2')
    except ImportError:
        return False
    return spec is not None and any(
        os.path.realpath(p) == os.path.realpath(REPO_ROOT) for p in (spec.submodule_search_locations or []))


if not _collection_importable():
    _tree = tempfile.mkdtemp(prefix='tokenops-oauth2-pytest-')
    atexit.register(shutil.rmtree, _tree, True)
    os.makedirs(os.path.join(_tree, 'ansible_collections', 'tokenops'))
    os.symlink(REPO_ROOT, os.path.join(_tree, 'ansible_collections', 'tokenops', 'oauth2'))
    sys.path.insert(0, _tree)
    # A failed find_spec above may have cached an ansible_collections namespace without our tree in its path.
    for _name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[_name]
    importlib.invalidate_caches()


def pytest_configure(config):
    # test_compat.py covers the lookup, the module on the controller and on the host, and env_file in one playbook.
    config.addinivalue_line('markers', 'smoke: the subset scripts/matrix.sh runs on every other supported ansible-core '
                                       '(every plugin and both roles, each once)')
    config.addinivalue_line('markers', 'serial: run alone, after the parallel (pytest -n) part of scripts/test.sh: '
                                       'a fixed port, or a time bound that another worker\'s load would blur')
