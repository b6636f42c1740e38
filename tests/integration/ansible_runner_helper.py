# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real ``ansible-playbook`` against localhost with this checkout installed as ``tokenops.oauth2``.

    from ansible_runner_helper import run_playbook
    proc = run_playbook('env_file_write.yml', '-e', 'path=/tmp/x.env', '--diff')
    assert proc.returncode == 0, proc.stdout

``playbook`` is a path, or a file name under ``tests/integration/playbooks/``. The inventory is localhost only,
``ansible_connection=local`` with this Python as interpreter. Output is text, stderr merged into stdout.

Every run started with ``ansible_env()`` records its failed results (failure_check.py says why and how they are
judged); ``run_playbook`` fails at once when one of its run is a crash or shows the operator an exception type, and
the autouse fixture of conftest.py does the same at the end of every test for whatever else ran ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

import failure_check

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks')
_session_dir = None


def session_dir():
    """A per-process temporary directory holding ``ansible_collections/tokenops/oauth2`` (a link to the checkout),
    the inventory and a local temp dir; removed at exit."""
    global _session_dir
    if _session_dir is None:
        _session_dir = tempfile.mkdtemp(prefix='tokenops-oauth2-it-')
        atexit.register(shutil.rmtree, _session_dir, True)
        os.makedirs(os.path.join(_session_dir, 'collections', 'ansible_collections', 'tokenops'))
        os.symlink(REPO_ROOT, os.path.join(_session_dir, 'collections', 'ansible_collections', 'tokenops', 'oauth2'))
        os.makedirs(failure_record_dir())
        with open(os.path.join(_session_dir, 'inventory.ini'), 'w') as f:
            f.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % target_python())
    return _session_dir


def failure_record_dir():
    """Where the runs of this process record their failed results."""
    return os.path.join(session_dir(), 'failures')


def target_python():
    """The interpreter modules run with on the managed host: TOKENOPS_TARGET_PYTHON (scripts/matrix.sh sets the
    oldest one the collection supports), else this Python."""
    return os.environ.get('TOKENOPS_TARGET_PYTHON') or sys.executable


def ansible_env(extra_env=None):
    """The environment for ansible-* commands: our collection path, a private local tmp, no user config, and every
    failed result recorded with its exception (failure_check.py)."""
    root = session_dir()
    env = dict(os.environ)
    # A vault password configured in the caller's environment would change what a test proves.
    for name in ('ANSIBLE_VAULT_PASSWORD_FILE', 'ANSIBLE_VAULT_IDENTITY_LIST', 'ANSIBLE_CONFIG'):
        env.pop(name, None)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.path.join(root, 'collections'),
        ANSIBLE_INVENTORY=os.path.join(root, 'inventory.ini'),
        ANSIBLE_LOCAL_TEMP=os.path.join(root, 'ansible-local-tmp'),
        ANSIBLE_HOST_KEY_CHECKING='False',
        ANSIBLE_RETRY_FILES_ENABLED='False',
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_FORCE_COLOR='0',
        PYTHONWARNINGS='ignore',
    )
    env.update(extra_env or {})
    env.update(failure_check.ansible_env_additions(
        env.get(failure_check.RECORD_DIR_VARIABLE) or failure_record_dir(), env.get('ANSIBLE_CALLBACKS_ENABLED'),
        env.get('ANSIBLE_CALLBACK_PLUGINS')))
    return env


def failure_record_env():
    """What an environment built without ansible_env() (a scheduled command's own) needs to record failed results."""
    return failure_check.ansible_env_additions(failure_record_dir())


def recorded_failures():
    """How many failed results the runs of this process have recorded so far."""
    return len(failure_check.recorded(failure_record_dir()))


def assert_no_crash(since=0):
    """Fail if a failed result recorded by this process's runs (from record number SINCE on) is a crash or shows
    the operator an exception type; return how many are recorded."""
    records = failure_check.recorded(failure_record_dir())
    found = failure_check.problems(records[since:])
    assert not found, '%d failed task(s) that are not clean failures:\n%s' % (len(found), '\n\n'.join(found))
    return len(records)


def run_playbook(playbook, *args, extra_env=None, check=True):
    """Run ``ansible-playbook PLAYBOOK ARGS...``; with ``check`` raise AssertionError (showing the output) if it
    fails. Returns the CompletedProcess (``stdout`` holds stdout and stderr)."""
    is_collection_playbook = '/' not in playbook and not playbook.endswith(('.yml', '.yaml'))  # tokenops.oauth2.x
    if not is_collection_playbook and not os.path.isabs(playbook) and not os.path.exists(playbook):
        playbook = os.path.join(PLAYBOOK_DIR, playbook)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook] + list(args)
    recorded_before = recorded_failures()
    proc = subprocess.run(command, env=ansible_env(extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=REPO_ROOT, timeout=600, check=False)
    try:
        assert_no_crash(recorded_before)
        crashed = [text for text in failure_check.OUTPUT_CRASH_TEXT if text in proc.stdout]
        assert not crashed, 'the run crashed (%s)' % ', '.join(crashed)
    except AssertionError as exc:
        raise AssertionError('%s\n\n%s exited %d:\n%s' % (exc, ' '.join(command), proc.returncode, proc.stdout[-20000:]))
    if check and proc.returncode != 0:
        raise AssertionError('%s exited %d:\n%s' % (' '.join(command), proc.returncode, proc.stdout))
    return proc


RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def recap(output):
    """The play recap of OUTPUT: {host: {'ok': n, 'changed': n, 'unreachable': n, 'failed': n}}."""
    return dict((host, dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, counts))))
                for host, *counts in RECAP.findall(output))


def local_inventory(path, **variables):
    """Write a JSON inventory of localhost (local connection, this Python) with ``variables`` for group all, such as
    oauth2_profiles and oauth2_deliveries; return its path as a string, for ``-i``."""
    import json
    with open(str(path), 'w') as handle:
        json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': target_python()}},
                           'vars': variables}}, handle)
    return str(path)
