"""Copy what a clean clone holds (tracked and new, not ignored files) to ROOT/ansible_collections/tokenops/oauth2,
where ansible-test wants the collection, and print that path.   usage: scripts/collection_tree.py ROOT"""
import os
import shutil
import subprocess
import sys

os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
tree = os.path.join(sys.argv[1], 'ansible_collections', 'tokenops', 'oauth2')
files = subprocess.run(['git', 'ls-files', '-z', '-co', '--exclude-standard'], capture_output=True, check=True).stdout
for path in filter(None, files.decode().split('\0')):
    if os.path.isfile(path) and not os.path.islink(path):
        os.makedirs(os.path.join(tree, os.path.dirname(path)), exist_ok=True)
        shutil.copy2(path, os.path.join(tree, path))
print(tree)
