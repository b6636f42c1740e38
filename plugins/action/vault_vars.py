# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write variables, vault-encrypted with the run's own vault secrets, into a YAML vars file on the controller.

The shape follows community.sops: decide ``changed`` by decrypting what is on disk and comparing plaintexts (vault
ciphertext is salted, so re-encrypting an unchanged value would always look like a change), then write through a
temporary file that has its final mode before its first byte, and rename it into place.

Lines that hold other variables are kept byte for byte, comments included: each variable we set is spliced over its
own ``key: value`` span, found with the YAML composer, and the result is parsed again and compared with what we meant
to write. Only if that check fails (flow-style mappings, duplicate keys, odd layouts) is the whole file re-rendered
from the data, which keeps every value and the order but drops comments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time

import yaml

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret, parse_vaulttext_envelope
from ansible.plugins.action import ActionBase
from ansible.utils.vars import isidentifier

try:
    from ansible.parsing.vault import EncryptedString  # ansible-core 2.19+: a !vault value, decrypted on demand
except ImportError:
    EncryptedString = str

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    values=dict(type='raw', required=True, no_log=True),
    vault_id=dict(type='str'),
    encrypt=dict(type='str', choices=['values', 'file'], default='values'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    mode=dict(type='raw', default='0600'),
    backup=dict(type='bool', default=False),
    create=dict(type='bool', default=True),
)

TEMPLATE_MARKERS = ('{{', '{%', '{#')


class VaultVarsError(Exception):
    """An expected failure; the message says what to do and never contains a value."""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # writes a controller file only

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        params = validation.validated_parameters
        no_log_values = set(validation._no_log_values)
        if params.get('state') == 'absent' and isinstance(params.get('values'), list):
            # Names listed for removal are not secrets; masking them would garble keys_changed.
            no_log_values.difference_update(v for v in params['values'] if isinstance(v, str))
        try:
            if validation.error_messages:
                raise VaultVarsError('Invalid arguments for vault_vars: %s' % '; '.join(validation.error_messages))
            result.update(self._run(params))
        except VaultVarsError as e:
            result.update(failed=True, msg=to_text(e))
        except (IOError, OSError) as e:
            result.update(failed=True, msg='%s: %s' % (params.get('path'), to_text(e)))
        # Belt and braces: whatever happened, no value of O(values) leaves this plugin.
        return remove_values(result, no_log_values)

    def _run(self, params):
        shown_path = params['path']
        # A relative path is relative to the playbook (or role) directory, like other controller-side files;
        # a symlink is written through, not replaced.
        path = os.path.realpath(os.path.join(self._loader.get_basedir(), shown_path))
        mode = _parse_mode(params['mode'])
        encrypt_file = params['encrypt'] == 'file'
        wanted, removed = _wanted(params['values'], params['state'])
        out = dict(changed=False, path=shown_path, keys_changed=[])

        if not os.path.isdir(os.path.dirname(path)):
            raise VaultVarsError('The directory of %s does not exist.' % shown_path)
        exists = os.path.exists(path)
        if not exists and params['state'] == 'absent':
            return out
        if not exists and not params['create']:
            raise VaultVarsError('%s does not exist and create=false.' % shown_path)
        vault = RunVault(self._loader._vault.secrets, params['vault_id'], shown_path)
        out['vault_id'] = vault.vault_id

        # One writer at a time per directory: the task may run for several hosts at once.
        with _directory_lock(os.path.dirname(path)):
            raw = _read(path) if exists else b''
            was_vaulted = is_encrypted(raw)
            if was_vaulted and not encrypt_file:
                # Decrypting it to write !vault values would expose every other variable in it.
                raise VaultVarsError('%s is vault-encrypted as a whole; use encrypt=file to update it.' % shown_path)
            text = vault.decrypt(raw, shown_path) if was_vaulted else _utf8(raw, shown_path)
            data = _load_mapping(text, shown_path)
            changes, new_data, entries = _plan(data, wanted, removed, vault, encrypt_file, shown_path)

            encrypting_file = encrypt_file and exists and not was_vaulted
            content_changed = bool(changes) or not exists or encrypting_file
            mode_changed = exists and stat.S_IMODE(os.stat(path).st_mode) != mode
            out.update(changed=content_changed or mode_changed, keys_changed=list(changes))
            if self._task.diff:
                out['diff'] = _diff(changes, shown_path, encrypting_file)
            if self._task.check_mode or not out['changed']:
                return out

            if content_changed:
                payload = to_bytes(_render(text, new_data, entries, [n for n in changes if changes[n] == 'removed']))
                if encrypt_file:
                    payload = vault.encrypt(payload)
                if exists and params['backup']:
                    out['backup_file'] = _backup(path)
                _write_atomic(path, payload, mode)
            else:
                os.chmod(path, mode)
        return out


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

