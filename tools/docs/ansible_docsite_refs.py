# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Sphinx extension for building the docs offline: resolve references to the Ansible documentation without its
intersphinx inventory, which would have to be downloaded.

The pages antsibull-docs generates refer to a few labels of the Ansible docsite (the common return values, action
plugins, callback plugins, configuration settings, ansible.builtin plugins), to plugins of ansible.builtin and to
Ansible's own environment variables. Each becomes a link to
its page on docs.ansible.com. A label not known here stays an error, so that a new one gets added on purpose.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from docutils import nodes

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
LABELS = {
    'action_plugins': 'plugins/action.html',
    'callback_plugins': 'plugins/callback.html',
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'playbooks_vault': 'vault_guide/vault_using_encrypted_content.html',
}
BUILTIN_PLUGIN = re.compile(r'^ansible_collections\.ansible\.builtin\.(\w+)_(module|lookup|filter|test|callback)$')


def resolve(app, env, node, contnode):
    if node.get('refdomain') != 'std' or node.get('reftype') not in ('ref', 'envvar'):
        return None
    target = node.get('reftarget', '')
    if node.get('reftype') == 'envvar':
        # Ansible's own settings (E(ANSIBLE_...)): their entry in the configuration reference.
        page = 'reference_appendices/config.html#envvar-' + target if target.startswith('ANSIBLE_') else None
    else:
        page = LABELS.get(target)
        match = BUILTIN_PLUGIN.match(target)
        if match:
            page = 'collections/ansible/builtin/%s_%s.html' % match.groups()
    if page is None:
        return None
    text = contnode.astext() if node.get('refexplicit') else target
    reference = nodes.reference('', '', internal=False, refuri=ANSIBLE_DOCS + page)
    reference += nodes.inline(text, text)
    return reference


def setup(app):
    app.connect('missing-reference', resolve)
    return dict(parallel_read_safe=True, parallel_write_safe=True)
