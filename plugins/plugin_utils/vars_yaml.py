# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A YAML vars file as text: read it as a mapping (``!vault`` and ``!unsafe`` values kept as what they are), and
write changed entries back over their own ``key: value`` spans so that every other line stays byte for byte.

Splicing finds each top-level entry with the YAML composer, replaces or removes it, appends new entries, then parses
the result again and compares it with the mapping meant to be written. Only if that check fails (flow-style
mappings, duplicate keys, odd layouts) is the whole file re-rendered from the data, which keeps every value and the
order but drops comments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml


class VarsFileError(Exception):
    """An expected failure; the message says what to do and never contains a value."""


class Vaulted:
    """A ``!vault`` scalar as found in (or written to) the file: kept and compared as ciphertext."""

    def __init__(self, ciphertext):
        self.ciphertext = ciphertext

    def __eq__(self, other):
        return isinstance(other, Vaulted) and other.ciphertext == self.ciphertext

    __hash__ = None


class Unsafe(str):
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


_Loader.add_constructor('!vault', _construct_tagged(Vaulted))
_Loader.add_constructor('!vault-encrypted', _construct_tagged(Vaulted))
_Loader.add_constructor('!unsafe', _construct_tagged(Unsafe))
# PyYAML writes YAML 1.1's other line breaks (NEL, LS, PS) raw inside a plain or single-quoted scalar, where a reader
# folds them (NEL comes back as a space). In double quotes they are escapes (\N, \L, \P) and come back as written.
_OTHER_BREAKS = ('\x85', '\u2028', '\u2029')


def _style(text):
    return '"' if any(char in text for char in _OTHER_BREAKS) else None


_Dumper.add_representer(str, lambda dumper, v: dumper.represent_scalar('tag:yaml.org,2002:str', v, style=_style(v)))
_Dumper.add_representer(Vaulted, lambda dumper, v: dumper.represent_scalar('!vault', v.ciphertext, style='|'))
_Dumper.add_representer(Unsafe, lambda dumper, v: dumper.represent_scalar('!unsafe', str(v), style=_style(v)))


def dump(data):
    """``data`` as block-style YAML, keys in their order, tags kept."""
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=120)


def utf8(raw, path):
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise VarsFileError('%s is not UTF-8 text, so it is not a YAML vars file.' % path)


def load_mapping(text, path):
    """The top-level mapping of ``text`` (``{}`` for an empty file); PATH only names the file in errors."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        # The YAML error quotes the offending line, which could hold a secret: report the position only.
        mark = getattr(e, 'problem_mark', None)
        where = ' (line %d, column %d)' % (mark.line + 1, mark.column + 1) if mark else ''
        raise VarsFileError('%s cannot be read as a YAML vars file%s; fix or move it.' % (path, where))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise VarsFileError('%s holds a YAML %s, not a mapping of variables; vault_vars only edits vars files '
                            'whose top level is a mapping.' % (path, type(data).__name__))
    return data


def render(text, data, entries, removed):
    """The new text of a file that was TEXT and must load as DATA: ENTRIES (name -> rendered ``name: value``)
    spliced in, the names in REMOVED dropped; the whole file re-rendered when splicing cannot be done safely."""
    return splice(text, data, entries, removed) or '---\n' + (dump(data) if data else '{}\n')


def splice(text, data, entries, removed):
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
        spliced = load_mapping(text, '')
    except VarsFileError:
        return None
    return text if spliced == data and list(spliced) == list(data) else None
