"""Start the test authorization servers (tests/servers/*) as child processes on 127.0.0.1.

    from tests.servers.launch import start
    with start("oidc_provider", access_token_ttl=3) as server:
        server.url, server.clients["cc_basic"]["client_id"], server.stats()

Kinds: ``oidc_provider`` and ``oauth2_server`` (node; need ``npm ci`` at the repo root), ``authlib`` and
``quirks`` (this Python). Keyword options are passed to the server as its CONFIG_JSON argument.
``quirks`` serves HTTPS when given ``tls_cert`` and ``tls_key`` (PEM paths); pass ``tls_ca`` (the CA file that
signed the certificate) too, so that the launcher's own requests (``/_clients``, ``stats()``) verify it.
Each server binds port 0 and reports the port the OS gave it (``READY <port>``), so there is no
race between choosing a free port and binding it.
"""

import atexit
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

SERVERS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(SERVERS_DIR))
NODE_MODULES = os.path.join(REPO_ROOT, "node_modules")

KINDS = {
    "oidc_provider": ("node", "oidc_provider.mjs"),
    "oauth2_server": ("node", "oauth2_server.mjs"),
    "authlib": ("python", "authlib_server.py"),
    "quirks": ("python", "provider_quirks.py"),
}

_RUNNING = set()


class ServerStartError(RuntimeError):
    pass


