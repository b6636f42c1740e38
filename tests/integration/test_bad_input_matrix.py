# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue #7, bad input: every option of every plugin and role, fed wrong types, empty values, null, unknown keys,
unicode, 10,000-character values, newlines and NUL bytes, through real ``ansible-playbook`` runs.

Each bad value is one *case*, generated from the option tables below. The cases are batched: those of a plugin run as
one looped task (``ignore_errors``, ``register``) and a last task writes every result to a JSON file; the playbooks of
the batches run side by side, each in a working directory of its own.

Every case expects ``reject`` (the value is wrong: the task must fail with a non-empty message naming the option, or
quoting the value, before any request) or ``either`` (the value is legitimate, such as unicode in a free-text option:
success, or a clean failure). No case may crash. "Before any request" is checked at a real server: every URL of a
case points at a path of its own (``/GROUP-INDEX/...``) on a quirks server the matrix starts for itself, which records
every request it receives (and answers 404); a ``reject`` case any request of which reached it was not validated.
The option is looked for as a word (``code`` is not found inside ``authorization_code``, nor ``cache`` in
``cache_dir``), outside the ``profile 'NAME'`` that begins every profile error (so that ``profile`` is not found
there).

A crash is told apart from a clean failure by tests/integration/failure_check.py, the rule every run of the suite is
judged by (``ANSIBLE_DISPLAY_TRACEBACK=error`` makes Ansible record the exception chain of every failure: an exception
that went through the collection's Python code without being turned into an error by it is a crash, and so are
``MODULE FAILURE`` and the texts Ansible puts in place of a crashed plugin's message); a message that shows the
operator an exception type name (``KeyError``, ``OSError``) is wrong too.

Roles: the role's argument spec (meta/argument_specs.yml) is first checked for every case with
``ansible.builtin.validate_argument_spec`` in a loop, which is what the role's own implicit check runs. The role is
then included (``include_role`` in a block/rescue) for every case that spec accepts, and for the first case of each
variable whatever the spec says (so the implicit check is seen to agree). Most of those stop early on purpose, so
that each costs a fraction of a second: a deliberate second problem (schedule: a relative
``oauth2_schedule_working_dir``; deliver: a second delivery asking for a field that does not exist) makes the role's
own input check fail, and a case passes only if that check names its value as well. schedule variables that the role
checks later (files on the host, the user) run with all else valid and no interval, and stop at the interval check;
deliver's top-level variables, its ``profile`` and its acceptable values run the whole role against the refusing
token endpoint. One more schedule case installs the role for real, into the temporary directory, with every
acceptable value at once.

Bugs found are listed in KNOWN_BUGS; each is a strict xfail of its own (fixed -> XPASS -> remove it from the list),
and the cases it covers are left out of the per-group tests, so that one bug does not hide another.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import getpass
import json
import os
import re
import subprocess
import sys
import time
from collections import OrderedDict, namedtuple

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import REPO_ROOT, ansible_env  # noqa: E402  pylint: disable=wrong-import-position
import failure_check  # noqa: E402  pylint: disable=wrong-import-position

from tests.servers.launch import start  # noqa: E402  pylint: disable=wrong-import-position

UNI = u'tökén-✓-𝔘'
LONG = 'x' * 10000
LONG_NUM = '9' * 10000
NL = 'line-one\nline-two'
NUL = 'nul-\x00-byte'
LIST = ['item-one', 'item-two']
DICT = {'key-one': 'value-one'}
R, E = 'reject', 'either'
UNKNOWN = u'unknown_kéy'

# Every URL of a case starts with this; run_all points it at the case's own path on the matrix's server.
REFUSED = 'http://127.0.0.1:9'
BASE = OrderedDict(token_url=REFUSED + '/token', client_id='client-0123', client_secret='secret-0123', retries=0,
                   timeout=2, deadline=3)

NETWORK_TEXT = ('cannot connect', 'Connection refused', 'no answer within timeout')
# A role's template that broke on a value its spec let through (not one of the role's own messages).
TEMPLATE_FAILURES = ('Finalization of task args', 'Error rendering template', 'Error while resolving value')
TASK_TIMEOUT = 20

Case = namedtuple('Case', 'group option kind value expect mentions payload')


def case_id(case):
    return '%s/%s/%s' % (case.group, case.option, case.kind)


# ---------------------------------------------------------------------------------------------------------------------
# Bad values by option type: (kind, value, expectation)

def text_values(required=False, unicode=E, long=E, newline=E, nul=E):
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R if required else E), ('none', None, R if required else E),
            ('unicode', UNI, unicode), ('long', LONG, long), ('newline', NL, newline), ('nul', NUL, nul)]


def choice_values(valid, none=E):
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('none', None, none), ('unicode', UNI, R),
            ('long', LONG, R), ('newline', valid + '\n', R), ('nul', valid + '\x00', R)]


def bool_values():
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('none', None, E), ('unicode', UNI, R),
            ('long', LONG, R), ('int2', 2, R)]


def int_values(none=True, huge=E, extra=()):
    values = [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('unicode', UNI, R), ('long', LONG_NUM, R),
              ('fraction', 1.5, R), ('negative', -1, R), ('huge', 10 ** 30, huge)]
    if none:
        values.append(('none', None, E))
    return values + list(extra)


def float_values():
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('none', None, E), ('unicode', UNI, R),
            ('long', LONG_NUM, R), ('nan', 'nan', R), ('inf', 'inf', R), ('negative', -1, R), ('zero', 0, R),
            ('huge', 1e300, E)]


def dict_values(extra=()):
    return [('str', UNI, R), ('list', LIST, R), ('int', 42, R), ('empty', '', E), ('none', None, E), ('long', LONG, R),
            ('nested_list', {'key-one': LIST}, E), ('nested_dict', {'key-one': DICT}, E),
            ('null_value', {'key-one': None}, E), ('unicode', {UNI: UNI}, E), ('newline_value', {'key-one': NL}, E),
            ('nul_value', {'key-one': NUL}, E), ('long_value', {'key-one': LONG}, E)] + list(extra)


def url_values(required=False):
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R if required else E), ('none', None, R if required else E),
            ('unicode', UNI, R), ('long', LONG, R), ('long_url', REFUSED + '/' + LONG, E),
            ('newline', REFUSED + '/a\nb', E), ('nul', REFUSED + '/a\x00b', E), ('not_http', 'ftp://127.0.0.1:9/token', R),
            ('malformed', 'http://[::1/token', R)]


def path_file_values(files, required=False):
    """A file the plugin reads (a key, a certificate): one that is missing or is not PEM is wrong."""
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', R if required else E), ('none', None, R if required else E),
            ('unicode', UNI, R), ('long', files['long'], R), ('newline', files['root'] + '/a\nb', R),
            ('nul', files['root'] + '/a\x00b', R), ('not_pem', files['garbage'], R)]


def path_dir_values(files):
    """A directory the plugin creates (relative names land in the working directory: they carry a suffix of their own
    so that no other case meets them there)."""
    return [('list', [item + '-cache' for item in LIST], R), ('dict', {'key-cache': 'value'}, R), ('empty', '', E),
            ('none', None, E), ('unicode', UNI + '-cache', E), ('long', files['long'], R), ('newline', NL + '-cache', E),
            ('nul', NUL, R), ('a_file', '/dev/null', R)]


