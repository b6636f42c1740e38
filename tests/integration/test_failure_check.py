# -*- coding: utf-8 -*-
"""The rule every run of the suite is judged by (failure_check.py), on results shaped as ansible-core 2.19 records
them with DISPLAY_TRACEBACK=error and as older cores report them: it must tell a crash from a clean failure, or the
checks built on it could not fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from failure_check import type_names, verdict

CORE = '/venv/lib/python3.11/site-packages/ansible'
OURS = '/tmp/it/collections/ansible_collections/tokenops/oauth2/plugins'
PAYLOAD = '/tmp/ansible_tokenops.oauth2.env_file_payload_x/ansible_tokenops.oauth2.env_file_payload.zip'
CAUSE = '\nThe above exception was the direct cause of the following exception:\n\n'
TARGET = '\nThe above target exception was the direct cause of the following controller exception:\n\n'


def traceback(*sections):
    """A recorded exception chain: (exception line, frame files) oldest first."""
    parts = []
    for line, files in sections:
        frames = ''.join('  File "%s", line 1, in run\n    x\n' % path for path in files)
        parts.append('Traceback (most recent call last):\n%s%s\n' % (frames, line))
    return CAUSE.join(parts)


TASK_ERROR = ("ansible.errors.AnsibleTaskError: Task failed: x", [CORE + '/executor/task_executor.py'])
ENGINE_ERROR = "ansible_collections.tokenops.oauth2.plugins.module_utils.errors.TokenRequestError: profile 'p': down"
TEMPLATE_ERROR = 'ansible._internal._templating._errors.AnsibleTemplatePluginRuntimeError: The lookup plugin failed'
MODULE_FILE = PAYLOAD + '/ansible_collections/tokenops/oauth2/plugins/modules/env_file.py'
LOADER = PAYLOAD + '/ansible/module_utils/_internal/_ansiballz/_loader.py'
OLD_LOOKUP = ("An unhandled exception occurred while running the lookup plugin 'tokenops.oauth2.token'. Error was a "
              "<class 'ansible.errors.AnsibleError'>, original message: profile 'p': cannot connect")

ESCAPED_KEY_ERROR = traceback(("KeyError: 'missing'", [CORE + '/executor/task_executor.py', OURS + '/action/token.py']),
                              TASK_ERROR)
ESCAPED_VALUE_ERROR = traceback(('ValueError: boom', [CORE + '/_jinja_plugins.py', OURS + '/lookup/token.py']),
                                (TEMPLATE_ERROR, [CORE + '/_jinja_plugins.py']), TASK_ERROR)
HANDLED_ENGINE_ERROR = traceback((ENGINE_ERROR, [OURS + '/module_utils/client.py']),
                                 ("ansible.errors.AnsibleLookupError: profile 'p': down", [OURS + '/lookup/token.py']),
                                 TASK_ERROR)
HANDLED_OS_ERROR = traceback(('FileNotFoundError: [Errno 2] No such file', [OURS + '/module_utils/cache.py']),
                             ("ansible.errors.AnsibleLookupError: profile 'p': cannot read x", [OURS + '/lookup/token.py']),
                             TASK_ERROR)
URLLIB3 = '/venv/lib/python3.11/site-packages/urllib3'
RETRY_FRAMES = [URLLIB3 + '/connectionpool.py', OURS + '/module_utils/transport.py', URLLIB3 + '/util/retry.py']
HANDLED_LIBRARY_CHAIN = traceback(  # urllib3 raises inside our Retry subclass; requests wraps it; the transport, us
    ('urllib3.exceptions.MaxRetryError: refused', RETRY_FRAMES),
    ('requests.exceptions.ConnectionError: refused', ['/venv/lib/python3.11/site-packages/requests/adapters.py']),
    (ENGINE_ERROR, [OURS + '/module_utils/transport.py']),
    ("ansible.errors.AnsibleLookupError: profile 'p': down", [OURS + '/lookup/token.py']), TASK_ERROR)
ESCAPED_LIBRARY_CHAIN = traceback(  # the same, but nothing of ours made an error of it
    ('urllib3.exceptions.MaxRetryError: refused', RETRY_FRAMES),
    ('requests.exceptions.ConnectionError: refused', ['/venv/lib/python3.11/site-packages/requests/adapters.py']),
    (TEMPLATE_ERROR, [CORE + '/_jinja_plugins.py']), TASK_ERROR)
MODULE_HANDLED = TARGET.join([traceback(('OSError: [Errno 28] No space left on device', [MODULE_FILE])),
                              traceback(TASK_ERROR)])
MODULE_ESCAPED = TARGET.join([traceback(('TypeError: boom', [LOADER, MODULE_FILE])), traceback(TASK_ERROR)])

CASES = [
    ('action plugin raising KeyError', dict(msg="Task failed: 'missing'", exception=ESCAPED_KEY_ERROR),
     'crash (KeyError escaped)'),
    ('lookup raising ValueError', dict(msg='Task failed: The lookup plugin failed: boom', exception=ESCAPED_VALUE_ERROR),
     'crash (ValueError escaped)'),
    ('lookup turning an engine error into its own', dict(msg="profile 'p': down", exception=HANDLED_ENGINE_ERROR), None),
    ('engine raising its error from an OSError', dict(msg="profile 'p': cannot read x", exception=HANDLED_OS_ERROR),
     None),
    ('a library error wrapped by the library, then by the engine',
     dict(msg="profile 'p': down", exception=HANDLED_LIBRARY_CHAIN), None),
    ('a library error through our code that nothing of ours handled',
     dict(msg='Task failed: The lookup plugin failed: refused', exception=ESCAPED_LIBRARY_CHAIN),
     'crash (urllib3.exceptions.MaxRetryError escaped)'),
    ('module whose except clause calls fail_json',
     dict(msg='cannot write /x: [Errno 28] No space left on device', exception=MODULE_HANDLED), None),
    ('module letting an exception escape to AnsiballZ', dict(msg='Task failed: Module failed: boom',
                                                             exception=MODULE_ESCAPED), 'crash (TypeError escaped)'),
    ('an older core: lookup raising AnsibleError', dict(msg=OLD_LOOKUP),
     "crash ('An unhandled exception occurred' in msg)"),
    ('an older core: module traceback', dict(msg='MODULE FAILURE\nSee stdout/stderr for the exact error',
                                             module_stderr='Traceback (most recent call last):\n...'),
     "crash ('MODULE FAILURE' in msg)"),
    ('a clean failure of an action plugin', dict(msg="profile 'p': token request refused (HTTP 401): invalid_client"),
     None),
    ('a clean failure naming an exception type', dict(msg="profile 'p': cannot connect: Max retries exceeded (Caused by "
                                                          "NewConnectionError(...))"),
     'the message shows the exception type NewConnectionError'),
]


@pytest.mark.parametrize('name, result, expected', CASES, ids=[case[0] for case in CASES])
def test_a_crash_is_told_from_a_clean_failure(name, result, expected):
    assert verdict(result) == expected


@pytest.mark.parametrize('text, names', [
    ("KeyError: 'x'", ['KeyError']), ('[Errno 2] No such file or directory', []), ('OSError', ['OSError']),
    ('requests.exceptions.SSLError: bad handshake', ['requests.exceptions.SSLError']),
    ('HTTP 401 invalid_client - Client authentication failed', []), ('an Error occurred; Exception: none', []),
    ('the token_url said KeyboardInterrupt', ['KeyboardInterrupt']),
])
def test_exception_type_names_are_found_and_words_are_not(text, names):
    assert type_names(text) == names
