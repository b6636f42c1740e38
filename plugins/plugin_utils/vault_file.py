# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vault-encrypted variables in a vars file on the controller, for tokenops.oauth2.vault_vars: the run's vault
secrets and what a write changes.

The shape follows community.sops: decide ``changed`` by decrypting what is on disk and comparing plaintexts (vault
ciphertext is salted, so re-encrypting an unchanged value would always look like a change), then write through
module_utils.private_file, like every other file the collection writes. The YAML text itself is vars_yaml's concern.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret, parse_vaulttext_envelope
from ansible.utils.vars import isidentifier

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import (
    Unsafe, Vaulted, VarsFileError, dump, load_mapping, render, utf8)

TEMPLATE_MARKERS = ('{{', '{%', '{#')


class VaultVarsError(VarsFileError):
    """An expected failure; the message says what to do and never contains a value."""


class RunVault:
    """The vault secrets of the run: encrypt with the chosen one, decrypt with any, explain failures."""

    def __init__(self, secrets, wanted_id, path):
        if not secrets:
            raise VaultVarsError(
                'No vault secret is available to encrypt %s. Run ansible-playbook with --vault-id LABEL@SOURCE or '
                '--vault-password-file FILE (or set ANSIBLE_VAULT_PASSWORD_FILE).' % path)
        # Pick as `ansible-vault encrypt` does: --encrypt-vault-id / DEFAULT_VAULT_ENCRYPT_IDENTITY, else the first.
        wanted_id = wanted_id or C.DEFAULT_VAULT_ENCRYPT_IDENTITY
        try:
            self.vault_id, self._secret = match_encrypt_secret(secrets, wanted_id)
        except AnsibleError:
            raise VaultVarsError("The vault id '%s' is not among this run's vault ids (%s). Pass --vault-id %s@SOURCE."
                                 % (wanted_id, ', '.join(v for v, _s in secrets), wanted_id))
        self._vault = VaultLib(secrets)
        self._known_ids = ', '.join(v for v, _s in secrets)

    def encrypt(self, plaintext):
        return self._vault.encrypt(plaintext, self._secret, vault_id=self.vault_id)

    def decrypt(self, ciphertext, what):
        try:
            return to_text(self._vault.decrypt(ciphertext), errors='surrogate_or_strict')
        except AnsibleError:
            try:
                envelope_id = to_text(parse_vaulttext_envelope(to_bytes(ciphertext))[3])
            except AnsibleError:
                envelope_id = 'unknown'
            raise VaultVarsError(
                "%s was encrypted with vault id '%s', which none of this run's vault secrets (vault ids: %s) "
                "decrypts. Run with the --vault-id / --vault-password-file that encrypted it; the file was left "
                "untouched." % (what, envelope_id, self._known_ids))


# --- what to change ----------------------------------------------------------------------------------------------

def wanted(values, state):
    """Return (name -> plaintext to set, names to remove), as plain str."""
    if state == 'present' and not isinstance(values, dict):
        raise VaultVarsError('values must be a mapping of variable name to value when state=present')
    if state == 'absent' and not isinstance(values, (dict, list)):
        raise VaultVarsError('values must be a list of variable names or a mapping when state=absent')
    # Plain data: exact str names and values (YAML cannot dump Ansible's own str types), vaulted values decrypted.
    values = native(values)
    for name in values:
        if not isinstance(name, str) or not isidentifier(name):
            raise VaultVarsError('%r is not a valid variable name' % (name,))
    if state == 'absent':
        return {}, list(values)
    return dict((name, plain_value(name, value)) for name, value in values.items()), []