def _wanted(values, state):
    """Return (name -> plaintext to set, names to remove), as plain str."""
    if state == 'present' and not isinstance(values, dict):
        raise VaultVarsError('values must be a mapping of variable name to value when state=present')
    if state == 'absent' and not isinstance(values, (dict, list)):
        raise VaultVarsError('values must be a list of variable names or a mapping when state=absent')
    for name in values:
        if not isinstance(name, str) or not isidentifier(name):
            raise VaultVarsError('%r is not a valid variable name' % (name,))
    if state == 'absent':
        return {}, ['%s' % name for name in values]
    return dict(('%s' % name, _plain_value(name, value)) for name, value in values.items()), []


def _plain_value(name, value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float, EncryptedString)):
        raise VaultVarsError('the value of %s must be a string or a number, not %s' % (name, type(value).__name__))
    # '%s' builds a plain str: it drops ansible-core 2.19's data tags (which YAML cannot dump) and decrypts an
    # EncryptedString handed through unchanged.
    return '%s' % (value,)


def _plan(data, wanted, removed, vault, encrypt_file, path):
    """Return (changes: name -> 'added' | 'value changed' | 'encrypted' | 'removed', the new mapping, the rendered
    ``name: value`` entries to splice in)."""
    changes = {}
    new_data = dict(data)
    entries = {}
    for name, value in wanted.items():
        # With encrypt=file a value is stored plain inside the encrypted file; !unsafe then keeps Ansible from
        # templating a value that happens to contain template markers, as it never templates a !vault value.
        unsafe = encrypt_file and any(marker in value for marker in TEMPLATE_MARKERS)
        change = _change(data, name, value, vault, encrypt_file, unsafe, path)
        if change is None:
            continue  # same plaintext, stored as it should be: leave the ciphertext alone
        changes[name] = change
        if encrypt_file:
            new_data[name] = _Unsafe(value) if unsafe else value
        else:
            new_data[name] = _Vaulted(to_text(vault.encrypt(value)))
        entries[name] = _dump({name: new_data[name]})
    for name in removed:
        if name in data:
            changes[name] = 'removed'
            del new_data[name]
    return changes, new_data, entries


def _change(data, name, value, vault, encrypt_file, unsafe, path):
    if name not in data:
        return 'added'
    old = data[name]
    if isinstance(old, _Vaulted):
        old_plain = vault.decrypt(old.ciphertext, 'The !vault value of %s in %s' % (name, path))
    else:
        old_plain = old if isinstance(old, str) else None
    if old_plain != value:
        return 'value changed'
    if isinstance(old, _Vaulted):
        return None  # a !vault value is right in both modes
    if not encrypt_file:
        return 'encrypted'  # same plaintext, but it was stored in the clear
    return None if isinstance(old, _Unsafe) == unsafe else 'value changed'


def _diff(changes, path, encrypting_file):
    """An Ansible diff that names variables and never shows a value."""
    before = ''.join('%s (old value)\n' % n for n, c in changes.items() if c in ('value changed', 'encrypted'))
    before += ''.join('%s (removed)\n' % n for n, c in changes.items() if c == 'removed')
    after = ''.join('%s (%s)\n' % (n, c) for n, c in changes.items() if c != 'removed')
    if encrypting_file:
        after += '(whole file vault-encrypted)\n'
    return dict(before=before, after=after, before_header=path, after_header=path)


# --- YAML in and out ---------------------------------------------------------------------------------------------

class _Vaulted:
    """A ``!vault`` scalar as found in (or written to) the file: kept and compared as ciphertext."""

    def __init__(self, ciphertext):
        self.ciphertext = ciphertext

    def __eq__(self, other):
        return isinstance(other, _Vaulted) and other.ciphertext == self.ciphertext

    __hash__ = None


class _Unsafe(str):
    """A ``!unsafe`` string: Ansible never templates it."""


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _construct_tagged(cls):
    def construct(loader, node):
        if not isinstance(node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, '%s on a non-scalar is not supported' % node.tag,
                                                    node.start_mark)
        return cls(loader.construct_scalar(node))
    return construct


_Loader.add_constructor('!vault', _construct_tagged(_Vaulted))
_Loader.add_constructor('!vault-encrypted', _construct_tagged(_Vaulted))
_Loader.add_constructor('!unsafe', _construct_tagged(_Unsafe))
_Dumper.add_representer(_Vaulted, lambda dumper, v: dumper.represent_scalar('!vault', v.ciphertext, style='|'))
_Dumper.add_representer(_Unsafe, lambda dumper, v: dumper.represent_scalar('!unsafe', str(v)))


