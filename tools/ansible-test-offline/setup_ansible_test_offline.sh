#!/usr/bin/env bash
# ansible-test (sanity --local/--venv, units --venv) bootstraps pip in its venvs with a get-pip script
# downloaded from ci-files.testing.ansible.com (unreachable here). Pre-seed its cache with a shim that
# runs pip from a pip wheel fetched from PyPI.  usage: setup_ansible_test_offline.sh [path/to/python-with-ansible-core]
set -euo pipefail
PY=${1:-python3}
PIPVER=$("$PY" - <<'P'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
P
)
C=~/.ansible/test/cache; mkdir -p $C
if [ -f "$C/get_pip_${PIPVER//./_}.py" ] && ls "$C/pip-$PIPVER-"*.whl >/dev/null 2>&1; then
  exit 0  # already seeded for this pip version
fi
"$PY" -m pip download -q "pip==$PIPVER" --no-deps -d $C
cp "$(dirname "$0")/get_pip_shim.py" "$C/get_pip_${PIPVER//./_}.py"
echo "seeded $C/get_pip_${PIPVER//./_}.py (pip $PIPVER)"
