# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup keeps its options per distinct call (OPTIONS_SET): right only while no option in it reads host variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml
from ansible.errors import AnsibleError

from ansible_collections.tokenops.oauth2.plugins.doc_fragments.profile import ModuleDocFragment
from ansible_collections.tokenops.oauth2.plugins.doc_fragments.shared_store import \
    ModuleDocFragment as SharedStoreFragment
from ansible_collections.tokenops.oauth2.plugins.lookup import token
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import STORE_VARIABLES, store_options


def test_no_option_in_the_memo_is_read_from_host_variables():
    options = dict(yaml.safe_load(token.DOCUMENTATION)['options'])
    for fragment in (ModuleDocFragment, SharedStoreFragment):
        for name, spec in yaml.safe_load(fragment.DOCUMENTATION)['options'].items():
            options.setdefault(name, {}).update(spec)
    assert set(token.LOOKUP_OPTIONS) <= set(options)
    with_vars = dict((name, [v['name'] for v in spec['vars']]) for name, spec in options.items() if spec.get('vars'))
    # Only the store secrets come from host variables, and those are read per call by controller.store_options
    # (the memo only holds what the keywords, the environment and ansible.cfg say).
    assert with_vars == dict((k, [v]) for k, v in STORE_VARIABLES.items()), \
        'these options come from host variables, so the options memo would be wrong: %s' % with_vars


def test_store_variables_win_over_the_environment_but_not_over_a_keyword():
    class Templar(object):
        def template(self, value):
            return value.replace('{{ vault_key }}', 'k' * 32)

    variables = dict(tokenops_oauth2_cache_key='{{ vault_key }}', tokenops_oauth2_cache_password='from-var')
    # What the lookup's configuration resolved: the keyword for the password, the environment for the key.
    options = dict(cache_url='redis://h', cache_key='from-env', cache_password='from-keyword')
    settings = store_options(options, variables, Templar(), direct=dict(cache_password='from-keyword'))
    assert settings['cache_key'] == 'k' * 32 and settings['cache_url'] == 'redis://h'
    assert settings['cache_password'] == 'from-keyword'
    assert store_options(options, {}, Templar())['cache_key'] == 'from-env'


def test_the_lookup_options_are_the_documented_ones():
    """The lookup's own options: its documentation and the shared store's fragment. The profile options are the
    module's (documented there once); a keyword that is neither is refused, so LOOKUP_OPTIONS must list them all."""
    documented = set(yaml.safe_load(token.DOCUMENTATION)['options'])
    documented |= set(yaml.safe_load(SharedStoreFragment.DOCUMENTATION)['options'])
    assert documented - {'_terms'} == set(token.LOOKUP_OPTIONS)
    assert 'tokenops.oauth2.profile' not in yaml.safe_load(token.DOCUMENTATION)['extends_documentation_fragment']


@pytest.mark.parametrize('keywords', [dict(field='all'), dict(client_id='x', scope='a b'), dict(cache_url='redis://h'),
                                      dict(preset='keycloak', base_url='https://kc', realm='r')])
def test_lookup_and_profile_options_are_known_keywords(keywords):
    token.LookupModule()._check_keywords(keywords)


def test_an_unknown_keyword_is_refused_with_a_suggestion_and_no_value():
    with pytest.raises(AnsibleError) as err:
        token.LookupModule()._check_keywords(dict(client_secert='s3cret-value', feild='all'))
    message = str(err.value)
    assert "'client_secert' (did you mean 'client_secret'?)" in message and "'feild' (did you mean 'field'?)" in message
    assert 's3cret-value' not in message
