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


@pytest.fixture
def intruder():
    """Another user of this machine: a real unprivileged account (tests/integration/local_users.py)."""
    from local_users import local_intruder
    with local_intruder() as user:
        yield user


@pytest.fixture(scope="session")
def quirks_server():
    with _server("quirks") as server:
        yield server


# ---- Redis (the shared token store): tests/servers/redis_launch.py, Debian's redis-server and redis-sentinel ------
def _redis(factory, *args, **options):
    from tests.servers.redis_launch import RedisStartError
    try:
        return factory(*args, **options)
    except (RedisStartError, OSError) as exc:  # not installed: scripts/setup.sh installs it
        pytest.fail(f"could not start Redis (run scripts/setup.sh): {exc}", pytrace=False)


def store_acl_rules():
    """The ACL the collection documents for the store's user: every Redis here grants its user exactly that."""
    from ansible_collections.tokenops.oauth2.plugins.plugin_utils.redis_store import acl_rules
    return acl_rules()


@pytest.fixture(scope="session")
def redis_server():
    """A Redis with requirepass, the store's ACL user, and RDB persistence in its temp dir (``dump_path``)."""
    from tests.servers.redis_launch import start_redis
    with _redis(start_redis, store_acl_rules(), persistence=True) as server:
        yield server


@pytest.fixture
def redis_own():
    """A Redis of the test's own, to stop, restart, kill or fill."""
    from tests.servers.redis_launch import start_redis
    with _redis(start_redis, store_acl_rules(), persistence=True) as server:
        yield server


@pytest.fixture(scope="session")
def redis_pki(tmp_path_factory):
    from tests.servers.redis_launch import make_pki
    return make_pki(str(tmp_path_factory.mktemp("redis-pki")))


@pytest.fixture(scope="session")
def redis_tls(redis_pki):
    """A Redis that speaks TLS only (rediss://) and wants a client certificate from the test CA."""
    from tests.servers.redis_launch import start_redis
    with _redis(start_redis, store_acl_rules(), tls=redis_pki) as server:
        yield server


@pytest.fixture(scope="session")
def redis_unix():
    """A Redis on a unix socket only (0700 directory, 0700 socket), no TCP port."""
    from tests.servers.redis_launch import start_redis
    with _redis(start_redis, store_acl_rules(), unix=True) as server:
        yield server


@pytest.fixture
def redis_sentinel():
    """A primary, a replica and three Sentinels (quorum 2); ``redis_sentinel.primary.kill()`` starts a failover."""
    from tests.servers.redis_launch import start_sentinel_group
    with _redis(start_sentinel_group, store_acl_rules()) as group:
        yield group


@pytest.fixture(autouse=True)
def no_crash_in_any_run():
    """Every ansible run a test starts through ansible_env() (run_playbook, Popen, molecule) records its failed results;
    none may be a crash or show the operator an exception type (failure_check.py)."""
    from ansible_runner_helper import assert_no_crash, recorded_failures
    before = recorded_failures()
    yield
    assert_no_crash(before)