def path_any_values(files):
    return [('list', LIST, R), ('dict', DICT, R), ('empty', '', E), ('none', None, E), ('unicode', UNI, E),
            ('long', files['long'], E), ('newline', NL, E), ('nul', NUL, E)]


def scope_values():
    return [('dict', DICT, R), ('int', 42, R), ('int_items', [1, 2], R), ('bad_items', ['', 'a b'], R),
            ('nested', [LIST], R), ('empty', '', E), ('none', None, E), ('unicode', UNI, E), ('long', LONG, E),
            ('newline', NL, E), ('nul', NUL, E)]


def resource_values():
    return [('dict', DICT, R), ('int', 42, R), ('int_items', [1], R), ('nested', [LIST], R), ('empty', '', E),
            ('none', None, E), ('unicode', UNI, E), ('long', LONG, E), ('newline', NL, E), ('nul', NUL, E)]


def list_str_values(extra=()):
    """A list of strings. A bare string or number is wrong too: the spec turns it into a list while checking it,
    but the role's variable keeps the value it was given."""
    return [('str', UNI, R), ('dict', DICT, R), ('int', 42, R), ('none_item', [None], R), ('dict_item', [DICT], R),
            ('list_item', [LIST], R), ('unicode_item', [UNI], E)] + list(extra)


def mode_values():
    return [('list', LIST, R), ('unicode', UNI, R), ('not_octal', '9999', R), ('negative', -1, R)]


# ---------------------------------------------------------------------------------------------------------------------
# The profile options (tokenops.oauth2.profile doc fragment), each with the context that makes it matter.

def profile_matrix(files):
    https = dict(token_url='https://127.0.0.1:9/token')
    jwt = dict(client_auth='private_key_jwt', client_assertion_key=files['ec_key'], client_secret=None)
    password = dict(grant_type='password', username='user-0123', password='password-0123')
    refresh = dict(grant_type='refresh_token', refresh_token='refresh-0123')
    code = dict(grant_type='authorization_code', code='code-0123', redirect_uri=REFUSED + '/cb')
    keycloak = dict(preset='keycloak', base_url=REFUSED, realm='realm-0123', token_url=None)
    harbor = dict(preset='harbor_lockers', environment='sandbox')
    return [
        ('preset', choice_values('keycloak'), {}),
        ('token_url', url_values(required=True), {}),
        ('issuer', url_values(required=True), dict(token_url=None)),
        ('authorization_url', url_values(), {}),
        ('device_authorization_url', url_values(), {}),
        ('introspection_url', url_values(), {}),
        ('introspection_client_id', text_values(required=True), dict(introspection_client_secret='rs-secret-0123')),
        ('introspection_client_secret', text_values(required=True), dict(introspection_client_id='rs-0123')),
        ('introspection_client_auth', choice_values('client_secret_post'),
         dict(introspection_client_id='rs-0123', introspection_client_secret='rs-secret-0123')),
        ('revocation_url', url_values(), {}),
        ('grant_type', choice_values('password'), {}),
        ('client_id', text_values(required=True), {}),
        ('client_secret', text_values(required=True), {}),
        ('client_auth', choice_values('none'), {}),
        ('basic_encoding', choice_values('raw'), {}),
        ('client_assertion_key', path_file_values(files, required=True), jwt),
        ('client_assertion_kid', text_values(), jwt),
        ('client_assertion_alg', choice_values('ES256'), jwt),
        ('scope', scope_values(), {}),
        ('audience', text_values(), {}),
        ('resource', resource_values(), {}),
        ('username', text_values(required=True), password),
        ('password', text_values(required=True), password),
        ('refresh_token', text_values(required=True), refresh),
        ('code', text_values(required=True), code),
        ('redirect_uri', text_values(required=True), code),
        ('code_verifier', text_values(), code),
        ('extra_params', dict_values(), {}),
        ('headers', dict_values(), {}),
        ('timeout', float_values(), {}),
        ('retries', int_values(), {}),
        ('deadline', float_values(), {}),
        ('validate_certs', bool_values(), https),
        ('ca_path', path_file_values(files), https),
        ('client_cert', path_file_values(files), https),
        ('client_key', path_file_values(files), dict(https, client_cert=files['cert'])),
        ('allow_insecure_http', bool_values(), {}),
        ('renew_before', int_values(), {}),
        ('default_ttl', int_values(), {}),
        ('validate_url', url_values(), {}),
        ('refresh_token_vars_file', path_any_values(files), {}),
        ('refresh_token_var', text_values(unicode=R, newline=R, nul=R), {}),
        ('cache', bool_values(), {}),
        ('cache_dir', path_dir_values(files), {}),
        # The shared store's URL is checked (before anything connects) wherever a token goes through the controller.
        ('cache_url', text_values(unicode=R, long=R, newline=R, nul=R), {}),
        ('cache_fallback', choice_values('fail'), {}),
        ('base_url', url_values(required=True), keycloak),
        ('api_url', url_values(), harbor),
        ('realm', text_values(required=True), keycloak),
        ('region', text_values(required=True), dict(preset='depotfinity')),
        ('environment', choice_values('sandbox', none=R), harbor),
        ('tower_id', text_values(required=True, unicode=R, long=R, newline=R, nul=R), dict(preset='harbor_lockers')),
    ]


# What a message may name instead of the option, where that is the clearer word (the URL a preset input builds).
MENTIONS = {
    'base_url': ('base_url', 'token_url'),
}

# authorize ignores grant_type (the flow decides the grant), so what a grant needs is not needed there; and the shared
# store settings, since it keeps no token in a cache.
AUTHORIZE_IGNORED = ('grant_type', 'cache_url', 'cache_fallback')
AUTHORIZE_NOT_NEEDED = ('username', 'password', 'refresh_token', 'code', 'redirect_uri')


def merged(*parts):
    """Merge mappings left to right (a None value is dropped later by without_none: an option that is not given)."""
    out = OrderedDict()
    for part in parts:
        for key, value in part.items():
            out[key] = value
    return out


def without_none(options, keep=None):
    return OrderedDict((k, v) for k, v in options.items() if v is not None or k == keep)


def profile_option_cases(files, group):
    cases = []
    for option, values, context in profile_matrix(files):
        for kind, value, expect in values:
            if group == 'authorize':
                if option in AUTHORIZE_IGNORED:
                    expect = E
                if option in AUTHORIZE_NOT_NEEDED and kind in ('empty', 'none'):
                    expect = E
            options = without_none(merged(BASE, context, {option: value}), keep=option)
            cases.append(Case(group, option, kind, value, expect, MENTIONS.get(option, (option,)), options))
        if option == 'scope':
            # A near miss and an unknown key, once per group.
            cases.append(Case(group, 'unknown_key', 'near_miss', 'x', R, ("'scop'",), merged(BASE, {'scop': 'x'})))
            cases.append(Case(group, 'unknown_key', 'unicode', 'x', R, (UNKNOWN,), merged(BASE, {UNKNOWN: 'x'})))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# The groups: their cases.

