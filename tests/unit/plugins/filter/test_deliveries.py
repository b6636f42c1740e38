# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters tokenops.oauth2.deliverable and tokenops.oauth2.delivery_values as the deliver role calls them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tokenops.oauth2.plugins.filter.deliveries import FilterModule
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.deliveries import with_defaults

FILTERS = FilterModule().filters()
TOKENS = dict(results=[dict(item='api', access_token='at', expires_in=60), dict(item='app', failed=True, msg='no')])


def test_the_role_s_filters():
    api, app = with_defaults(dict(profile='api', to='env_file', path='/a', vars=dict(T='access_token', N='expires_in'))), \
        with_defaults(dict(profile='app', to='env_file', path='/b', vars=dict(T='access_token')))
    assert FILTERS['deliverable']([api, app], TOKENS) == [api]
    assert FILTERS['delivery_values'](api, TOKENS) == dict(T='at')
    assert FILTERS['delivery_values'](api, TOKENS, countdown=True) == dict(N=60)


@pytest.mark.parametrize('name, args', [
    ('deliverable', (['not a delivery'], TOKENS)),
    ('delivery_values', ({'profile': 'api'}, TOKENS)),
    ('delivery_values', (with_defaults(dict(profile='app', vars={})), TOKENS)),
])
def test_input_that_is_not_the_role_s_fails_with_the_filter_s_name(name, args):
    with pytest.raises(AnsibleFilterError, match='^tokenops.oauth2.%s: .* [(]it takes ' % name):
        FILTERS[name](*args)
