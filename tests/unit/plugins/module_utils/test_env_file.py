# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env-file format: what we write must read back identically in every consumer.

Readers used as oracles: python-dotenv's parser, a real POSIX ``sh`` (``set -a; . FILE``), systemd's own parser
(through ``systemd-environment-d-generator``, which reads env files with the code behind ``EnvironmentFile=``;
skipped where systemd is not installed), and docker's ``--env-file`` rule (a line is ``KEY=`` plus the value taken
literally), restated below from ``opts/envfile.go`` because docker needs a daemon to apply it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import subprocess
import tempfile

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tokenops.oauth2.plugins.module_utils.env_file import (
    SAFE_CHARS,
    EnvFileError,
    diff_summary,
    parse,
    render_line,
    render_value,
    update,
)

ENVD_GENERATOR = '/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator'
JWT = ('eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsb2NrZXItc3luYyIsImV4cCI6MTcwMDAwMDAwMH0.'
       'c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU-_w')


# --- oracles -----------------------------------------------------------------------------------------------------

def read_dotenv(text):
    return dict(dotenv_values(stream=io.StringIO(text)))


def read_sh(text, prefix):
    with tempfile.NamedTemporaryFile('w', encoding='utf-8', suffix='.env', delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(['sh', '-c', 'set -a; . "$1"; env -0', 'sh', f.name], check=True, capture_output=True,
                             env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'LC_ALL': 'C.UTF-8'}).stdout
    finally:
        os.unlink(f.name)
    pairs = (item.decode('utf-8').split('=', 1) for item in out.split(b'\0') if item)
    return dict(pair for pair in pairs if pair[0].startswith(prefix))


def _unescape_systemd(value):
    # systemd prints values that need it in double quotes, with C-style backslash escapes.
    if not (len(value) >= 2 and value[0] == value[-1] == '"'):
        return value
    out = []
    chars = iter(value[1:-1])
    for char in chars:
        if char == '\\':
            char = next(chars)
            char = {'n': '\n', 't': '\t', 'r': '\r'}.get(char, char)
        out.append(char)
    return ''.join(out)


def read_systemd(text, prefix):
    with tempfile.TemporaryDirectory() as config:
        os.mkdir(os.path.join(config, 'environment.d'))
        with open(os.path.join(config, 'environment.d', '50-test.conf'), 'w', encoding='utf-8') as f:
            f.write(text)
        out = subprocess.run([ENVD_GENERATOR], check=True, capture_output=True, text=True,
                             env={'XDG_CONFIG_HOME': config, 'PATH': '/usr/bin:/bin'}).stdout
    pairs = (line.split('=', 1) for line in out.splitlines())
    return dict((key, _unescape_systemd(value)) for key, value in pairs if key.startswith(prefix))


def read_docker_env_file(text):
    # opts/envfile.go parseKeyValueFile: trim leading blanks, skip empty and '#' lines, split at the first '=',
    # the value is the rest of the line, verbatim (no quote handling).
    result = {}
    for line in text.splitlines():
        line = line.lstrip()
        if not line or line.startswith('#'):
            continue
        key, _sep, value = line.partition('=')
        result[key] = value
    return result


needs_systemd = pytest.mark.skipif(not os.access(ENVD_GENERATOR, os.X_OK), reason='systemd is not installed')


# --- quoting -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value', [JWT, '', 'abc', 'a+b/c==', '2025-01-31T12:00:00+00:00', 'user@example.org',
                                   '100%', 'a,b', 'a~b', '=leading'])
def test_safe_values_are_written_bare(value):
    assert render_value('K', value) == value


@pytest.mark.parametrize('value', ['with space', 'a#b', '~home', 'a:~b', 'ümlaut', '"dq"', 'semi;colon', '*', '`x`'])
def test_other_values_are_single_quoted(value):
    assert render_value('K', value) == "'%s'" % value


@pytest.mark.parametrize('value, what', [
    ('a\nb', 'newline'), ('a\rb', 'carriage return'), ('a\0b', 'NUL'), ('a\tb', 'control character'),
    ('a\x7fb', 'control character'), ("it's", "'"), ('back\\slash', '\\\\'), ('$HOME', r'\$'),
])
def test_unrepresentable_values_are_refused_naming_the_key_not_the_value(value, what):
    with pytest.raises(EnvFileError, match=what) as info:
        render_value('API_TOKEN', 'secret-' + value)
    assert 'API_TOKEN' in str(info.value)
    assert 'secret-' not in str(info.value)


@pytest.mark.parametrize('key', ['', '1ABC', 'A-B', 'A B', 'Ä', 'A=B', None, 3])
def test_invalid_keys_are_refused(key):
    with pytest.raises(EnvFileError, match='invalid key'):
        render_line(key, 'v')


def test_valid_keys():
    for key in ('A', '_', 'a_b', 'HARBOR_TOKEN_2'):
        assert render_line(key, 'v') == key + '=v'


# --- parse / update ----------------------------------------------------------------------------------------------

EXISTING = """# locker-sync token, managed by ansible
OTHER=keep me

export HARBOR_TOKEN=old
  ; systemd comment
QUOTED="multi
line"
HARBOR_TOKEN=older
TAIL=1"""


def test_parse_round_trips_text_exactly():
    entries = parse(EXISTING)
    assert ''.join(e.text for e in entries) == EXISTING
    assert [e.key for e in entries] == [None, 'OTHER', None, 'HARBOR_TOKEN', None, 'QUOTED', 'HARBOR_TOKEN', 'TAIL']
    assert entries[5].text == 'QUOTED="multi\nline"\n'


