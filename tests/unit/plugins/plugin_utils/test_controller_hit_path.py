# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's share of a cache hit: the profile is templated only when templating can change it, and what the
main process of ansible-playbook prepares before forking holds no profile, variable or secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.tokenops.oauth2.plugins.module_utils import cache as cache_module
from ansible_collections.tokenops.oauth2.plugins.plugin_utils import controller
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import template_data
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.memo import Memo

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates any string
    def trust_as_template(value):
        return value


class CountingTemplar(object):
    """A real Templar that counts the calls to template()."""

    def __init__(self, **variables):
        self.templar = Templar(loader=DataLoader(), variables=variables)
        self.calls = 0

    def is_possibly_template(self, data):
        return self.templar.is_possibly_template(data)

    def template(self, data):
        self.calls += 1
        return self.templar.template(data)


PLAIN = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret', scope=['a', 'b'],
             timeout=5, validate_certs=True, extra_params=dict(audience='api'), ca_path=None)


def test_plain_data_is_not_templated():
    templar = CountingTemplar()
    assert template_data(templar, PLAIN) is PLAIN
    assert templar.calls == 0
    assert templar.templar.template(PLAIN) == PLAIN  # which is what templating it would have returned


@pytest.mark.parametrize('where', ['value', 'nested value', 'list item', 'key'])
def test_a_template_anywhere_is_templated(where):
    templar = CountingTemplar(vault_secret='from-a-variable')
    template = trust_as_template('{{ vault_secret }}')
    data = dict(PLAIN)
    if where == 'value':
        data['client_secret'] = template
    elif where == 'nested value':
        data['extra_params'] = dict(audience=template)
    elif where == 'list item':
        data['scope'] = ['a', template]
    else:
        data['extra_params'] = {template: 'x'}
    assert template_data(templar, data) == templar.templar.template(data)
    assert templar.calls == 1


def test_a_value_of_another_type_is_left_to_the_templar():
    # Not one of the plain JSON types (a vaulted value is another): only the templar knows what it makes of it.
    templar = CountingTemplar()
    data = dict(PLAIN, scope=('a', 'b'))
    assert template_data(templar, data) == templar.templar.template(data)
    assert templar.calls == 1


def test_preparing_for_forks_computes_nothing_from_a_profile(monkeypatch):
    from ansible_collections.tokenops.oauth2.plugins.lookup import token as lookup
    # Empty memos of our own: earlier tests in this process may have filled the module-level ones.
    monkeypatch.setattr(lookup, 'OPTIONS_SET', Memo())
    monkeypatch.setattr(controller, 'PROFILES_BUILT', Memo())
    monkeypatch.setattr(cache_module, 'DECRYPTED', {})
    controller.prepare_for_forks()
    assert lookup.OPTIONS_SET._values == {}
    assert controller.PROFILES_BUILT._values == {}
    assert cache_module.DECRYPTED == {}