def token_task_cases(files):
    cases = [c._replace(payload=dict(args=c.payload)) for c in profile_option_cases(files, 'token')]
    task_options = [
        ('profile', text_values(unicode=R, long=R, newline=R, nul=R)),
        ('state', choice_values('absent')),
        ('force_refresh', bool_values()),
        ('validate', bool_values()),
        ('fetch_on', choice_values('host')),
    ]
    for option, values in task_options:
        for kind, value, expect in values:
            cases.append(Case('token', option, kind, value, expect, (option,), dict(args=merged(BASE, {option: value}))))
    return cases


def token_profile_cases(files):
    """The same profile options, given in oauth2_profiles (templated, then merged) rather than to the task."""
    cases = []
    for index, case in enumerate(profile_option_cases(files, 'token_profile')):
        name = 'bad-%d' % index
        cases.append(case._replace(payload=dict(args=dict(profile=name), profile=(name, dict(case.payload)))))
    for kind, value in (('list', LIST), ('str', UNI), ('int', 42), ('null', None)):
        name = 'not-a-mapping-%s' % kind
        cases.append(Case('token_profile', 'profile_data', kind, value, R, ('mapping', 'token_url'),
                          dict(args=dict(profile=name), profile=(name, value))))
    return cases


def lookup_cases(files):
    cases = [c._replace(payload=dict(terms=[], kw=c.payload)) for c in profile_option_cases(files, 'lookup')]
    # cache_dir is the lookup's own option (a profile's cache_dir cannot be given to the lookup): among the profile
    # options above already.
    for option, values in (('field', choice_values('header')), ('force_refresh', bool_values()),
                           ('validate', bool_values())):
        for kind, value, expect in values:
            cases.append(Case('lookup', option, kind, value, expect, (option,),
                              dict(terms=[], kw=merged(BASE, {option: value}))))
    terms = [('dict', DICT, R), ('list', LIST, R), ('none', None, R), ('empty', '', R), ('unicode', UNI, R),
             ('long', LONG, R), ('newline', NL, R), ('nul', NUL, R), ('int', 42, R)]
    for kind, value, expect in terms:
        cases.append(Case('lookup', '_terms', kind, value, expect, ('profile', 'token_url'), dict(terms=[value], kw={})))
    return cases


def authorize_cases(files):
    device = dict(flow='device', device_authorization_url=REFUSED + '/device')
    paste = dict(flow='paste', authorization_url=REFUSED + '/auth', redirect_uri='https://app.invalid/cb')
    loop = dict(flow='loopback', authorization_url=REFUSED + '/auth', redirect_uri='http://127.0.0.1:0/cb',
                listen_timeout=1)
    cases = []
    for case in profile_option_cases(files, 'authorize'):
        # The device flow sends its first request to device_authorization_url, which refuses connections.
        args = merged(device, case.payload) if case.option != 'device_authorization_url' else \
            merged(dict(flow='device'), case.payload)
        cases.append(case._replace(payload=dict(args=without_none(args, keep=case.option))))
    task_options = [
        ('profile', text_values(unicode=R, long=R, newline=R, nul=R), device),
        ('flow', choice_values('paste'), dict(loop, device_authorization_url=REFUSED + '/device', flow=None)),
        ('redirect_url', text_values(), paste),
        ('start_only', bool_values(), paste),
        # Not none: the default waits 300 s for a browser.
        ('listen_timeout', int_values(none=False), dict(loop, listen_timeout=None)),
        ('loopback_port', int_values(huge=R, extra=[('too_big', 70000, R)]), loop),
        ('open_browser', bool_values(), device),
        ('store_path', [(kind, value, R if kind == 'nul' else expect) for kind, value, expect in path_any_values(files)],
         device),
        ('authorization_params', dict_values(extra=[('reserved_state', {'state': 'x'}, R),
                                                    ('reserved_client_id', {'client_id': 'x'}, R)]),
         dict(paste, start_only=True)),
    ]
    for option, values, context in task_options:
        for kind, value, expect in values:
            mentions = (option,)
            if kind.startswith('reserved_'):
                mentions = (kind[len('reserved_'):],)
            args = without_none(merged(BASE, context, {option: value}), keep=option)
            cases.append(Case('authorize', option, kind, value, expect, mentions, dict(args=args)))
    return cases


def _file_cases(group, suffix, files, base_values):
    """A helper for the plugins that write one file per case: add(option, kind, value, expect, mentions, **args)."""
    root = '%s/%s' % (files['root'], group)
    cases = []

    def add(option, kind, value, expect, mentions=None, **args):
        base = OrderedDict(path='%s/case-%d.%s' % (root, len(cases), suffix))
        if base_values is not None:
            base['values'] = dict(base_values)
        base.update(args)
        base[option] = value
        cases.append(Case(group, option, kind, value, expect, mentions or (option,), dict(args=base)))
    return root, cases, add


def path_values(files, root, suffix, missing_dir=R):
    """A file the plugin writes. Relative names carry the plugin's suffix, so that no two plugins meet at one path."""
    return [('list', [item + suffix for item in LIST], R), ('dict', {'key' + suffix: 'value'}, R), ('empty', '', R),
            ('none', None, R), ('unicode', UNI + suffix, E), ('long', files['long'], R), ('nul', NUL, R),
            ('directory', root, R), ('missing_dir', root + '/missing/x' + suffix, missing_dir)]


def env_file_cases(files):
    root, cases, add = _file_cases('env_file', 'env', files, {'TOKEN': 'secret-value-0123'})
    for kind, value, expect in path_values(files, root, '.env'):
        add('path', kind, value, expect)
    for kind, value, expect, mentions in [
            ('list', ['KEY_ONE', 'KEY_TWO'], R, None), ('str', UNI, R, None), ('int', 42, R, None),
            ('none', None, R, None), ('empty_mapping', {}, E, None), ('list_value', {'TOKEN': LIST}, R, ('TOKEN',)),
            ('null_value', {'TOKEN': None}, R, ('TOKEN',)), ('dict_value', {'TOKEN': DICT}, R, ('TOKEN',)),
            ('bool_value', {'TOKEN': True}, R, ('TOKEN',)), ('bad_key', {'1BAD': 'value-one'}, R, ('1BAD',)),
            ('unicode_key', {UNI: 'value-one'}, R, (UNI,)), ('newline_value', {'TOKEN': NL}, R, ('TOKEN',)),
            ('nul_value', {'TOKEN': NUL}, R, ('TOKEN',)), ('unicode_value', {'TOKEN': UNI}, E, None),
            ('long_value', {'TOKEN': LONG}, E, None), ('long_key', {'K' * 10000: 'value-one'}, E, None)]:
        add('values', kind, value, expect, mentions)
    for kind, value, expect in [('absent_int', 42, R), ('absent_dict_items', [DICT], R)]:
        add('values', kind, value, expect, state='absent')
    for kind, value, expect in [('list', LIST, R), ('unicode', UNI, R)]:
        add('state', kind, value, expect)
    # Each module case costs a module run; ansible-core's own file options get one or two values each.
    for option in ('create', 'backup', 'unsafe_writes'):
        add(option, 'unicode', UNI, R)
    for kind, value, expect in [('unicode', UNI, R), ('negative', -1, R)]:
        add('mode', kind, value, expect)
    # What ansible-core says about them is its own wording ("failed to look up user").
    for option, words in (('owner', ('owner', 'user')), ('group', ('group',))):
        for kind, value, expect in [('unicode', UNI, R), ('nul', NUL, R)]:
            add(option, kind, value, expect, words)
    for option in ('attributes', 'seuser', 'serole', 'setype', 'selevel'):
        add(option, 'unicode', UNI, E)
    add('unknown_key', 'unicode', 'x', R, (UNKNOWN,), **{UNKNOWN: 'x'})
    return cases