def plain_value(name, value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise VaultVarsError('the value of %s must be a string or a number, not %s' % (name, type(value).__name__))
    return '%s' % (value,)


def plan(data, wanted_values, removed, vault, encrypt_file, path):
    """Return (changes: name -> 'added' | 'value changed' | 'encrypted' | 'removed', the new mapping, the rendered
    ``name: value`` entries to splice in)."""
    changes = {}
    new_data = dict(data)
    entries = {}
    for name, value in wanted_values.items():
        # With encrypt=file a value is stored plain inside the encrypted file; !unsafe then keeps Ansible from
        # templating a value that happens to contain template markers, as it never templates a !vault value.
        unsafe = encrypt_file and any(marker in value for marker in TEMPLATE_MARKERS)
        change = _change(data, name, value, vault, encrypt_file, unsafe, path)
        if change is None:
            continue  # same plaintext, stored as it should be: leave the ciphertext alone
        changes[name] = change
        if encrypt_file:
            new_data[name] = Unsafe(value) if unsafe else value
        else:
            new_data[name] = Vaulted(to_text(vault.encrypt(value)))
        entries[name] = dump({name: new_data[name]})
    for name in removed:
        if name in data:
            changes[name] = 'removed'
            del new_data[name]
    return changes, new_data, entries


def _change(data, name, value, vault, encrypt_file, unsafe, path):
    if name not in data:
        return 'added'
    old = data[name]
    if isinstance(old, Vaulted):
        old_plain = vault.decrypt(old.ciphertext, 'The !vault value of %s in %s' % (name, path))
    else:
        old_plain = old if isinstance(old, str) else None
    if old_plain != value:
        return 'value changed'
    if isinstance(old, Vaulted):
        return None  # a !vault value is right in both modes
    if not encrypt_file:
        return 'encrypted'  # same plaintext, but it was stored in the clear
    return None if isinstance(old, Unsafe) == unsafe else 'value changed'


def diff(changes, path, encrypting_file):
    """An Ansible diff that names variables and never shows a value."""
    before = ''.join('%s (old value)\n' % n for n, c in changes.items() if c in ('value changed', 'encrypted'))
    before += ''.join('%s (removed)\n' % n for n, c in changes.items() if c == 'removed')
    after = ''.join('%s (%s)\n' % (n, c) for n, c in changes.items() if c != 'removed')
    if encrypting_file:
        after += '(whole file vault-encrypted)\n'
    return dict(before=before, after=after, before_header=path, after_header=path)


# --- the file's mode ---------------------------------------------------------------------------------------------

def parse_mode(mode):
    # An int is a mode written as a YAML octal number (0600); chmod takes any int, -1 included, so bound it.
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
        return mode
    if isinstance(mode, str) and 3 <= len(mode) <= 4 and all(c in '01234567' for c in mode):
        return int(mode, 8)
    raise VaultVarsError("mode must be an octal string such as '0600' (symbolic modes are not supported)")


# --- one variable, from a plugin -------------------------------------------------------------------------------

def set_vaulted_variable(path, name, value, secrets, mode=0o600):
    """Set ``name`` to ``value`` (vault-encrypted with the run's ``secrets``) in the vars file ``path``, every other
    line kept, as tokenops.oauth2.vault_vars does; a file vault-encrypted as a whole stays so. ``value`` may be a
    function, called under the file's lock: what to write is then decided by the one writer at a time. Creates the
    file (``mode``) when missing, never its directory. Returns whether the file changed; VarsFileError or OSError (a
    message without the value) when it cannot be written. What the token plugins write a rotated refresh token
    back with; written through module_utils.private_file like every other file (a symbolic link is refused)."""
    from ansible_collections.tokenops.oauth2.plugins.module_utils.private_file import PrivateFile
    vault = RunVault(secrets, None, path)
    with PrivateFile(path) as target:
        target.lock()  # the directory lock vault_vars takes too: one writer at a time
        raw = target.read()
        exists = raw is not None
        raw = raw or b''
        encrypt_file = is_encrypted(raw)
        text = vault.decrypt(raw, path) if encrypt_file else utf8(raw, path)
        data = load_mapping(text, path)
        changes, new_data, entries = plan(data, {name: value() if callable(value) else value}, [], vault,
                                          encrypt_file, path)
        if not changes:
            return False
        payload = to_bytes(render(text, new_data, entries, []))
        if encrypt_file:
            payload = vault.encrypt(payload)
        target.write(payload, None if exists else mode)
    return True
