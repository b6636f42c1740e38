# -*- coding: utf-8 -*-
"""Issue 12, finding 2: root delivers a token into a directory that a consumer's service account owns, and the
account plants symlinks there (to a root-only file the test creates), through real ansible-playbook runs.

Without ``follow: true``, env_file and vault_vars never write through a symlink at the destination, nor through a
symlink another user owns on the way to it: the task fails naming the path and ``follow``, and the root-only file
keeps its content, owner and mode. With ``follow: true`` (the operator's explicit choice) the link's target is
replaced atomically, the link kept. A racing variant has the account swap links in and out while root writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import time

import pytest

from ansible_runner_helper import local_inventory, run_playbook
from local_users import as_user, consumer_account, remove_tree, shared_dir

TOKEN = 'symlink-attack-token-7d1e0c4b'
ROOT_ONLY = 'root-only-line: never handed to the consumer\n'
VAULT_PASSWORD = 'symlink-attack-vault-pw-3141'

# Run as the consumer: swap DIR/token.env between a file of its own and a symlink to ROOT_FILE, and DIR/app between
# a directory of its own and a symlink to ROOT_DIR, until killed.
SWAPPER = r'''
import os, sys, time
directory, root_file, root_dir = sys.argv[1:4]
os.chdir(directory)
os.mkdir('app')
while True:
    with open('.own', 'w') as handle:
        handle.write('APP_TOKEN=the-consumers-own\n')
    os.rename('.own', 'token.env')
    time.sleep(0.002)
    os.symlink(root_file, '.link')
    os.rename('.link', 'token.env')
    os.rename('app', 'app.real')
    os.symlink(root_dir, 'app')
    time.sleep(0.002)
    os.unlink('app')
    os.rename('app.real', 'app')
'''


class Site:
    """A directory the consumer account owns, and a root-only directory holding a root-only file."""

    def __init__(self, base):
        self.base = base
        self.user = consumer_account()
        self.consumer_dir = os.path.join(base, 'consumer')
        os.mkdir(self.consumer_dir)
        os.chown(self.consumer_dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.consumer_dir, 0o755)
        self.root_dir = os.path.join(base, 'root-only')
        os.mkdir(self.root_dir, 0o700)
        self.root_file = os.path.join(self.root_dir, 'root.conf')
        with open(self.root_file, 'w') as handle:
            handle.write(ROOT_ONLY)
        os.chmod(self.root_file, 0o600)
        self.password_file = os.path.join(base, 'vault-pass')
        with open(self.password_file, 'w') as handle:
            handle.write(VAULT_PASSWORD + '\n')

    def plant(self, target, link):
        """The consumer account makes LINK point to TARGET."""
        as_user(self.user, ['ln', '-s', target, link])
        assert os.lstat(link).st_uid == self.user.pw_uid

    def write(self, *args, fails):
        variables = os.path.join(self.base, 'vars.json')
        with open(variables, 'w') as handle:
            json.dump(dict(token=TOKEN), handle)
        proc = run_playbook('symlink_write.yml', '-e', '@' + variables, '--vault-password-file', self.password_file,
                            *args, check=False)
        assert (proc.returncode != 0) == fails, proc.stdout
        return proc.stdout

    def assert_root_only_untouched(self):
        info = os.lstat(self.root_file)
        with open(self.root_file) as handle:
            assert handle.read() == ROOT_ONLY, 'the root-only file was written through a symlink'
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o600), 'its owner or mode changed'
        assert os.listdir(self.root_dir) == ['root.conf'], 'a file was created in the root-only directory'


@pytest.fixture
def site():
    base = shared_dir()
    yield Site(base)
    remove_tree(base)


def env_args(*paths, **extra):
    return ['-e', json.dumps(dict(extra, env_paths=list(paths)))]


def test_env_file_refuses_a_symlink_the_consumer_planted(site):
    link = os.path.join(site.consumer_dir, 'token.env')
    site.plant(site.root_file, link)
    out = site.write(*env_args(link, env_owner=site.user.pw_name), fails=True)
    assert '%s is a symbolic link' % link in out and 'follow' in out, out
    site.assert_root_only_untouched()
    assert os.readlink(link) == site.root_file, 'the link itself is left as it was'


def test_env_file_refuses_a_directory_symlink_the_consumer_planted(site):
    site.plant(site.root_dir, os.path.join(site.consumer_dir, 'app'))
    path = os.path.join(site.consumer_dir, 'app', 'token.env')
    out = site.write(*env_args(path, env_owner=site.user.pw_name), fails=True)
    assert 'symbolic link' in out and os.path.join(site.consumer_dir, 'app') in out and 'follow' in out, out
    site.assert_root_only_untouched()


def test_vault_vars_refuses_a_symlink_in_a_directory_another_user_controls(site):
    link = os.path.join(site.consumer_dir, 'app_token.yml')
    site.plant(site.root_file, link)
    out = site.write('-e', 'vars_path=%s' % link, fails=True)
    assert '%s is a symbolic link' % link in out and 'follow' in out, out
    site.assert_root_only_untouched()


def test_deliver_role_refuses_the_consumers_symlink_and_delivers_nothing_through_it(site, oidc_provider):
    link = os.path.join(site.consumer_dir, 'token.env')
    site.plant(site.root_file, link)
    client = oidc_provider.clients['cc_basic']
    inventory = local_inventory(
        os.path.join(site.base, 'inventory.json'),
        oauth2_profiles=dict(app=dict(token_url=oidc_provider.url + '/token', client_id=client['client_id'],
                                      client_secret=client['client_secret'], scope='api:read',
                                      resource='urn:tokenops:api')),
        oauth2_deliveries=[dict(profile='app', to='env_file', path=link, owner=site.user.pw_name,
                                vars=dict(APP_TOKEN='access_token'))],
        oauth2_rotate_lock=os.path.join(site.base, 'rotate.lock'))
    proc = run_playbook('tokenops.oauth2.rotate', '-i', inventory, check=False,
                        extra_env={'TOKENOPS_OAUTH2_CACHE_DIR': os.path.join(site.base, 'cache')})
    assert proc.returncode != 0, proc.stdout
    assert '%s is a symbolic link, which is not followed' % link in proc.stdout, proc.stdout
    site.assert_root_only_untouched()


def test_follow_writes_the_links_target_atomically_and_keeps_the_link(site):
    # The operator's own link (root's, in root's directory) to a file in the consumer's directory.
    target = os.path.join(site.consumer_dir, 'token.env')
    with open(target, 'w') as handle:
        handle.write('OTHER=kept\n')
    os.chmod(target, 0o640)
    link = os.path.join(site.base, 'token.env')
    os.symlink(target, link)
    out = site.write(*env_args(link), fails=True)
    assert '%s is a symbolic link' % link in out, 'without follow, even the operator\'s own link is refused'
    inode = os.stat(target).st_ino
    site.write(*env_args(link, env_follow=True), fails=False)
    assert os.readlink(link) == target
    with open(target) as handle:
        assert handle.read() == 'OTHER=kept\nAPP_TOKEN=%s-0\n' % TOKEN
    info = os.stat(target)
    assert info.st_ino != inode, 'the target was replaced by a rename, not rewritten in place'
    assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == 0

    vars_target = os.path.join(site.consumer_dir, 'vars.yml')
    vars_link = os.path.join(site.base, 'vars.yml')
    os.symlink(vars_target, vars_link)
    site.write('-e', 'vars_path=%s' % vars_link, '-e', 'vars_follow=true', fails=False)
    assert os.path.islink(vars_link)
    with open(vars_target) as handle:
        assert 'app_token: !vault |' in handle.read()


def test_a_consumer_swapping_links_while_root_writes_never_redirects_a_write(site):
    # The system's python3: the venv's may link to an interpreter under /root, which the consumer cannot reach.
    swapper = as_user(site.user, ['/usr/bin/python3', '-c', SWAPPER, site.consumer_dir, site.root_file, site.root_dir],
                      wait=False)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(site.consumer_dir, 'app')):
            assert swapper.poll() is None and time.monotonic() < deadline, 'the swapper did not start'
            time.sleep(0.01)
        out = site.write(*env_args(os.path.join(site.consumer_dir, 'token.env'),
                                   os.path.join(site.consumer_dir, 'app', 'token.env'),
                                   env_owner=site.user.pw_name, repeat=25), fails=False)
        assert swapper.poll() is None, 'the swapper kept swapping the whole time'
    finally:
        swapper.kill()
        swapper.wait()
    site.assert_root_only_untouched()
    assert 'ok=' in out