class RunningServer:
    """A started server: ``url``, ``pid``, ``kind``, ``clients``, ``users``, ``info`` (its GET /_clients)."""

    def __init__(self, kind, process, port, log_path, tls_ca=None):
        self.kind = kind
        self.process = process
        self.pid = process.pid
        self.port = port
        self.url = f"{'https' if tls_ca else 'http'}://127.0.0.1:{port}"
        self.verify = tls_ca or True  # what requests should verify this server's certificate with
        self._log_path = log_path
        self.info, self.clients, self.users = {}, {}, {}

    def load_info(self):
        self.info = requests.get(self.url + "/_clients", timeout=5, verify=self.verify).json()
        self.clients = self.info.get("clients", {})
        self.users = self.info.get("users", {})

    def stats(self):
        return requests.get(self.url + "/_stats", timeout=5, verify=self.verify).json()

    def reset_stats(self):
        return requests.post(self.url + "/_stats/reset", timeout=5, verify=self.verify).json()

    def stderr(self):
        with open(self._log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        _RUNNING.discard(self)
        for path in (self._log_path, self._log_path[: -len(".err")] + ".out"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<RunningServer {self.kind} {self.url} pid={self.pid}>"


def _command(kind, port, options):
    try:
        runtime, script = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown server kind {kind!r}; known: {', '.join(KINDS)}") from None
    path = os.path.join(SERVERS_DIR, script)
    config = json.dumps(options)
    if runtime == "python":
        return [sys.executable, path, str(port), config]
    node = shutil.which("node")
    if not node:
        raise ServerStartError(f"{kind} needs Node.js (node) on PATH")
    if not os.path.isdir(NODE_MODULES):
        raise ServerStartError(f"{kind} needs the npm packages: run `npm ci` in {REPO_ROOT}")
    return [node, path, str(port), config]


def start(kind, timeout=15, port=0, **options):
    """Start a server of ``kind`` and wait until it is listening. Returns a RunningServer.

    ``port=0`` lets the OS choose a free port; ``options`` become the server's JSON config. With ``tls_cert``
    (quirks only) the server speaks HTTPS and ``tls_ca`` is required: ``server.url`` is then ``https://...``.
    """
    if options.get("tls_cert") and (kind != "quirks" or not options.get("tls_ca")):
        raise ValueError("tls_cert is supported by the quirks server only, and needs tls_ca (the signing CA file)")
    cmd = _command(kind, port, options)
    fd, base = tempfile.mkstemp(prefix=f"oauth-{kind}-")
    os.close(fd)
    os.unlink(base)
    out_path, err_path = base + ".out", base + ".err"
    env = dict(os.environ, AUTHLIB_INSECURE_TRANSPORT="1", TEST_SERVER_PARENT_PID=str(os.getpid()))
    # Files, not pipes: nothing can block on a full pipe, and stderr is there for error messages.
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   cwd=REPO_ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    ready_port = None
    while ready_port is None:
        with open(out_path, encoding="utf-8", errors="replace") as f:
            match = re.search(r"^READY (\d+)$", f.read(), re.M)
        if match:
            ready_port = int(match.group(1))
        elif process.poll() is not None or time.monotonic() > deadline:
            why = "timed out" if process.poll() is None else f"exited with {process.returncode}"
            if process.poll() is None:
                process.kill()
                process.wait()
            with open(err_path, encoding="utf-8", errors="replace") as f:
                stderr = f.read()
            for path in (out_path, err_path):
                os.unlink(path)
            raise ServerStartError(f"{kind} server {why} before READY: {' '.join(cmd)}\n--- stderr ---\n{stderr}")
        else:
            time.sleep(0.02)
    server = RunningServer(kind, process, ready_port, err_path, tls_ca=options.get("tls_ca") if options.get("tls_cert") else None)
    _RUNNING.add(server)
    try:
        server.load_info()
    except Exception:
        server.stop()
        raise
    return server


@atexit.register
def _stop_all():
    for server in list(_RUNNING):
        server.stop()


# ---- helpers for the browser part of the authorization code flow -------------------------------
def pkce_pair():
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def obtain_authorization_code(server, client, redirect_uri=None, scope="openid", code_challenge=None,
                              state="tokenops-state", username="alice", code_challenge_method="S256"):
    """Drive the authorization endpoint like a user would and return the ``code`` from the redirect.

    ``client`` is an entry of ``server.clients`` (or a client_id). For oidc_provider this logs in and
    consents through devInteractions; for quirks it uses the LockitNetwork authorize endpoint, which
    auto-approves. The final redirect is not followed; its ``state`` is checked.
    """
    client_id = client["client_id"] if isinstance(client, dict) else client
    if redirect_uri is None:
        redirect_uri = client["redirect_uris"][0] if isinstance(client, dict) else server.info["redirect_uri"]
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
    if scope:
        params["scope"] = scope
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method=code_challenge_method)
    if server.kind == "quirks":
        authorize_url = server.url + server.info["endpoints"]["lockit_authorize"]
    elif server.kind == "oidc_provider":
        authorize_url = server.url + "/auth"
        if "offline_access" in (scope or "").split():
            params["prompt"] = "consent"  # oidc-provider drops offline_access without it
    else:
        raise ValueError(f"no authorization endpoint on {server.kind}")

    session = requests.Session()
    response = session.get(authorize_url, params=params, allow_redirects=False, timeout=10)
    result = _walk_interactions(session, response, username, lambda loc: loc.startswith(redirect_uri))
    if not isinstance(result, str):
        raise AssertionError(f"authorization stopped at HTTP {result.status_code}: {result.text[:500]}")
    query = parse_qs(urlsplit(result).query)
    if "error" in query:
        raise AssertionError(f"authorization failed: {query}")
    if query.get("state") != [state]:
        raise AssertionError(f"state mismatch in {result}")
    return query["code"][0]


def approve_device_code(server, user_code, username="alice"):
    """Enter ``user_code`` at oidc-provider's /device page, log in and consent, as the user would.

    Afterwards the device's polling of the token endpoint succeeds.
    """
    session = requests.Session()
    page = session.get(server.url + "/device", timeout=10)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    response = session.post(server.url + "/device", allow_redirects=False, timeout=10,
                            data={"xsrf": xsrf, "user_code": user_code, "confirm": "yes"})
    final = _walk_interactions(session, response, username, lambda loc: False)
    if isinstance(final, str) or "Sign-in Success" not in final.text:
        raise AssertionError(f"device approval did not succeed: {getattr(final, 'text', final)[:500]}")


def _walk_interactions(session, response, username, is_done):
    """Follow redirects and submit devInteractions login/consent forms.

    Returns the first redirect location for which ``is_done`` is true, or the first page that is not
    a login/consent form.
    """
    for _step in range(12):
        location = response.headers.get("Location")
        if response.status_code in (301, 302, 303) and location:
            location = urljoin(response.url, location)
            if is_done(location):
                return location
            response = session.get(location, allow_redirects=False, timeout=10)
            continue
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        if not prompt:
            return response
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1)
        form = {"prompt": prompt.group(1)}
        if form["prompt"] == "login":
            form.update(login=username, password="any-password")  # devInteractions accepts any password
        response = session.post(urljoin(response.url, action), data=form, allow_redirects=False, timeout=10)
    raise AssertionError("too many steps in the authorization flow")
