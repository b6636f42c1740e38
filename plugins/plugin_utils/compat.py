# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that knows which ansible-core runs the controller plugins (2.16 and later).

ansible-core 2.19 replaced the controller's value types with data tagging: a templated value is a tagged ``str``
(or ``dict``, ``list``), and a ``!vault`` value is an ``EncryptedString``, decrypted on demand;
``ansible.utils.vars.transform_to_native_types`` turns all of it back into plain Python data. Before 2.19 a value is
an ``AnsibleUnsafeText`` / ``AnsibleUnicode`` (``str`` subclasses) and a ``!vault`` value an
``AnsibleVaultEncryptedUnicode``, which is no ``str`` at all and decrypts through its ``data``.

Plugins call :func:`native` on whatever came from variables or task arguments before it reaches the engine, the
per-process memo or a YAML dump; nothing else in the collection asks which ansible-core it runs on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.module_utils.common.text.converters import to_text

try:  # ansible-core 2.19+: it decrypts an EncryptedString (redact=False) and drops the data tags
    from ansible.utils.vars import transform_to_native_types as _transform_to_native_types
    _VaultEncryptedUnicode = None
except ImportError:  # ansible-core 2.16 to 2.18
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode as _VaultEncryptedUnicode
    _transform_to_native_types = None


def native(value):
    """VALUE as plain Python data: dict, list, exact str and bytes, numbers, booleans, None; vaulted values decrypted.

    The result is for the engine, which must not see Ansible's types; it holds secrets in the clear, so it never
    goes back into a task result unredacted.
    """
    if _transform_to_native_types is not None:
        return _transform_to_native_types(value, redact=False)
    return _native_before_2_19(value)


def _native_before_2_19(value):
    # Same shapes as transform_to_native_types: mappings become dicts (keys too), other collections lists.
    if isinstance(value, _VaultEncryptedUnicode):  # a Sequence, so before the collections
        return to_text(value.data, errors='surrogate_or_strict')
    if isinstance(value, str):
        return str.__str__(value)  # an exact str: drops AnsibleUnsafeText / AnsibleUnicode
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, Mapping):
        return dict((_native_before_2_19(k), _native_before_2_19(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_native_before_2_19(item) for item in value]
    return value
