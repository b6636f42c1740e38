# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tell a crash from a clean failure, for every ansible-playbook run of the suite (one rule, in one place).

ansible-core 2.19 shows no traceback by default (``DISPLAY_TRACEBACK=never``): a lookup raising ``ValueError`` or an
action plugin raising ``KeyError`` fails its task with the bare exception text, and looking for "Traceback" in the
output proves nothing. So every run gets ``ANSIBLE_DISPLAY_TRACEBACK=error`` (which makes Ansible record the exception
chain of every failure in the result's ``exception``; older cores record it there anyway) and the callback
``callback_plugins/tokenops_failure_record.py``, which writes every failed result to a file. This module judges those
results:

- ``crash(result)``: an exception that went through the collection's Python code without being turned into an error
  by it (controller side: not followed by an error the collection raised; module side: caught by AnsiballZ's loader
  rather than by the module), or one of the texts Ansible puts in place of a result when a plugin crashed.
- ``type_names(message)``: Python exception class names (``KeyError``, ``OSError``, ``requests...ConnectionError``)
  in the message the operator reads. An expected failure says what is wrong and what to do, in words.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

COLLECTION_CODE = '/ansible_collections/tokenops/oauth2/'
# Texts Ansible reports instead of a plugin's own message when the plugin crashed (old and new cores).
CRASH_TEXT = ('Traceback (most recent call last)', 'MODULE FAILURE', 'Unexpected failure during module execution',
              'An unhandled exception occurred', 'this is probably a bug')
# What ansible-playbook prints, outside any task result, when it crashed itself (or a plugin it loads did).
OUTPUT_CRASH_TEXT = ('this is probably a bug',)
# A line of a traceback that names the exception: "KeyError: 'x'", "ansible.errors.AnsibleError: ...".
EXCEPTION_LINE = re.compile(r'^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Fail|Failure)\w*)(?::|$)')
# AnsiballZ's loader catches what a module let escape (ansible-core 2.19+); a module's own except clause does not
# go through it.
MODULE_LOADER = '/_ansiballz/'
MODULE_PAYLOAD = '_payload.zip/'

# Exception class names an operator must not read: a dotted or CamelCase name ending in Error or Exception (KeyError,
# OSError, requests' ConnectionError, urllib3's NewConnectionError, JSONDecodeError, our own ProfileError) and the
# built-in ones that end otherwise. The plain words "Error" and "Exception", an HTTP reason or an OAuth error code
# (lowercase: invalid_client) do not match.
TYPE_NAME = re.compile(r'(?<![\w.])((?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception)|SystemExit|KeyboardInterrupt|'
                       r'StopIteration|GeneratorExit))(?!\w)')

RECORD_DIR_VARIABLE = 'TOKENOPS_TEST_FAILURE_DIR'
CALLBACK_NAME = 'tokenops_failure_record'
CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')


def chain(exception_text):
    """The exception chain of a recorded traceback text: a list of (class name, frame lines), oldest first."""
    sections = []
    frames = []
    for line in (exception_text or '').splitlines():
        if line.startswith('  File '):
            frames.append(line)
            continue
        match = EXCEPTION_LINE.match(line)
        if match:
            sections.append((match.group(1), frames))
            frames = []
    return sections


def _ours(name):
    return name.startswith('ansible.') or 'tokenops' in name


def escaped_exception(exception_text):
    """The name of an exception that went through the collection's Python code and out of it unhandled, or None."""
    sections = chain(exception_text)
    for position, (name, frames) in enumerate(sections):
        if _ours(name) or not any(COLLECTION_CODE in frame for frame in frames):
            continue  # an error type of Ansible or of the collection, or raised and handled inside ansible-core
        if any(MODULE_PAYLOAD in frame for frame in frames):
            # In a module: fail_json inside an except clause records the exception it handles, so only one that
            # reached AnsiballZ's loader escaped.
            if any(MODULE_LOADER in frame for frame in frames):
                return name
            continue
        # Handled when the collection raised an error of its own from it, directly or further down the chain: an
        # exception raised inside a library call the collection's code made (urllib3's MaxRetryError from the
        # transport's Retry subclass) is first wrapped by that library (requests' ConnectionError), then by us.
        handled = any('tokenops' in later_name or bool(later_frames and COLLECTION_CODE in later_frames[-1])
                      for later_name, later_frames in sections[position + 1:])
        if not handled:
            return name
    return None


def message(result):
    msg = result.get('msg') or ''
    if isinstance(msg, list):
        msg = ' '.join(str(m) for m in msg)
    return str(msg)


def crash(result):
    """What shows that the failed RESULT comes from a crash (an exception nothing turned into an error), or None."""
    for key in ('msg', 'module_stderr', 'module_stdout'):
        text = str(result.get(key) or '')
        for marker in CRASH_TEXT:
            if marker in text:
                return '%r in %s' % (marker, key)
    escaped = escaped_exception(result.get('exception'))
    return '%s escaped' % escaped if escaped else None


def type_names(text):
    """The exception class names in TEXT (what the operator reads)."""
    return sorted(set(TYPE_NAME.findall(text or '')))


def verdict(result):
    """What is wrong with a failed result, or None for a clean failure."""
    broken = crash(result)
    if broken:
        return 'crash (%s)' % broken
    names = type_names(message(result))
    if names:
        return 'the message shows the exception type %s' % ', '.join(names)
    return None


def ansible_env_additions(record_dir, enabled=None, plugin_dirs=None):
    """The environment that makes a run record its failed results under RECORD_DIR with their exceptions, keeping
    the callbacks and callback directories a caller already enables."""
    enabled = [name for name in (enabled or '').split(',') if name.strip()]
    plugin_dirs = [path for path in (plugin_dirs or '').split(os.pathsep) if path]
    return {
        'ANSIBLE_DISPLAY_TRACEBACK': 'error',  # ansible-core 2.19+; older cores record the exception anyway
        'ANSIBLE_CALLBACKS_ENABLED': ','.join(enabled + [CALLBACK_NAME]),
        'ANSIBLE_CALLBACK_PLUGINS': os.pathsep.join(plugin_dirs + [CALLBACK_DIR]),
        RECORD_DIR_VARIABLE: record_dir,
    }


def recorded(record_dir):
    """Every failed result recorded under RECORD_DIR: a list of (file name, line number, record)."""
    found = []
    if not record_dir or not os.path.isdir(record_dir):
        return found
    for name in sorted(os.listdir(record_dir)):
        with open(os.path.join(record_dir, name)) as handle:
            for number, line in enumerate(handle):
                found.append((name, number, json.loads(line)))
    return found


def problems(records):
    """'task: what is wrong: message' for each record that is not a clean failure."""
    found = []
    for unused_name, unused_number, record in records:
        wrong = verdict(record['result'])
        if wrong:
            found.append('%s (%s): %s: %s\n%s' % (record.get('task'), record.get('action'), wrong,
                                                  message(record['result'])[:2000],
                                                  str(record['result'].get('exception') or '')[-6000:]))
    return found
