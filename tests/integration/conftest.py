"""Session-scoped fixtures: the real authorization servers from tests/servers, one process each.

Each fixture yields a tests.servers.launch.RunningServer (``.url``, ``.clients``, ``.users``, ``.stats()``).
The node servers need ``npm ci`` at the repository root; without it the fixtures fail and say so.
"""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tests.servers.launch import start  # noqa: E402


def _server(kind, **options):
    try:
        return start(kind, **options)
    except Exception as exc:  # ServerStartError, or a missing node_modules/node
        pytest.fail(f"could not start the {kind} test server: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def oidc_provider():
    with _server("oidc_provider") as server:
        yield server


@pytest.fixture(scope="session")
def oidc_provider_short_ttl():
    """oidc-provider whose access tokens (all grants) live 3 s, for expiry and rotation tests."""
    with _server("oidc_provider", access_token_ttl=3) as server:
        yield server


@pytest.fixture(scope="session")
def oauth2_server():
    with _server("oauth2_server") as server:
        yield server


@pytest.fixture(scope="session")
def authlib_server():
    with _server("authlib") as server:
        yield server


@pytest.fixture(scope="session")
def quirks_server():
    with _server("quirks") as server:
        yield server


@pytest.fixture(autouse=True)
def no_crash_in_any_run():
    """Every ansible run a test starts through ansible_env() (run_playbook, Popen, molecule) records its failed results;
    none may be a crash or show the operator an exception type (failure_check.py)."""
    from ansible_runner_helper import assert_no_crash, recorded_failures
    before = recorded_failures()
    yield
    assert_no_crash(before)
