# -*- coding: utf-8 -*-
"""Deliveries into a destination that cannot be written, through real ansible-playbook runs: tokenops.oauth2.env_file,
tokenops.oauth2.vault_vars and the tokenops.oauth2.deliver role (through the rotate playbook) fail with a message that
names the file and the system's reason, the file they were to replace is byte for byte intact (mode included), and no
temporary file is left beside it.

The faults are real, and the tests run as root (where chmod does not stop a write):

- file size limit: RLIMIT_FSIZE set on the ansible-playbook process (and so on its modules), between the size of what
  Ansible itself writes (the AnsiballZ payload, the token cache) and the size of the destination file; rewriting the
  destination fails with EFBIG (Python ignores SIGXFSZ). Needs no privilege.
- full disk: the destination directory is a small tmpfs filled to the last byte (ENOSPC), and
- read-only destination: the destination directory is bind-mounted read-only (EROFS),
  both mounted in a private mount namespace of the ansible-playbook process (``unshare --mount``), so nothing is left
  mounted whatever happens to the test. They need CAP_SYS_ADMIN and are skipped without it (the skip says so, and the
  README's figures count only the faults that ran), except in CI (``CI`` set, as .ci/run's runner does), which runs
  as root: there a missing privilege fails them, so that CI never reports fewer faults than it claims.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys

import pytest

from ansible_runner_helper import PLAYBOOK_DIR, REPO_ROOT, ansible_env, assert_no_crash, recorded_failures

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
FSIZE_LIMIT = 1024 * 1024  # several times the largest AnsiballZ payload here (about 0.2 MB)
PADDED_SIZE = 2 * FSIZE_LIMIT
PADDING = '# padding that makes this file larger than the file size limit of the run, which only its rewrite hits\n'
VAULT_PASSWORD = 'faults-disk-vault-pw-3141'
RECAP = re.compile(r'^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)', re.M)

# What each module writes (the playbooks under tests/integration/playbooks) and the message it fails with.
MODULES = {
    'env_file': dict(playbook='env_file_write.yml', file='app.env', var='env_path',
                     head='# written by hand\nHARBOR_TOKEN=old-token-4711\nHARBOR_TOKEN_EXPIRES_AT=old-expiry\n',
                     message='cannot write {path}: [Errno {errno}] {reason}'),
    'vault_vars': dict(playbook='vault_vars_write.yml', file='vars.yml', var='vars_path',
                       head='# written by hand\nharbor_access_token: old-token-4711\nother_setting: 42\n',
                       message='{path}: [Errno {errno}] {reason}'),
}

# Run "$@" with DIR (the first argument) a tmpfs filled to the last byte: the files of SEED (the second) are copied
# in first, what is in DIR afterwards (but the filler) is copied to OUT (the third), and the exit code is the run's.
FULL_DISK_SCRIPT = r'''
dir=$1 seed=$2 out=$3
shift 3
mount -t tmpfs -o size=256k,mode=0755 tokenops-full-disk "$dir" || exit 97
cp -a "$seed"/. "$dir"/ || exit 98
dd if=/dev/zero of="$dir/filler" bs=4096 2>/dev/null
"$@"
rc=$?
rm -f "$dir/filler"
cp -a "$dir"/. "$out"/ || exit 99
exit $rc
'''
READ_ONLY_SCRIPT = r'''
dir=$1
shift
mount --bind -o ro "$dir" "$dir" || exit 97
exec "$@"
'''


def private_mounts():
    """Why mounts in a private mount namespace cannot be made here, or None when they can."""
    if not shutil.which('unshare') or not shutil.which('mount'):
        return 'unshare or mount is not installed'
    proc = subprocess.run(['unshare', '--mount', 'sh', '-c', 'mount -t tmpfs -o size=64k probe /mnt'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return None if proc.returncode == 0 else 'cannot mount in a private mount namespace: %s' % proc.stdout.strip()


NO_MOUNTS = private_mounts()


def in_ci():
    return os.environ.get('CI', '').strip().lower() not in ('', '0', 'false', 'no')


@pytest.fixture
def private_mount_namespace():
    """Skip without CAP_SYS_ADMIN, naming it; fail in CI, where the suite runs as root and must run every fault."""
    if NO_MOUNTS is None:
        return
    if in_ci():
        pytest.fail('CI must run every disk fault, and this one needs CAP_SYS_ADMIN (CI runs as root): %s' % NO_MOUNTS,
                    pytrace=False)
    pytest.skip('disk fault not run: needs CAP_SYS_ADMIN (%s)' % NO_MOUNTS)


needs_mounts = pytest.mark.usefixtures('private_mount_namespace')


def run(playbook, args, fsize=None, wrapper=(), extra_env=None):
    """Run ansible-playbook PLAYBOOK ARGS (under WRAPPER, with a file size limit FSIZE); return (output, failed)."""
    if not playbook.startswith('tokenops.'):
        playbook = os.path.join(PLAYBOOK_DIR, playbook)
    command = list(wrapper) + [ANSIBLE_PLAYBOOK, playbook] + list(args)

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    recorded_before = recorded_failures()
    proc = subprocess.run(command, env=ansible_env(extra_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=REPO_ROOT, timeout=600, check=False,
                          preexec_fn=limit_file_size if fsize else None)
    out = proc.stdout
    assert_no_crash(recorded_before)
    assert proc.returncode not in (97, 98, 99), 'the fault could not be set up:\n' + out
    recap = RECAP.search(out)
    assert recap, out
    failed = int(recap.group(2)) > 0
    assert failed == (proc.returncode != 0), out
    return out, failed


def snapshot(directory):
    """{name: (bytes, mode)} of every file in DIRECTORY, hidden ones included."""
    result = {}
    for name in sorted(os.listdir(str(directory))):
        path = os.path.join(str(directory), name)
        if os.path.isfile(path):
            with open(path, 'rb') as handle:
                result[name] = (handle.read(), stat.S_IMODE(os.stat(path).st_mode))
    return result


def seed(directory, spec, padded):
    """Write the destination file of SPEC into DIRECTORY (mode 0600), larger than FSIZE_LIMIT when PADDED."""
    text = spec['head'] + (PADDING * (PADDED_SIZE // len(PADDING) + 1) if padded else '')
    path = os.path.join(str(directory), spec['file'])
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def module_args(tmp_path, spec, path):
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(VAULT_PASSWORD + '\n')
    values = tmp_path / 'values.json'
    values.write_text(json.dumps({spec['var']: path, 'token_a': 'new-token-0815', 'token_b': 'new-expiry'}))
    return ['-e', '@%s' % values, '--vault-password-file', str(password_file)]


def assert_failed_cleanly(out, failed, path, code, before, after):
    expected_reason = os.strerror(code)
    assert failed, out
    assert path in out and '[Errno %d] %s' % (code, expected_reason) in out, out
    # Byte for byte the same file, same mode, and nothing else beside it (no temporary file).
    assert after == before, 'destination changed or a file was left behind: %s -> %s' % (sorted(before), sorted(after))


@pytest.mark.parametrize('module', sorted(MODULES))
def test_file_size_limit(tmp_path, module):
    spec = MODULES[module]
    dest = tmp_path / 'dest'
    dest.mkdir()
    path = seed(dest, spec, padded=True)
    before = snapshot(dest)
    out, failed = run(spec['playbook'], module_args(tmp_path, spec, path), fsize=FSIZE_LIMIT)
    assert_failed_cleanly(out, failed, path, errno.EFBIG, before, snapshot(dest))
    assert spec['message'].format(path=path, errno=errno.EFBIG, reason=os.strerror(errno.EFBIG)) in out, out


@needs_mounts
@pytest.mark.parametrize('module', sorted(MODULES))
def test_full_disk(tmp_path, module):
    spec = MODULES[module]
    dest, seed_dir, out_dir = tmp_path / 'dest', tmp_path / 'seed', tmp_path / 'after'
    for directory in (dest, seed_dir, out_dir):
        directory.mkdir()
    seed(seed_dir, spec, padded=False)
    path = os.path.join(str(dest), spec['file'])  # where the playbook sees it, on the full tmpfs
    wrapper = ['unshare', '--mount', 'sh', '-c', FULL_DISK_SCRIPT, 'sh', str(dest), str(seed_dir), str(out_dir)]
    out, failed = run(spec['playbook'], module_args(tmp_path, spec, path), wrapper=wrapper)
    assert_failed_cleanly(out, failed, path, errno.ENOSPC, snapshot(seed_dir), snapshot(out_dir))
    assert spec['message'].format(path=path, errno=errno.ENOSPC, reason=os.strerror(errno.ENOSPC)) in out, out
    assert not os.listdir(str(dest)), 'the tmpfs was mounted outside the private mount namespace'


@needs_mounts
@pytest.mark.parametrize('module', sorted(MODULES))
def test_read_only_destination(tmp_path, module):
    spec = MODULES[module]
    dest = tmp_path / 'dest'
    dest.mkdir()
    path = seed(dest, spec, padded=False)
    before = snapshot(dest)
    wrapper = ['unshare', '--mount', 'sh', '-c', READ_ONLY_SCRIPT, 'sh', str(dest)]
    out, failed = run(spec['playbook'], module_args(tmp_path, spec, path), wrapper=wrapper)
    assert_failed_cleanly(out, failed, path, errno.EROFS, before, snapshot(dest))


@pytest.fixture
def rotation(tmp_path, oidc_provider):
    """An inventory that delivers a token of oidc_provider to dest/app.env through the rotate playbook."""
    client = oidc_provider.clients['cc_basic']
    dest = tmp_path / 'dest'
    dest.mkdir()
    inventory = tmp_path / 'inventory.json'
    path = str(dest / 'app.env')
    inventory.write_text(json.dumps({'all': {
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'vars': {
            'oauth2_profiles': {'app': dict(token_url=oidc_provider.url + '/token', client_id=client['client_id'],
                                            client_secret=client['client_secret'], scope='api:read',
                                            resource='urn:tokenops:api')},
            'oauth2_deliveries': [dict(profile='app', to='env_file', path=path,
                                       vars=dict(APP_TOKEN='access_token', APP_TOKEN_EXPIRES_AT='expires_at'))],
            'oauth2_rotate_lock': str(tmp_path / 'rotate.lock'),
        }}}))
    env = {'TOKENOPS_OAUTH2_CACHE_DIR': str(tmp_path / 'cache')}
    return dict(dest=dest, path=path, args=['-i', str(inventory), '-e', 'oauth2_force=true'], env=env,
                lock=tmp_path / 'rotate.lock')


def env_values(path):
    with open(path) as handle:
        return dict(line.split('=', 1) for line in handle.read().splitlines() if '=' in line and line[0] != '#')


def test_deliver_role_file_size_limit_then_rerun(rotation):
    head = dict(file='app.env', head='# written by hand\nAPP_TOKEN=old-token-4711\nOTHER=kept\n')
    path = seed(rotation['dest'], head, padded=True)
    before = snapshot(rotation['dest'])
    out, failed = run('tokenops.oauth2.rotate', rotation['args'], fsize=FSIZE_LIMIT, extra_env=rotation['env'])
    assert_failed_cleanly(out, failed, path, errno.EFBIG, before, snapshot(rotation['dest']))
    assert 'cannot write %s: [Errno 27]' % path in out, out
    assert not rotation['lock'].exists(), 'the failed run kept the rotation lock'
    # Without the limit, the same run delivers, and keeps the lines that are not its own.
    out, failed = run('tokenops.oauth2.rotate', rotation['args'], extra_env=rotation['env'])
    assert not failed, out
    values = env_values(path)
    assert values['APP_TOKEN'] not in ('', 'old-token-4711') and values['APP_TOKEN_EXPIRES_AT'] and \
        values['OTHER'] == 'kept', sorted(values)
    assert open(path).read().count(PADDING) == before['app.env'][0].decode().count(PADDING)


@needs_mounts
def test_deliver_role_read_only_destination(rotation):
    head = dict(file='app.env', head='APP_TOKEN=old-token-4711\nAPP_TOKEN_EXPIRES_AT=2000-01-01T00:00:00Z\n')
    path = seed(rotation['dest'], head, padded=False)
    before = snapshot(rotation['dest'])
    wrapper = ['unshare', '--mount', 'sh', '-c', READ_ONLY_SCRIPT, 'sh', str(rotation['dest'])]
    out, failed = run('tokenops.oauth2.rotate', rotation['args'], wrapper=wrapper, extra_env=rotation['env'])
    assert_failed_cleanly(out, failed, path, errno.EROFS, before, snapshot(rotation['dest']))
    assert 'cannot write %s: [Errno 30]' % path in out, out
    assert not rotation['lock'].exists(), 'the failed run kept the rotation lock'