def vault_vars_cases(files):
    root, cases, add = _file_cases('vault_vars', 'yml', files, {'token_var': 'secret-value-0123'})
    for kind, value, expect in path_values(files, root, '.yml'):
        add('path', kind, value, expect)
    for kind, value, expect, mentions in [
            ('list', ['var_one', 'var_two'], R, None), ('str', UNI, R, None), ('int', 42, R, None), ('empty', '', R, None),
            ('none', None, R, None), ('empty_mapping', {}, E, None), ('list_value', {'token_var': LIST}, R, ('token_var',)),
            ('null_value', {'token_var': None}, R, ('token_var',)), ('dict_value', {'token_var': DICT}, R, ('token_var',)),
            ('bad_name', {'1bad': 'value-one'}, R, ('1bad',)), ('unicode_name', {UNI: 'value-one'}, R, (UNI,)),
            ('keyword_name', {'class': 'value-one'}, R, ('class',)),
            ('newline_value', {'token_var': NL}, E, None), ('nul_value', {'token_var': NUL}, E, None),
            ('unicode_value', {'token_var': UNI}, E, None), ('long_value', {'token_var': LONG}, E, None)]:
        add('values', kind, value, expect, mentions)
    for kind, value, expect in [('absent_int', 42, R), ('absent_int_items', [1, 2], R)]:
        add('values', kind, value, expect, ('values', 'variable name'), state='absent')
    for kind, value, expect in [('list', LIST, R), ('dict', DICT, R), ('empty', '', E), ('none', None, E),
                                ('unicode', UNI, R), ('long', LONG, R), ('newline', NL, R), ('nul', NUL, R)]:
        add('vault_id', kind, value, expect)
    for option, valid in (('encrypt', 'file'), ('state', 'absent')):
        for kind, value, expect in choice_values(valid):
            add(option, kind, value, expect)
    for kind, value, expect in mode_values() + [('dict', DICT, R), ('long', LONG, R)]:
        add('mode', kind, value, expect)
    for option in ('backup', 'create'):
        for kind, value, expect in bool_values():
            add(option, kind, value, expect)
    add('unknown_key', 'unicode', 'x', R, (UNKNOWN,), **{UNKNOWN: 'x'})
    return cases


def run_lock_cases(files):
    root, cases, add = _file_cases('run_lock', 'lock', files, None)
    # A missing directory is created (the lock lives under /run/lock or a cache directory that may not exist yet).
    for kind, value, expect in path_values(files, root, '.lock', missing_dir=E) + [('newline', NL + '.lock', E)]:
        add('path', kind, value, expect)
    for kind, value, expect in choice_values('absent'):
        add('state', kind, value, expect)
    for kind, value, expect in int_values():
        add('wait', kind, value, expect)
    add('unknown_key', 'unicode', 'x', R, (UNKNOWN,), **{UNKNOWN: 'x'})
    return cases


def deliver_cases(files):
    delivery = OrderedDict(profile='refused', to='env_file', path=files['root'] + '/deliver/d.env',
                           vars={'TOKEN': 'access_token'})
    cases = []

    def add(option, kind, value, expect, variables, mentions=None):
        variables.setdefault('oauth2_deliveries', [delivery])
        cases.append(Case('deliver', option, kind, value, expect, mentions or (option.split('.')[-1],),
                          dict(vars=variables)))

    for kind, value, expect in [('str', UNI, R), ('dict', DICT, R), ('int', 42, R), ('none_item', [None], R),
                                ('str_item', ['x'], R), ('list_item', [LIST], R), ('none', None, E)]:
        add('oauth2_deliveries', kind, value, expect, dict(oauth2_deliveries=value))
    # The role's own check names the variable or the field at fault ("TOKEN asks for ..."), next to what it says about
    # the sentinel delivery ("SENTINEL asks for ..."), so these words must be specific.
    field_words = ('vars', 'TOKEN asks for')
    sub_options = [
        ('profile', [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('none', None, R), ('unicode', UNI, E)], None),
        ('to', [('list', LIST, R), ('empty', '', R), ('none', None, R), ('unicode', UNI, R)],
         ('value of to must', 'arguments: to')),
        ('path', [('list', LIST, R), ('dict', DICT, R), ('empty', '', R), ('none', None, R), ('unicode', UNI, E),
                  ('nul', NUL, R)], None),
        ('vars', [('str', UNI, R), ('list', LIST, R), ('empty', '', R), ('none', None, R), ('empty_mapping', {}, E),
                  ('list_value', {'TOKEN': LIST}, R), ('unicode_name', {UNI: 'access_token'}, R),
                  ('long_field', {'TOKEN': LONG}, R)], field_words),
        ('owner', [('list', LIST, R), ('empty', '', E), ('unicode', UNI, E)], None),
        ('group', [('list', LIST, R), ('empty', '', E), ('unicode', UNI, E)], None),
        ('mode', [('list', LIST, R), ('unicode', UNI, R), ('not_octal', '9999', R)], None),
        ('restart', [('str', UNI, R), ('dict', DICT, R), ('none_item', [None], R), ('list_item', [LIST], R)], None),
        ('notify', [('str', UNI, R), ('dict', DICT, R), ('none_item', [None], R), ('list_item', [LIST], R)], None),
        ('state', [('list', LIST, R), ('empty', '', R), ('unicode', UNI, R)], None),
    ]
    for option, values, words in sub_options:
        for kind, value, expect in values:
            entry = OrderedDict(delivery)
            entry[option] = value
            add('oauth2_deliveries.' + option, kind, value, expect, dict(oauth2_deliveries=[entry]),
                (UNI,) if kind == 'unicode_name' else words)
    entry = OrderedDict(delivery)
    entry[UNKNOWN] = 'x'
    add('oauth2_deliveries.unknown_key', 'unicode', 'x', R, dict(oauth2_deliveries=[entry]), (UNKNOWN,))
    for option in ('oauth2_deliver_force', 'oauth2_deliver_restart'):
        for kind, value, expect in [('list', LIST, R), ('empty', '', R), ('unicode', UNI, R), ('int2', 2, R)]:
            add(option, kind, value, expect, {option: value}, (option,))
    for kind, value, expect in [('list', LIST, R), ('unicode', UNI, R), ('long', LONG_NUM, R), ('fraction', 1.5, R),
                                ('negative', -1, R), ('huge', 10 ** 30, E)]:
        add('oauth2_deliver_renew_before', kind, value, expect, {'oauth2_deliver_renew_before': value},
            ('oauth2_deliver_renew_before', 'renew_before'))
    return cases


# schedule variables checked after the role's input check (the files on the host, the user): they run with all else
# valid and no interval, so that the role stops at its interval check.
SCHEDULE_LATE_CHECKED = ('oauth2_schedule_inventory', 'oauth2_schedule_ansible_playbook',
                         'oauth2_schedule_vault_password_file', 'oauth2_schedule_working_dir', 'oauth2_schedule_user')
