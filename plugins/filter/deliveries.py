# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters tokenops.oauth2.deliverable and tokenops.oauth2.delivery_values: what the deliver role's write tasks
write, from a delivery and the token results. Documented in deliverable.yml and delivery_values.yml beside this
file; the rules are in plugin_utils.deliveries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.tokenops.oauth2.plugins.plugin_utils import deliveries as rules
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native


def deliverable(deliveries, token_results):
    return _applied(rules.deliverable, 'the deliveries of the deliver role', deliveries, token_results)


def delivery_values(delivery, token_results, countdown=False):
    return _applied(rules.delivery_values, 'one delivery of the deliver role', delivery, token_results,
                    countdown=countdown)


def _applied(rule, what, data, token_results, **options):
    """RULE applied; a wrong input fails with the filter's name and what it takes (the role never gives one)."""
    try:
        return rule(native(data), native(token_results), **options)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('tokenops.oauth2.%s: %s (it takes %s, after its token task)' % (
            rule.__name__, exc, what))


class FilterModule(object):

    def filters(self):
        return dict(deliverable=deliverable, delivery_values=delivery_values)
