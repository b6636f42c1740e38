# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real ``ansible-playbook`` against localhost with this checkout installed as ``tokenops.oauth2``.

    from ansible_runner_helper import run_playbook
    proc = run_playbook('env_file_write.yml', '-e', 'path=/tmp/x.env', '--diff')
    assert proc.returncode == 0, proc.stdout

``playbook`` is a path, or a file name under ``tests/integration/playbooks/``. The inventory is localhost only,
``ansible_connection=local`` with this Python as interpreter. Output is text, stderr merged into stdout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

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
        with open(os.path.join(_session_dir, 'inventory.ini'), 'w') as f:
            f.write('localhost ansible_connection=local ansible_python_interpreter=%s\n' % target_python())
    return _session_dir


def target_python():
    """The interpreter modules run with on the managed host: TOKENOPS_TARGET_PYTHON (scripts/matrix.sh sets the
    oldest one the collection supports), else this Python."""
    return os.environ.get('TOKENOPS_TARGET_PYTHON') or sys.executable


def ansible_env(extra_env=None):
    """The environment for ansible-* commands: our collection path, a private local tmp, no user config."""
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
    return env


def run_playbook(playbook, *args, extra_env=None, check=True):
    """Run ``ansible-playbook PLAYBOOK ARGS...``; with ``check`` raise AssertionError (showing the output) if it
    fails. Returns the CompletedProcess (``stdout`` holds stdout and stderr)."""
    is_collection_playbook = '/' not in playbook and not playbook.endswith(('.yml', '.yaml'))  # tokenops.oauth2.x
    if not is_collection_playbook and not os.path.isabs(playbook) and not os.path.exists(playbook):
        playbook = os.path.join(PLAYBOOK_DIR, playbook)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook] + list(args)
    proc = subprocess.run(command, env=ansible_env(extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=REPO_ROOT, timeout=600, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s exited %d:\n%s' % (' '.join(command), proc.returncode, proc.stdout))
    return proc


def local_inventory(path, **variables):
    """Write a JSON inventory of localhost (local connection, this Python) with ``variables`` for group all, such as
    oauth2_profiles and oauth2_deliveries; return its path as a string, for ``-i``."""
    import json
    with open(str(path), 'w') as handle:
        json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': target_python()}},
                           'vars': variables}}, handle)
    return str(path)
