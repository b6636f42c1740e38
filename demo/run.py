#!/usr/bin/env python
"""Run the demo: start a real local authorization server (npm oidc-provider), write the client secrets into a
vault-encrypted vars file, and run demo/demo.yml against it.

usage: python demo/run.py [--collections-path DIR]   (default: this checkout, linked into a temporary tree)
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
sys.path.insert(0, REPO_ROOT)

from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: E402

from tests.servers.launch import start  # noqa: E402


def checkout_as_collection(workdir):
    tree = os.path.join(workdir, 'collections')
    os.makedirs(os.path.join(tree, 'ansible_collections', 'tokenops'))
    os.symlink(REPO_ROOT, os.path.join(tree, 'ansible_collections', 'tokenops', 'oauth2'))
    return tree


def write_vaulted_secrets(workdir, server):
    password_file = os.path.join(workdir, 'vault-password')
    password = os.urandom(16).hex()
    with open(password_file, 'w') as handle:
        handle.write(password)
    plain = 'vault_demo_basic_secret: %s\nvault_demo_post_secret: %s\n' % (
        server.clients['cc_basic']['client_secret'], server.clients['cc_post']['client_secret'])
    vault = VaultLib([('default', VaultSecret(password.encode()))])
    secrets_file = os.path.join(workdir, 'vault.yml')
    with open(secrets_file, 'wb') as handle:
        handle.write(vault.encrypt(plain))
    return password_file, secrets_file


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--collections-path', help='run against an installed collection instead of the checkout')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='tokenops-demo-') as workdir, start('oidc_provider') as server:
        password_file, secrets_file = write_vaulted_secrets(workdir, server)
        env = dict(os.environ,
                   ANSIBLE_COLLECTIONS_PATH=args.collections_path or checkout_as_collection(workdir),
                   TOKENOPS_OAUTH2_CACHE_DIR=os.path.join(workdir, 'cache'),
                   ANSIBLE_FORCE_COLOR=os.environ.get('ANSIBLE_FORCE_COLOR', '0'))
        print('authorization server (npm oidc-provider) listening on %s' % server.url, flush=True)
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                   '-i', os.path.join(HERE, 'inventory'), '--vault-password-file', password_file,
                   '-e', '@' + secrets_file, '-e', 'demo_issuer=' + server.url,
                   os.path.join(HERE, 'demo.yml')]
        return subprocess.call(command, env=env, cwd=HERE)


if __name__ == '__main__':
    sys.exit(main())