def _dump(data):
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=120)


def _utf8(raw, path):
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise VaultVarsError('%s is not UTF-8 text, so it is not a YAML vars file.' % path)


def _load_mapping(text, path):
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        # The YAML error quotes the offending line, which could hold a secret: report the position only.
        mark = getattr(e, 'problem_mark', None)
        where = ' (line %d, column %d)' % (mark.line + 1, mark.column + 1) if mark else ''
        raise VaultVarsError('%s cannot be read as a YAML vars file%s; fix or move it.' % (path, where))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VaultVarsError('%s holds a YAML %s, not a mapping of variables; vault_vars only edits vars files '
                             'whose top level is a mapping.' % (path, type(data).__name__))
    return data


def _render(text, data, entries, removed):
    return _splice(text, data, entries, removed) or '---\n' + (_dump(data) if data else '{}\n')


def _splice(text, data, entries, removed):
    """Rewrite TEXT so that it loads as DATA: replace the top-level entries named in ENTRIES, drop those in REMOVED,
    append the new ones, leave every other character alone. Returns None when that cannot be done safely."""
    try:
        root = yaml.compose(text, Loader=_Loader) if text.strip() else None
    except yaml.YAMLError:
        return None
    spans = {}
    if root is not None:
        if not isinstance(root, yaml.MappingNode) or root.flow_style:
            return None
        for key_node, value_node in root.value:
            if key_node.value in spans:
                return None  # duplicate keys: let the full re-render settle them
            spans[key_node.value] = (key_node.start_mark.index, value_node.end_mark.index)
    edits = []
    for name in list(entries) + list(removed):
        if name not in spans:
            continue
        start, end = spans[name]
        old = text[start:end]
        trailing = len(old) - len(old.rstrip('\n'))  # a block scalar's span ends with its line break(s)
        rest = ''
        if trailing == 0:
            # A plain or quoted scalar ends mid-line: take the rest of the line along, a comment at most.
            eol = text.find('\n', end)
            eol = len(text) if eol < 0 else eol
            rest = text[end:eol]
            if rest.strip() and not rest.strip().startswith('#'):
                return None
            end = eol
        if name in removed:
            end = end + 1 if trailing == 0 else end  # the line break after a one-line entry
            new = '\n' * max(trailing - 1, 0)
        else:
            # A trailing comment goes after the first line of the new entry (`key: !vault |  # comment` is valid).
            first, _sep, more = entries[name].rstrip('\n').partition('\n')
            new = first + rest + ('\n' + more if more else '') + '\n' * trailing
        edits.append((start, end, new))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    appended = [entries[name] for name in entries if name not in spans]
    if appended:
        if not text.strip():
            text = '---\n'
        elif not text.endswith('\n'):
            text += '\n'
        text += ''.join(appended)
    try:
        spliced = _load_mapping(text, '')
    except VaultVarsError:
        return None
    return text if spliced == data and list(spliced) == list(data) else None


# --- files -------------------------------------------------------------------------------------------------------

def _parse_mode(mode):
    if isinstance(mode, int) and not isinstance(mode, bool):
        return mode
    if isinstance(mode, str) and 3 <= len(mode) <= 4 and all(c in '01234567' for c in mode):
        return int(mode, 8)
    raise VaultVarsError("mode must be an octal string such as '0600' (symbolic modes are not supported)")


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


@contextlib.contextmanager
def _directory_lock(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _backup(path):
    backup = '%s.%d.%s~' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S'))
    # A hard link keeps the old file itself (same bytes, mode, owner): no copy, no moment with other permissions.
    # The trailing ~ makes Ansible's group_vars/host_vars loading skip it.
    try:
        os.link(path, backup)
    except OSError:  # a filesystem without hard links: copy through the same private temporary file
        _write_atomic(backup, _read(path), stat.S_IMODE(os.stat(path).st_mode))
    return backup


def _write_atomic(path, payload, mode):
    directory, name = os.path.split(path)
    # mkstemp creates the file 0600 (O_EXCL, in the same directory, hidden: vars loading skips dot files); fchmod
    # sets the requested mode before the first byte is written.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % name, suffix='.tmp')
    try:
        try:
            os.fchmod(fd, mode)
            if os.path.exists(path):  # keep the owner and group of the file we replace, where allowed
                st = os.stat(path)
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except OSError as e:
                    if e.errno != errno.EPERM:
                        raise
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
