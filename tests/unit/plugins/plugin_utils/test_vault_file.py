# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helpers behind tokenops.oauth2.vault_vars: plugin_utils.vars_yaml (the YAML text) and plugin_utils.vault_file
(the run's vault, what a write changes). The file writes are module_utils.private_file's (test_private_file.py). The
action plugin itself is proven end to end by tests/integration/test_vault_vars.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import (
    Unsafe, Vaulted, VarsFileError, dump, load_mapping, render, splice, utf8)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vault_file import (
    RunVault, VaultVarsError, diff, parse_mode, plan, wanted)

TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1bml0In0.c2lnLXVuaXQtdGVzdC0xMjM0NTY3ODkw'
OTHER = 'other-token-value-5566'


def secrets(*pairs):
    return [(vault_id, VaultSecret(password.encode())) for vault_id, password in pairs]


@pytest.fixture
def vault():
    return RunVault(secrets(('default', 'unit-pw-1')), None, 'vars.yml')


def vaulted(vault, plaintext):
    return Vaulted(vault.encrypt(plaintext).decode())


# --- vars_yaml ---------------------------------------------------------------------------------------------------

def test_load_mapping_keeps_tags_as_what_they_are():
    data = load_mapping('a: 1\nb: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nc: !unsafe "{{ x }}"\n', 'f')
    assert data['a'] == 1 and data['b'] == Vaulted('$ANSIBLE_VAULT;1.1;AES256\n6162\n')
    assert isinstance(data['c'], Unsafe) and data['c'] == '{{ x }}'
    assert load_mapping('', 'f') == {} and load_mapping('---\n', 'f') == {}


@pytest.mark.parametrize('text, message', [
    ('- a\n- b\n', 'holds a YAML list, not a mapping'),
    ('a: [1\nsecret: %s\n' % TOKEN, 'cannot be read as a YAML vars file (line'),
    ('a: !vault [1, 2]\n', 'cannot be read as a YAML vars file'),
])
def test_load_mapping_errors_name_the_file_never_the_content(text, message):
    with pytest.raises(VarsFileError) as info:
        load_mapping(text, 'group_vars/all/t.yml')
    assert message in str(info.value) and 'group_vars/all/t.yml' in str(info.value)
    assert TOKEN not in str(info.value)


def test_utf8_refuses_binary():
    assert utf8('é: 1\n'.encode(), 'f') == 'é: 1\n'
    with pytest.raises(VarsFileError, match='not UTF-8'):
        utf8(b'\xff\xfe', 'f')


def test_dump_writes_vault_block_and_unsafe_tags():
    text = dump({'t': Vaulted('$ANSIBLE_VAULT;1.1;AES256\n6162\n'), 'u': Unsafe('{{ x }}'), 'n': 'plain'})
    assert text == "t: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nu: !unsafe '{{ x }}'\nn: plain\n"
    assert load_mapping(text, 'f') == {'t': Vaulted('$ANSIBLE_VAULT;1.1;AES256\n6162\n'), 'u': '{{ x }}',
                                       'n': 'plain'}


def test_splice_replaces_one_entry_and_keeps_every_other_byte():
    text = '---\n# managed in part\nregion: eu  # where\ntoken: old  # set by ansible\nports:\n  - 80\n'
    entry = dump({'token': 'new'})
    data = dict(load_mapping(text, 'f'), token='new')
    assert splice(text, data, {'token': entry}, []) == (
        '---\n# managed in part\nregion: eu  # where\ntoken: new  # set by ansible\nports:\n  - 80\n')


def test_splice_replaces_a_block_scalar_removes_and_appends():
    text = 'a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nb: 2\nc: 3\n'
    data = {'a': 'x', 'c': 3, 'd': 'y'}
    out = splice(text, data, {'a': dump({'a': 'x'}), 'd': dump({'d': 'y'})}, ['b'])
    assert out == 'a: x\nc: 3\nd: y\n'


@pytest.mark.parametrize('text', ['{a: 1, b: 2}\n', 'a: 1\na: 2\n', '[1, 2]\n'])
def test_splice_declines_layouts_it_cannot_edit_safely_and_render_rewrites_them(text):
    data = {'a': 'new'}
    assert splice(text, data, {'a': dump(data)}, []) is None
    assert render(text, data, {'a': dump(data)}, []) == '---\na: new\n'


@pytest.mark.parametrize('value', ['a\x85b', 'a\u2028b', 'a\u2029\nb', Unsafe('{{ a }}\x85')])
def test_other_line_breaks_round_trip(value):
    assert load_mapping(dump({'token': value}), 'f') == {'token': value}


def test_render_of_everything_removed_is_an_empty_mapping():
    assert splice('a: 1\n', {}, {}, ['a']) == ''
    assert render('a: 1\n', {}, {}, ['a']) == render('{a: 1}\n', {}, {}, ['a']) == '---\n{}\n'


NAMES = st.sampled_from(['alpha', 'beta', 'gamma', 'delta', 'epsilon'])
VALUES = st.one_of(st.text(alphabet='abc: #\'"{}-', max_size=8), st.integers(), st.booleans())
# Any text, YAML 1.1's other line breaks (NEL, LS, PS) included: PyYAML alone folds NEL into a space.
NEW_VALUES = st.one_of(st.text(max_size=8), st.text(alphabet='ab \n\x85\u2028\u2029\'"', max_size=8))


@settings(max_examples=150, deadline=None)
@given(old=st.dictionaries(NAMES, VALUES, max_size=5), new=st.dictionaries(NAMES, NEW_VALUES, max_size=3),
       removed=st.lists(NAMES, max_size=2, unique=True), comments=st.booleans())
def test_render_always_loads_as_the_data_meant(old, new, removed, comments):
    text = dump(old) if old else ''
    if comments:
        text = '# head\n' + text.replace('\n', '  # note\n', 1)
    data = dict(old)
    data.update(new)
    gone = [n for n in removed if n not in new and n in data]
    for name in gone:
        del data[name]
    out = render(text, data, dict((n, dump({n: v})) for n, v in new.items()), gone)
    loaded = load_mapping(out, 'f')
    assert loaded == data and list(loaded) == list(data)


# --- vault_file: the run's vault ---------------------------------------------------------------------------------

def test_run_vault_round_trip_and_choice_of_id():
    run = RunVault(secrets(('dev', 'pw-dev'), ('prod', 'pw-prod')), 'prod', 'f')
    assert run.vault_id == 'prod'
    ciphertext = run.encrypt(TOKEN)
    assert ciphertext.startswith(b'$ANSIBLE_VAULT;1.2;AES256;prod\n')
    assert run.decrypt(ciphertext, 'f') == TOKEN
    assert VaultLib(secrets(('prod', 'pw-prod'))).decrypt(ciphertext).decode() == TOKEN


def test_run_vault_explains_what_is_missing():
    with pytest.raises(VaultVarsError, match='No vault secret is available to encrypt f. Run ansible-playbook with'):
        RunVault([], None, 'f')
    with pytest.raises(VaultVarsError, match="vault id 'prod' is not among this run's vault ids \\(dev\\)"):
        RunVault(secrets(('dev', 'pw')), 'prod', 'f')
    foreign = RunVault(secrets(('ops', 'other-pw')), None, 'f').encrypt(TOKEN)
    with pytest.raises(VaultVarsError) as info:
        RunVault(secrets(('dev', 'pw')), None, 'f').decrypt(foreign, 'The !vault value of t in f')
    assert "encrypted with vault id 'ops'" in str(info.value) and '(vault ids: dev)' in str(info.value)
    assert 'the file was left untouched' in str(info.value)


# --- vault_file: what changes ------------------------------------------------------------------------------------

def test_wanted_checks_names_and_values():
    assert wanted({'t': TOKEN, 'n': 5}, 'present') == ({'t': TOKEN, 'n': '5'}, [])
    assert wanted(['t', 'u'], 'absent') == ({}, ['t', 'u'])
    assert wanted({'t': None}, 'absent') == ({}, ['t'])
    for values, state, message in (
            ({'1t': 'x'}, 'present', "'1t' is not a valid variable name"),
            ({'t': True}, 'present', 'the value of t must be a string or a number, not bool'),
            ({'t': ['x']}, 'present', 'not list'),
            (['t'], 'present', 'must be a mapping'),
            ('t', 'absent', 'a list of variable names or a mapping')):
        with pytest.raises(VaultVarsError, match=message):
            wanted(values, state)


def test_plan_compares_plaintexts_and_leaves_unchanged_ciphertext_alone(vault):
    kept = vaulted(vault, TOKEN)
    data = {'same': kept, 'rotated': vaulted(vault, OTHER), 'clear': TOKEN, 'gone': 'x', 'other': 1}
    changes, new_data, entries = plan(data, {'same': TOKEN, 'rotated': TOKEN, 'clear': TOKEN, 'new': TOKEN},
                                      ['gone', 'absent-already'], vault, False, 'f')
    assert changes == {'rotated': 'value changed', 'clear': 'encrypted', 'new': 'added', 'gone': 'removed'}
    assert new_data['same'] is kept and new_data['other'] == 1 and 'gone' not in new_data
    assert sorted(entries) == ['clear', 'new', 'rotated']
    for name in entries:
        assert entries[name].startswith('%s: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n' % name)
        assert vault.decrypt(new_data[name].ciphertext, name) == TOKEN and TOKEN not in entries[name]


def test_plan_for_a_whole_encrypted_file_stores_plain_values_and_unsafe_markers(vault):
    changes, new_data, entries = plan({'a': 'x', 'b': vaulted(vault, 'y')}, {'a': 'x', 'b': 'y', 't': '{{ no }}'},
                                      [], vault, True, 'f')
    assert changes == {'t': 'added'} and isinstance(new_data['t'], Unsafe)
    assert entries == {'t': "t: !unsafe '{{ no }}'\n"}
    changes, _new, _entries = plan({'t': '{{ no }}'}, {'t': '{{ no }}'}, [], vault, True, 'f')
    assert changes == {'t': 'value changed'}, 'a plain value with markers gets its !unsafe tag'


def test_diff_names_variables_never_values():
    result = diff({'a': 'added', 'b': 'value changed', 'c': 'removed'}, 'f', True)
    assert result == dict(before='b (old value)\nc (removed)\n',
                          after='a (added)\nb (value changed)\n(whole file vault-encrypted)\n',
                          before_header='f', after_header='f')


# --- vault_file: the mode -------------------------------------------------------------------------------------------

def test_parse_mode():
    assert parse_mode('0600') == 0o600 and parse_mode('640') == 0o640 and parse_mode(0o600) == 0o600
    assert parse_mode(0) == 0 and parse_mode(0o7777) == 0o7777
    for bad in ('u=rw', '0800', True, '06000', -1, 0o10000):
        with pytest.raises(VaultVarsError, match='octal string'):
            parse_mode(bad)
