# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup keeps its options per distinct call (OPTIONS_SET): right only while no option reads host variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.tokenops.oauth2.plugins.doc_fragments.profile import ModuleDocFragment
from ansible_collections.tokenops.oauth2.plugins.lookup import token


def test_no_lookup_option_is_read_from_host_variables():
    options = dict(yaml.safe_load(token.DOCUMENTATION)['options'])
    options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options'])
    assert set(token.LOOKUP_OPTIONS) <= set(options)
    with_vars = sorted(name for name, spec in options.items() if spec.get('vars'))
    assert not with_vars, 'these options come from host variables, so the options memo would be wrong: %s' % with_vars