def test_parse_continuations():
    text = "A=one\\\ntwo\nB='x\ny'\nC=3\n"
    assert [(e.key, e.text) for e in parse(text)] == [('A', 'A=one\\\ntwo\n'), ('B', "B='x\ny'\n"), ('C', 'C=3\n')]


def test_update_replaces_last_occurrence_in_place_drops_duplicates_appends_new_keys():
    text, changes = update(EXISTING, {'HARBOR_TOKEN': JWT, 'NEW_KEY': 'a b'})
    assert text == """# locker-sync token, managed by ansible
OTHER=keep me

  ; systemd comment
QUOTED="multi
line"
HARBOR_TOKEN=%s
TAIL=1
NEW_KEY='a b'
""" % JWT
    assert changes == {'HARBOR_TOKEN': 'value changed', 'NEW_KEY': 'added'}
    # and a second run changes nothing
    assert update(text, {'HARBOR_TOKEN': JWT, 'NEW_KEY': 'a b'}) == (text, {})


def test_update_on_empty_file_and_crlf_files():
    assert update('', {'A': '1', 'B': '2'}) == ('A=1\nB=2\n', {'A': 'added', 'B': 'added'})
    assert update('A=0\r\nB=2\r\n', {'A': '1'}) == ('A=1\r\nB=2\r\n', {'A': 'value changed'})
    assert update('A=1\r\n', {'A': '1'}) == ('A=1\r\n', {})


def test_an_equivalent_but_differently_written_line_is_rewritten():
    # docker --env-file would read "abc" with its quotes: normalising the line is a real change.
    assert update('A="abc"\n', {'A': 'abc'}) == ('A=abc\n', {'A': 'value changed'})


def test_update_removes_every_assignment_of_absent_keys():
    text, changes = update(EXISTING, absent=['HARBOR_TOKEN', 'QUOTED', 'MISSING'])
    assert 'HARBOR_TOKEN' not in text and 'QUOTED' not in text and 'multi' not in text
    assert text.startswith('# locker-sync token') and text.endswith('TAIL=1')
    assert changes == {'HARBOR_TOKEN': 'removed', 'QUOTED': 'removed'}
    assert update(text, absent=['HARBOR_TOKEN']) == (text, {})


def test_update_refuses_before_changing_anything():
    with pytest.raises(EnvFileError, match='B'):
        update('A=1\n', {'A': '2', 'B': 'x\ny'})


def test_diff_summary_names_keys_never_values():
    diff = diff_summary({'A': 'value changed', 'B': 'added', 'C': 'removed'}, '/x.env')
    assert diff == dict(before='A (old value)\nC (removed)\n', after='A (value changed)\nB (added)\n',
                        before_header='/x.env', after_header='/x.env')


# --- every reader reads what we wrote ----------------------------------------------------------------------------

PREFIX = 'TOKENOPS_T_'
keys = st.from_regex(r'[A-Za-z_][A-Za-z0-9_]{0,12}', fullmatch=True).map(lambda k: PREFIX + k)
# Any text the renderer accepts: everything except control characters, ' \ $ and lone surrogates.
writable_text = st.text(st.characters(blacklist_categories=('Cc', 'Cs'), blacklist_characters="'\\$"), max_size=40)
safe_text = st.text(st.sampled_from(sorted(SAFE_CHARS)), max_size=60).filter(
    lambda v: not v.startswith('~') and ':~' not in v)
values = st.one_of(writable_text, safe_text, st.just(JWT))
env_mappings = st.dictionaries(keys, values, min_size=1, max_size=6)
# Lines the module must keep: comments, blanks and other assignments (all keys outside the generated ones).
foreign_lines = st.lists(st.sampled_from(['# a comment', '', 'UNRELATED=1', '  # indented comment']), max_size=4)

hypothesis_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(foreign, mapping):
    text, _changes = update('\n'.join(foreign) + ('\n' if foreign else ''), mapping)
    return text


@hypothesis_settings
@given(env_mappings, foreign_lines)
def test_round_trip_through_python_dotenv(mapping, foreign):
    read = read_dotenv(_file(foreign, mapping))
    assert dict((k, v) for k, v in read.items() if k.startswith(PREFIX)) == mapping


@hypothesis_settings
@given(env_mappings, foreign_lines)
def test_round_trip_through_posix_sh(mapping, foreign):
    assert read_sh(_file(foreign, mapping), PREFIX) == mapping


@needs_systemd
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env_mappings, foreign_lines)
def test_round_trip_through_systemd(mapping, foreign):
    # environment.d skips `KEY=` lines (EnvironmentFile= sets KEY to empty), so empty values cannot be compared here.
    expected = dict((k, v) for k, v in mapping.items() if v)
    assert read_systemd(_file(foreign, mapping), PREFIX) == expected


@hypothesis_settings
@given(st.dictionaries(keys, st.one_of(safe_text, st.just(JWT)), min_size=1, max_size=6), foreign_lines)
def test_safe_values_round_trip_through_docker_env_file(mapping, foreign):
    read = read_docker_env_file(_file(foreign, mapping))
    assert dict((k, v) for k, v in read.items() if k.startswith(PREFIX)) == mapping


@hypothesis_settings
@given(env_mappings, env_mappings, foreign_lines)
def test_update_is_idempotent_and_last_write_wins(first, second, foreign):
    text = _file(foreign, first)
    text, _changes = update(text, second)
    assert update(text, second) == (text, {})
    expected = dict(first)
    expected.update(second)
    read = read_dotenv(text)
    assert dict((k, v) for k, v in read.items() if k.startswith(PREFIX)) == expected
    assert [line for line in text.splitlines() if not line.startswith(PREFIX)] == foreign
