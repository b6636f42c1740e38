# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.presets against what documents them: the preset option of doc_fragments/profile.py (one line per
preset: its summary, its inputs, its choices) and the presets table of the profiles guide."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible_collections.tokenops.oauth2.plugins.doc_fragments.profile import ModuleDocFragment
from ansible_collections.tokenops.oauth2.plugins.module_utils.presets import PRESETS
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS

DOCUMENTED = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
GUIDE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'docsite', 'rst', 'guide_profiles.rst')


def test_every_preset_is_a_documented_choice():
    assert sorted(DOCUMENTED['preset']['choices']) == sorted(PRESETS) == sorted(PROFILE_OPTIONS['preset']['choices'])
    with open(GUIDE) as handle:
        guide = handle.read()
    assert [name for name in PRESETS if '  * - ``%s``\n' % name not in guide] == []


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_the_documentation_states_each_preset_s_summary_inputs_and_choices(name):
    preset = PRESETS[name]
    lines = [line for line in DOCUMENTED['preset']['description'] if line.startswith('V(%s) - ' % name)]
    assert len(lines) == 1, 'one line of the preset option, starting "V(%s) - %s."' % (name, preset['summary'])
    line = lines[0]
    assert line.startswith('V(%s) - %s.' % (name, preset['summary']))
    assert set(re.findall(r'O\((\w+)\)', line)) == set(preset['inputs']) | set(preset.get('choices', {}))
    for option, values in preset.get('choices', {}).items():
        assert all('V(%s)' % value in line for value in values), option


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_the_inputs_are_the_options_a_preset_needs_to_build_its_urls(name):
    preset = PRESETS[name]
    assert set(preset['inputs']) <= set(PROFILE_OPTIONS)
    given = set(preset['defaults']) | set(option for values in preset.get('environments', {}).values()
                                          for option in values)
    needed = set(re.findall(r'\{(\w+)\}', ' '.join(preset['defaults'].values()))) - given
    assert needed <= set(preset['inputs'])