# ... those of their values that the input check lets through (the others stop there, at a fraction of the cost).
SCHEDULE_LATE_KINDS = dict((option, ('missing', 'nul')) for option in (
    'oauth2_schedule_inventory', 'oauth2_schedule_vault_password_file', 'oauth2_schedule_working_dir'))
SENTINEL = 'relative-sentinel'
# What the role says when it stops at the deliberate problem, or at the missing interval.
SENTINEL_MESSAGES = ('oauth2_schedule_working_dir must be an absolute path', 'oauth2_schedule_lock_file must be an absolute path',
                     'No interval: set oauth2_schedule_interval', "SENTINEL asks for 'no_such_field'")


def schedule_cases(files):
    cases = []
    # Most of these reach the role's own input check, one include_role each: a few telling values per variable.
    abs_path = [('list', LIST, R), ('relative', 'relative/path', R), ('newline', '/tmp/a\nb', R), ('nul', '/tmp/a\x00b', R)]
    spans = [('str', UNI, R), ('list', LIST, R), ('negative', -1, R), ('long', LONG_NUM, R)]
    bools = [('list', LIST, R), ('unicode', UNI, R), ('int2', 2, R)]
    options = [
        ('oauth2_schedule_state', choice_values('absent', none=R)),
        ('oauth2_schedule_backend', choice_values('cron', none=R)),
        ('oauth2_schedule_inventory', [('list', LIST, R), ('unicode', UNI, R), ('empty', '', R), ('nul', '/tmp/a\x00b', R),
                                       ('missing', '/nonexistent/inventory', R)]),
        ('oauth2_schedule_playbook', [('list', LIST, R), ('empty', '', R), ('newline', NL, R), ('nul', NUL, R)]),
        ('oauth2_schedule_ansible_playbook', [('list', LIST, R), ('nul', '/tmp/a\x00b', R),
                                              ('missing', '/nonexistent/ansible-playbook', R)]),
        ('oauth2_schedule_vault_password_file', [('list', LIST, R), ('unicode', UNI, R), ('missing', '/nonexistent/vault-pass', R)]),
        ('oauth2_schedule_vault_ids', [('str', UNI, R), ('dict', DICT, R), ('int', 42, R), ('none_item', [None], R),
                                       ('relative', ['label@relative'], R), ('newline', ['label@/tmp/a\nb'], R),
                                       ('prompt', ['label@prompt'], R)]),
        ('oauth2_schedule_extra_args', [('str', UNI, R), ('dict', DICT, R), ('none_item', [None], R), ('list_item', [LIST], R),
                                        ('prompt', ['--ask-vault-pass'], R), ('newline', [NL], R)]),
        ('oauth2_schedule_environment', [('list', LIST, R), ('unicode_name', {UNI: 'value-one'}, R),
                                         ('newline_value', {'KEY': NL}, R), ('list_value', {'KEY': LIST}, R)]),
        ('oauth2_schedule_force_renewal', bools),
        ('oauth2_schedule_interval', spans),
        ('oauth2_schedule_randomized_delay', spans),
        ('oauth2_schedule_on_boot', spans[:3]),
        ('oauth2_schedule_run_timeout', spans[:3]),
        ('oauth2_schedule_token_lifetimes', [('list', LIST, R), ('word', {'p': 'abc'}, R), ('negative', {'p': -1}, R),
                                             ('null_value', {'p': None}, R)]),
        ('oauth2_schedule_probe_lifetimes', bools),
        ('oauth2_schedule_profiles', [('str', UNI, R), ('int', 42, R), ('dict', DICT, R), ('none_item', [None], R),
                                      ('list_item', [LIST], R)]),
        ('oauth2_schedule_user', [('list', LIST, R), ('unicode', UNI, R), ('nul', NUL, R)]),
        ('oauth2_schedule_group', [('list', LIST, R), ('newline', NL, R), ('nul', NUL, R)]),
        ('oauth2_schedule_working_dir', [('list', LIST, R), ('relative', 'relative/path', R), ('missing', '/nonexistent/dir', R)]),
        ('oauth2_schedule_unit_name', [('list', LIST, R), ('empty', '', R), ('unicode', UNI, R), ('dot', 'a.b', R),
                                       ('newline', NL, R)]),
        ('oauth2_schedule_unit_dir', abs_path),
        ('oauth2_schedule_cron_file', abs_path[:3] + [('dot', files['root'] + '/cron.d/a.b', R)]),
        ('oauth2_schedule_lock_file', abs_path),
        ('oauth2_schedule_systemctl', bools),
        ('oauth2_schedule_hardening', bools),
        ('oauth2_schedule_read_write_paths', [('str', UNI, R), ('dict', DICT, R), ('none_item', [None], R),
                                              ('list_item', [LIST], R), ('newline', [NL], R)]),
    ]
    for option, values in options:
        for kind, value, expect in values:
            cases.append(Case('schedule', option, kind, value, expect, (option,), dict(vars={option: value})))
    # Every acceptable value at once, installed for real (into the temporary directory).
    acceptable = OrderedDict(
        oauth2_schedule_playbook=UNI, oauth2_schedule_extra_args=[UNI, '--limit', LONG],
        oauth2_schedule_environment={'KEY_ONE': UNI, 'KEY_TWO': LONG}, oauth2_schedule_token_lifetimes={UNI: 600},
        oauth2_schedule_profiles=[UNI], oauth2_schedule_group=UNI, oauth2_schedule_read_write_paths=['/' + UNI])
    cases.append(Case('schedule', 'acceptable_values', 'combined', None, E, (), dict(vars=acceptable, deep=True)))
    return cases


def schedule_baseline(files):
    """A schedule that installs cleanly into the temporary directory, without systemctl."""
    return OrderedDict(
        oauth2_schedule_state='present', oauth2_schedule_backend='cron', oauth2_schedule_inventory=files['inventory'],
        oauth2_schedule_ansible_playbook=os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
        oauth2_schedule_interval=3600, oauth2_schedule_unit_dir=files['root'] + '/units',
        oauth2_schedule_cron_file=files['root'] + '/cron.d/tokenops-oauth2-rotate',
        oauth2_schedule_lock_file=files['root'] + '/rotate.lock', oauth2_schedule_systemctl=False,
        oauth2_schedule_user=getpass.getuser(), oauth2_schedule_probe_lifetimes=False)


DELIVER_SENTINEL = OrderedDict(profile='refused', to='env_file', path='/nonexistent/sentinel.env',
                               vars={'SENTINEL': 'no_such_field'})


def role_variables(case, files):
    """The role's variables for a case: the bad value over a baseline that stops the role early where it can."""
    if case.group == 'deliver':
        variables = OrderedDict(case.payload['vars'])
        if case.expect == R and case.option.startswith('oauth2_deliveries.') and case.option != 'oauth2_deliveries.profile':
            # A second delivery the role's own check refuses: a case passes only if that check names it as well.
            variables['oauth2_deliveries'] = list(variables['oauth2_deliveries']) + [DELIVER_SENTINEL]
        return variables
    variables = schedule_baseline(files)
    if case.payload.get('deep'):
        pass
    elif case.option in SCHEDULE_LATE_CHECKED and case.kind in SCHEDULE_LATE_KINDS.get(case.option, (case.kind,)):
        variables.update(oauth2_schedule_interval=None, oauth2_schedule_token_lifetimes={}, oauth2_schedule_profiles=[])
    elif case.option == 'oauth2_schedule_working_dir':
        variables['oauth2_schedule_lock_file'] = SENTINEL
    else:
        variables['oauth2_schedule_working_dir'] = SENTINEL
    variables.update(case.payload['vars'])
    return variables


GROUPS = OrderedDict([
    ('token', token_task_cases), ('token_profile', token_profile_cases), ('lookup', lookup_cases),
    ('authorize', authorize_cases), ('env_file', env_file_cases), ('vault_vars', vault_vars_cases),
    ('run_lock', run_lock_cases), ('deliver', deliver_cases), ('schedule', schedule_cases),
])
# The plugin playbooks, which run side by side; the roles' playbooks join them once their argument specs are checked.
PLUGIN_BATCHES = [('token', 'vault_vars'), ('token_profile', 'lookup'), ('authorize',), ('env_file', 'run_lock')]
ROLE_PARTS = OrderedDict([('deliver', 1), ('schedule', 2)])
LOOP_TASKS = {
    'token': {'tokenops.oauth2.token': '{{ item.args }}'},
    'token_profile': {'tokenops.oauth2.token': '{{ item.args }}'},
    'lookup': {'ansible.builtin.set_fact': {
        'bad_input_lookup': "{{ lookup('tokenops.oauth2.token', *item.terms, **item.kw) }}"}},
    'authorize': {'tokenops.oauth2.authorize': '{{ item.args }}'},
    'env_file': {'tokenops.oauth2.env_file': '{{ item.args }}'},
    'vault_vars': {'tokenops.oauth2.vault_vars': '{{ item.args }}'},
    'run_lock': {'tokenops.oauth2.run_lock': '{{ item.args }}'},
}
MODULE_GROUPS = ('env_file',)
ALL_ROLES = {'deliver': 'tokenops.oauth2.deliver', 'schedule': 'tokenops.oauth2.schedule'}
# BAD_INPUT_GROUPS=env_file,deliver runs only those groups: for working on one plugin's checks, never in CI.
SELECTED = [group for group in GROUPS if group in (os.environ.get('BAD_INPUT_GROUPS') or ','.join(GROUPS)).split(',')]
ROLES = dict((group, name) for group, name in ALL_ROLES.items() if group in SELECTED)
SPEC_TASK = 'validate_argument_spec with the role spec'


# ---------------------------------------------------------------------------------------------------------------------
# Bugs found by this matrix, each one xfail of its own: name -> (reason, predicate(case)).

def cases_of(groups, options, kinds):
    """A predicate: the cases of these groups, options and kinds (each a space-separated string)."""
    groups, options, kinds = set(groups.split()), set(options.split()), set(kinds.split())
    return lambda case: case.group in groups and case.option in options and case.kind in kinds


def any_of(*predicates):
    return lambda case: any(predicate(case) for predicate in predicates)


PROFILE_GROUPS = 'token token_profile lookup authorize'
KNOWN_BUGS = OrderedDict([
])


def known_bugs_of(case):
    return [name for name, (reason, predicate) in KNOWN_BUGS.items() if predicate(case)]


# ---------------------------------------------------------------------------------------------------------------------
# Files the cases need, the playbooks, and the runs.

def make_files(root):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'bad-input')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(
        1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    files = dict(root=str(root), ec_key=str(root / 'ec.pem'), cert=str(root / 'cert.pem'),
                 garbage=str(root / 'garbage.pem'), inventory=str(root / 'inventory.ini'),
                 long=str(root / ('long-' + LONG)))
    (root / 'ec.pem').write_bytes(key_pem)
    (root / 'ec.pem').chmod(0o600)
    (root / 'cert.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / 'garbage.pem').write_text(u'%s is not PEM\n' % UNI, encoding='utf-8')
    (root / 'inventory.ini').write_text('localhost ansible_connection=local\n')
    for sub in ('env_file', 'vault_vars', 'run_lock', 'deliver', 'units', 'cron.d', 'cache'):
        (root / sub).mkdir()
    (root / 'vault-pass').write_text('bad-input-vault-password\n')
    return files


def loop_task(group):
    task = OrderedDict(name='bad input: %s' % group)
    task.update(LOOP_TASKS[group])
    task.update(loop='{{ bad_input_cases.%s }}' % group, register='bad_input_%s' % group, ignore_errors=True,
                loop_control=dict(label='{{ item.index }}'))
    if group == 'authorize':
        task['timeout'] = TASK_TIMEOUT  # a listener that never gives up is a finding, not a stuck test
    return task


def spec_task(group):
    """The role's argument spec checked for every case in one loop, as the role's implicit first task does."""
    return OrderedDict(name='bad input: %s argument spec' % group, validate_argument_spec=dict(
        argument_spec='{{ bad_input_specs.%s }}' % group, provided_arguments='{{ item.vars }}'),
        loop='{{ bad_input_cases.%s }}' % group, register='bad_input_%s' % group, ignore_errors=True,
        loop_control=dict(label='{{ item.index }}'))


def role_block(group, index, variables):
    fact = 'bad_input_role_%d' % index  # one fact per case: a growing list would be templated again each time
    record = "{{ dict(index=%d, failed=%s, result=%s, task=%s) }}"
    return OrderedDict(name='bad input: %s case %d' % (group, index), block=[
        OrderedDict(name='include %s' % ROLES[group], include_role=dict(name=ROLES[group]), vars=variables),
        dict(name='record success', set_fact={fact: record % (index, 'false', '{}', "''")})],
        rescue=[dict(name='record failure', set_fact={fact: record % (
            index, 'true', 'ansible_failed_result', "ansible_failed_task.name | default('')")})])


def write_playbook(path, tasks, results, results_file):
    tasks = list(tasks)
    tasks.append(dict(name='record the results', copy=dict(
        content='{{ {%s} | to_json }}' % ', '.join("'%s': %s" % kv for kv in results), dest=results_file, mode='0600')))
    with open(path, 'w') as handle:
        json.dump([OrderedDict(name='bad input', hosts='localhost', gather_facts=False, tasks=tasks)], handle, indent=1)


def role_spec(group):
    import yaml
    path = os.path.join(REPO_ROOT, 'roles', group, 'meta', 'argument_specs.yml')
    with open(path) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


class Runs(object):
    """ansible-playbook runs side by side, each in a working directory of its own (relative paths land there)."""

    def __init__(self, root):
        self.root = root
        # The failed results are this test's to judge (each case's verdict), not the autouse fixture's.
        (root / 'failures').mkdir()
        self.env = ansible_env({'TOKENOPS_OAUTH2_CACHE_DIR': str(root / 'cache'),
                                failure_check.RECORD_DIR_VARIABLE: str(root / 'failures')})
        self.running = []
        self.usage = []
        self.started = time.monotonic()

    def start(self, name, tasks, results, variables):
        # Each playbook gets only its own cases: every task pays for the size of the extra vars.
        vars_file = self.root / ('vars-%s.json' % name)
        vars_file.write_text(json.dumps(variables))
        playbook = self.root / ('playbook-%s.json' % name)
        results_file = str(self.root / ('results-%s.json' % name))
        write_playbook(str(playbook), tasks, results, results_file)
        workdir = self.root / ('work-%s' % name)
        workdir.mkdir()
        log = open(str(self.root / ('output-%s.log' % name)), 'w')
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(playbook), '-e', '@%s' % vars_file,
                   '--vault-password-file', str(self.root / 'vault-pass')]
        proc = subprocess.Popen(command, env=self.env, cwd=str(workdir), stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, proc, log, results_file))
        return len(self.running) - 1

    def _reap(self):
        """Note the end and the CPU time (wait4) of every run that has finished."""
        for name, proc, log, results_file in self.running:
            if proc.returncode is None:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = status
                    self.usage.append((name, time.monotonic() - self.started, rusage.ru_utime + rusage.ru_stime))

    def stop(self):
        """Stop the runs still going (after a failure)."""
        for name, proc, log, results_file in self.running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def wait(self, number):
        """Wait for run ``number``; return what it recorded."""
        name, proc, log, results_file = self.running[number]
        while proc.returncode is None:
            assert time.monotonic() - self.started < 900, 'ansible-playbook %s did not finish within 15 minutes' % name
            self._reap()
            time.sleep(0.2)
        log.close()
        with open(log.name) as handle:
            output = handle.read()
        assert os.path.exists(results_file), 'ansible-playbook %s did not finish:\n%s' % (name, output[-20000:])
        with open(results_file) as handle:
            return json.load(handle)


def include_cost(case):
    """Roughly how long the role runs for a case: a full install, a stop after the host's files are looked up, or a
    stop at the role's first checks."""
    if case.payload.get('deep'):
        return 12
    if case.group == 'schedule' and case.option in SCHEDULE_LATE_CHECKED and \
            case.kind in SCHEDULE_LATE_KINDS.get(case.option, (case.kind,)):
        return 6
    return 1


def by_index(results):
    return dict((item['item']['index'], item) for item in results)


def case_path(group, index):
    """The path on the matrix's server under which every URL of a case lies."""
    return '/%s-%d' % (group, index)


def pointed(value, base):
    """VALUE with every URL that starts with REFUSED moved under BASE."""
    if isinstance(value, str) and value.startswith(REFUSED):
        return base + value[len(REFUSED):]
    if isinstance(value, dict):
        return OrderedDict((key, pointed(item, base)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(pointed(item, base) for item in value)
    return value


def own_profile(variables, name):
    """Deliver's variables with the deliveries of the shared profile 'refused' given profile NAME instead."""
    deliveries = variables.get('oauth2_deliveries')
    if isinstance(deliveries, list):
        variables = OrderedDict(variables, oauth2_deliveries=[
            OrderedDict(entry, profile=name) if isinstance(entry, dict) and entry.get('profile') == 'refused' else entry
            for entry in deliveries])
    return variables


def run_all(root, files, server):
    """Run every case, its URLs on SERVER; return the cases and their results by group, the time taken and each
    run's CPU time."""
    cases = OrderedDict((group, build(files)) for group, build in GROUPS.items() if group in SELECTED)
    profiles = {'refused': pointed(dict(BASE), server.url + '/shared')}
    items = {}
    for group, group_cases in cases.items():
        items[group] = []
        for index, case in enumerate(group_cases):
            base = server.url + case_path(group, index)
            if group not in ROLES:
                payload = pointed(dict(case.payload), base)
            else:
                payload = dict(vars=role_variables(case, files))
                if group == 'deliver':  # a profile of its own, so that its requests are told apart
                    payload['vars'] = own_profile(payload['vars'], 'case-%d' % index)
                    profiles['case-%d' % index] = pointed(dict(BASE), base)
            if 'profile' in payload:
                name, data = payload.pop('profile')
                profiles[name] = data
            payload['index'] = index
            items[group].append(payload)
    runs = Runs(root)
    try:
        return _run_all(runs, cases, items, profiles)
    finally:
        runs.stop()


# A case's own path, also behind an RFC 8414 well-known prefix (discovery of an issuer with a path).
CASE_PATH = re.compile(r'^(?:/\.well-known/[^/]+)?/(\w+)-(\d+)(?:/|$)')


def requests_by_case(server):
    """{(group, index): number of requests} from the server's own record of every request it received."""
    counts = {}
    for request in server_requests(server):
        match = CASE_PATH.match(request['path'])
        if match:
            key = (match.group(1), int(match.group(2)))
            counts[key] = counts.get(key, 0) + 1
    return counts


def server_requests(server):
    import requests
    return requests.get(server.url + '/_requests', timeout=30).json()


def _run_all(runs, cases, items, profiles):
    # The roles' argument specs first, every case in one loop per role; then the role itself where that tells more.
    spec_run = None
    if ROLES:
        spec_run = runs.start('role-specs', [spec_task(group) for group in ROLES],
                              [(group, 'bad_input_%s.results' % group) for group in ROLES],
                              dict(bad_input_cases=dict((group, items[group]) for group in ROLES),
                                   bad_input_specs=dict((group, role_spec(group)) for group in ROLES)))
    plugin_runs = []
    for batch in PLUGIN_BATCHES:
        batch = tuple(group for group in batch if group in SELECTED)
        if not batch:
            continue
        number = runs.start('-'.join(batch), [loop_task(group) for group in batch],
                            [(group, 'bad_input_%s.results' % group) for group in batch],
                            dict(bad_input_cases=dict((group, items[group]) for group in batch),
                                 oauth2_profiles=profiles if 'token_profile' in batch else dict(refused=profiles['refused'])))
        plugin_runs.append((batch, number))

    specs = runs.wait(spec_run) if ROLES else {}
    results = dict((group, {}) for group in cases)
    role_runs = []
    for group, parts in ROLE_PARTS.items():
        if group not in ROLES:
            continue
        spec_results = by_index(specs[group])
        first_of_option = dict((case.option, index) for index, case in reversed(list(enumerate(cases[group]))))
        included = []
        for index, case in enumerate(cases[group]):
            results[group][index] = dict(failed=spec_results[index].get('failed'), result=spec_results[index],
                                         task=SPEC_TASK, via='spec')
            if first_of_option[case.option] == index or not spec_results[index].get('failed'):
                included.append(index)
        shares = [[] for part in range(parts)]
        for index in sorted(included, key=lambda i: -include_cost(cases[group][i])):  # the costly ones spread first
            min(shares, key=lambda share: sum(include_cost(cases[group][i]) for i in share)).append(index)
        for part, mine in enumerate(shares):
            mine.sort()
            number = runs.start('%s-%d' % (group, part), [role_block(group, i, items[group][i]['vars']) for i in mine],
                                [('roles', '[%s]' % ', '.join('bad_input_role_%d' % i for i in mine))],
                                dict(oauth2_profiles=dict((name, data) for name, data in profiles.items()
                                                          if name == 'refused' or name.startswith('case-'))))
            role_runs.append((group, mine, number))

    for batch, number in plugin_runs:
        raw = runs.wait(number)
        for group in batch:
            results[group] = by_index(raw[group])
    for group, mine, number in role_runs:
        done = dict((r['index'], r) for r in runs.wait(number)['roles'])
        for index in mine:
            spec_failed = results[group][index]['failed']
            results[group][index] = dict(done.get(index) or dict(failed=True, result=dict(msg='(no result recorded)')),
                                         via='role', spec_failed=spec_failed)
    ordered = OrderedDict((group, [results[group][index] for index in range(len(cases[group]))]) for group in cases)
    return cases, ordered, time.monotonic() - runs.started, runs.usage


# ---------------------------------------------------------------------------------------------------------------------
# Verdicts

def template_error(exception_text):
    """For roles: a Python error inside a template or a module (a value the spec let through), or None."""
    for name, frames in failure_check.chain(exception_text):
        if name.startswith('ansible.') or 'tokenops' in name:
            continue
        if any('/ansible/config/' in frame or '/module_utils/common/' in frame for frame in frames):
            continue
        return name
    return None


# Every profile error begins "profile 'NAME': ", which names the profile, not the option at fault.
PROFILE_NAMING = re.compile(r"profile '(?:[^'\\]|\\.)*'")


def names_option(case, msg):
    """Whether MSG names the option as a word (or quotes the value it refuses), outside the profile's naming."""
    text = PROFILE_NAMING.sub(' ', msg)
    words = [w for word in case.mentions for w in (word, word.replace('_', ' '))]
    for word in words:
        if re.search(r'(?<!\w)%s(?!\w)' % re.escape(word), text, re.IGNORECASE):
            return True
    if isinstance(case.value, str) and case.kind not in ('list', 'dict') and len(case.value.strip()) >= 4 \
            and not set(case.value) & set('\n\x00'):
        return case.value[:60].lower() in text.lower()  # quoting the value it refuses is as good as naming the option
    return False


def crash(case, result):
    """What shows that the plugin crashed, or that its message shows an exception type, or None."""
    return failure_check.verdict(result)


def verdict(case, item, requests):
    """'ok', or what is wrong with this case's result (REQUESTS: how many of its requests reached the server)."""
    role = case.group in ROLES
    result = (item.get('result') or {}) if role else item
    failed = item.get('failed')
    msg = failure_check.message(result)
    broken = crash(case, result)
    if broken:
        return '%s: %s' % (broken, short(msg))
    if result.get('timedout') or 'TaskTimeoutError' in str(result.get('exception') or ''):
        return 'hung (stopped by the task timeout of %d s)' % TASK_TIMEOUT
    if role and failed:
        error = template_error(result.get('exception'))
        if error or any(text in msg for text in TEMPLATE_FAILURES):
            return 'template error (%s) in task %r: %s' % (error or 'in a template', item.get('task'), short(msg))
    if failed and not msg.strip():
        return 'failed with an empty message'
    if case.expect == E:
        return 'ok'
    if not failed:
        return 'not validated: the task succeeded'
    if requests:
        return 'not validated: %d request(s) reached the server: %s' % (requests, short(msg))
    if any(text in msg for text in NETWORK_TEXT):
        return 'not validated: reached the network: %s' % short(msg)
    if names_option(case, msg):
        return 'ok'
    if role and any(sentinel in msg for sentinel in SENTINEL_MESSAGES):
        return "not validated: passed the role's checks"
    return 'message does not name %s: %s' % (' or '.join(case.mentions), short(msg))


def short(text, limit=300):
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + '...'


@pytest.fixture(scope='module')
def matrix(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad-input')
    files = make_files(root)
    with start('quirks') as server:  # its own server: no other test's requests reach it
        cases, results, elapsed, usage = run_all(root, files, server)
        requests = requests_by_case(server)
        unattributed = [r['path'][:100] for r in server_requests(server) if not CASE_PATH.match(r['path'])]
    verdicts = OrderedDict()
    for group, group_cases in cases.items():
        verdicts[group] = [(case, verdict(case, item, requests.get((group, index), 0)))
                           for index, (case, item) in enumerate(zip(group_cases, results[group]))]
    # Where the role was included, its own argument spec check must have said what the spec check in the loop said.
    disagreements = []
    for group in ROLES:
        for case, item in zip(cases[group], results[group]):
            if item.get('via') == 'role':
                stopped_by_spec = bool(item.get('failed')) and str(item.get('task')).startswith('Validating arguments')
                if stopped_by_spec != bool(item['spec_failed']):
                    disagreements.append('%s: the spec loop %s it, include_role %s' % (
                        case_id(case), 'refused' if item['spec_failed'] else 'accepted',
                        'refused it' if stopped_by_spec else 'ran past the check (%s)' % item.get('task')))
    return dict(verdicts=verdicts, elapsed=elapsed, usage=usage, disagreements=disagreements, requests=requests,
                unattributed=unattributed, cases=cases,
                included=sum(1 for group in ROLES for item in results[group] if item.get('via') == 'role'))


def test_inputs_tried(matrix):
    counts = OrderedDict((group, len(items)) for group, items in matrix['verdicts'].items())
    total = sum(counts.values())
    print('\nbad input matrix: %d inputs tried in %.0f s (%s)' % (
        total, matrix['elapsed'], ', '.join('%s %d' % kv for kv in counts.items())))
    for name, finished, cpu in matrix['usage']:
        print('  ansible-playbook %s: done after %.0f s, %.0f s CPU' % (name, finished, cpu))
    assert total > 1000 or SELECTED != list(GROUPS)


def test_requests_are_counted_at_the_server(matrix):
    """The "no request" check can fail: cases whose value is acceptable reach the server, under their own path."""
    acceptable = [case_id(case) for group, group_cases in matrix['cases'].items()
                  for index, case in enumerate(group_cases)
                  if case.expect == E and matrix['requests'].get((group, index))]
    print('\n%d acceptable cases reached the server; requests outside any case path: %s' % (
        len(acceptable), matrix['unattributed'] or 'none'))
    if set(SELECTED) & {'token', 'token_profile', 'lookup', 'deliver'}:
        assert acceptable, 'no case reached the server: the request count would prove nothing'


def test_role_spec_loop_agrees_with_include_role(matrix):
    assert matrix['included'] > 50 or 'deliver' not in ROLES or 'schedule' not in ROLES
    assert not matrix['disagreements'], '\n'.join(matrix['disagreements'])


@pytest.mark.parametrize('group', list(GROUPS))
def test_bad_input_is_a_validation_error_never_a_traceback(matrix, group):
    if group not in SELECTED:
        pytest.skip('BAD_INPUT_GROUPS leaves %s out' % group)
    problems = []
    for case, outcome in matrix['verdicts'][group]:
        if outcome != 'ok' and not known_bugs_of(case):
            problems.append('%s (%s, value %s): %s' % (case_id(case), case.expect, short(repr(case.value), 60), outcome))
    assert not problems, '%d of %d cases:\n%s' % (len(problems), len(matrix['verdicts'][group]), '\n'.join(problems))


@pytest.mark.parametrize('bug', [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason='BUG: ' + reason))
                                 for name, (reason, predicate) in KNOWN_BUGS.items()])
def test_known_bug(matrix, bug):
    predicate = KNOWN_BUGS[bug][1]
    covered = [(case, outcome) for items in matrix['verdicts'].values() for case, outcome in items if predicate(case)]
    if not covered and SELECTED != list(GROUPS):
        pytest.skip('BAD_INPUT_GROUPS leaves out the cases of %s' % bug)
    assert covered, 'the bug %s covers no case' % bug
    wrong = ['%s: %s' % (case_id(case), outcome) for case, outcome in covered if outcome != 'ok']
    assert not wrong, '\n'.join(wrong)
