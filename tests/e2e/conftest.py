"""Fixtures for the end-to-end suite: the real `stratum` binary on free
loopback ports, boto3 clients, an isolated awscli, unique bucket names.

The binary is never built here: the runner builds it first
(`cargo build --release`). STRATUM_BIN overrides its path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from s3util import (  # noqa: E402
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    REGION,
    empty_and_delete_bucket,
    make_client,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 120
READY_TIMEOUT = 20.0


def stratum_bin() -> str:
    return os.environ.get("STRATUM_BIN") or str(REPO / "target" / "release" / "stratum")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# server processes

_LIVE: list["StratumServer"] = []


class ServerStartError(AssertionError):
    pass


class StratumServer:
    """One `stratum serve` process. ``args`` are the arguments after the
    binary (e.g. ['serve', '--listen', ...]); ``port`` is where it will be
    ready; ``data_dir`` for tests that look at the disk."""

    def __init__(self, args, port, data_dir=None, env=None, log_path=None,
                 access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY, cores=None):
        self.args = list(args)
        self.port = port
        self.data_dir = Path(data_dir) if data_dir else None
        self.env = env
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="stratum-log-")[1])
        self.access_key = access_key
        self.secret_key = secret_key
        self.cores = cores
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # -- lifecycle
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self):
        binary = stratum_bin()
        if not os.path.exists(binary):
            raise ServerStartError(
                f"stratum binary not found at {binary}: build it first (cargo build --release) "
                "or set STRATUM_BIN")
        if self.proc is not None:
            assert self.proc.poll() is not None, "spawn() while the previous process still runs"
            self._wait_port_released()
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("STRATUM_") and k not in ("STRATUM_BIN", "STRATUM_SKIP_BIG"):
                del env[k]
        if self.env:
            env.update(self.env)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts + 1}: {binary} {' '.join(self.args)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen([binary, *self.args], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.data_dir.parent
                                     if self.data_dir else None)
        log.close()
        self.starts += 1
        if self not in _LIVE:
            _LIVE.append(self)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"stratum exited with {self.proc.returncode} before it was ready\n{self.log_tail()}")
            if port_open(self.port):
                return self
            time.sleep(0.05)
        self.kill()
        raise ServerStartError(f"stratum did not accept on port {self.port} within {timeout}s\n{self.log_tail()}")

    def start(self, wait: bool = True):
        self.spawn()
        if wait:
            self.wait_ready()
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Sends ``sig`` and waits; returns the exit code (negative = signal).
        Kills it if it has not exited after ``timeout`` and raises."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"stratum did not exit within {timeout}s of signal {sig}\n{self.log_tail()}") from None
        self._wait_port_released()
        return self.proc.returncode

    def _wait_port_released(self, timeout: float = 10.0):
        """After a kill -9 the kernel keeps the dead process's listening
        sockets (held by its io_uring ring) accepting for some milliseconds;
        a restart must not take that for readiness."""
        deadline = time.monotonic() + timeout
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.01)

    def kill(self) -> int | None:
        return self.stop(signal.SIGKILL, timeout=10)

    def restart(self, sig=signal.SIGTERM, wait: bool = True):
        rc = self.stop(sig)
        self.start(wait=wait)
        return rc

    def client(self, **kw):
        return make_client(self.endpoint, self.access_key, self.secret_key, **kw)

    def admin_run(self, *command) -> subprocess.CompletedProcess:
        """Runs `stratum admin COMMAND...` against this server."""
        return subprocess.run([stratum_bin(), "admin", *command, "--endpoint", self.endpoint,
                               "--access-key", self.access_key, "--secret-key", self.secret_key],
                              capture_output=True, text=True, timeout=300)

    def admin(self, *command) -> dict:
        """`stratum admin COMMAND...`, which must succeed; its JSON answer."""
        r = self.admin_run(*command)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    # -- logs
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_text().splitlines()[-n:]
        return "---- server log (tail) ----\n" + "\n".join(lines)


def serve_args(port, data_dir, cores=2, access_key=None, secret_key=None, extra=()):
    args = ["serve", "--listen", f"127.0.0.1:{port}", "--data", str(data_dir), "--cores", str(cores)]
    if access_key is not None:
        args += ["--access-key", access_key]
    if secret_key is not None:
        args += ["--secret-key", secret_key]
    return args + list(extra)


class ServerFactory:
    """Starts servers for one test; all are killed at the test's end."""

    def __init__(self, base: Path):
        self.base = base
        self.servers: list[StratumServer] = []
        self._n = 0
        self.remove_data = False  # set by tests whose data dirs are huge

    def new_dir(self, name: str = "data") -> Path:
        self._n += 1
        d = self.base / f"{name}{self._n}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def create(self, cores=2, data_dir=None, access_key=None, secret_key=None, extra=(),
               env=None, port=None, args=None) -> StratumServer:
        """Builds (does not start) a server. ``args`` replaces the generated
        command line entirely (then ``port`` must be given if it should be
        waited for)."""
        port = port or free_port()
        data_dir = Path(data_dir) if data_dir else self.new_dir()
        if args is None:
            args = serve_args(port, data_dir, cores, access_key, secret_key, extra)
        srv = StratumServer(args, port, data_dir, env=env,
                            log_path=self.base / f"server-{port}.log",
                            access_key=access_key or DEFAULT_ACCESS_KEY,
                            secret_key=secret_key or DEFAULT_SECRET_KEY, cores=cores)
        self.servers.append(srv)
        return srv

    def start(self, **kw) -> StratumServer:
        return self.create(**kw).start()

    def start_with_config(self, toml_text: str, cores: int = 2) -> tuple[StratumServer, Path]:
        """Starts a server on a fresh data directory with a stratum.toml
        holding ``toml_text``; returns it and its data directory."""
        data_dir = self.new_dir()
        config = data_dir.parent / f"{data_dir.name}.toml"
        config.write_text(toml_text)
        return self.start(cores=cores, data_dir=data_dir, extra=["--config", str(config)]), data_dir

    def cleanup(self):
        for s in self.servers:
            if s.alive():
                try:
                    s.kill()
                except Exception:
                    pass
            if s in _LIVE:
                _LIVE.remove(s)
            if self.remove_data and s.data_dir:
                shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("session-server")
    data = base / "data"
    data.mkdir()
    port = free_port()
    srv = StratumServer(serve_args(port, data, cores=2), port, data, log_path=base / "server.log", cores=2)
    srv.start()
    yield srv
    if srv.alive():
        rc = srv.stop()
        if rc != 0:
            print(f"session server exited with {rc} on SIGTERM", file=sys.stderr)
    if srv in _LIVE:
        _LIVE.remove(srv)


def unanswered(srv, n: int = 12, timeout: float = 5.0) -> int:
    """How many of n fresh connections got no HTTP answer within timeout
    (an unsigned GET /: any status counts as an answer). With SO_REUSEPORT
    the connections spread over the cores, so a dead core shows here."""
    failures = 0
    for _ in range(n):
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
                s.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
                if not s.recv(16).startswith(b"HTTP/1.1 "):
                    failures += 1
        except OSError:
            failures += 1
    return failures


@pytest.fixture
def server(_session_server, request):
    """The shared server (2 cores, default credentials). If an earlier test
    crashed it (or left a core unresponsive), it is restarted on the same data
    dir; the earlier test's teardown reports it."""
    srv = _session_server
    if not srv.alive():
        srv.start()
    start_len = len(srv.log_text())
    yield srv
    if not srv.alive():
        rc = srv.proc.returncode
        tail = srv.log_text()[start_len:][-4000:]
        pytest.fail(f"the shared stratum server died during this test (exit code {rc})\n{tail}",
                    pytrace=False)
    lost = unanswered(srv)
    if lost:
        tail = srv.log_text()[start_len:][-4000:]
        srv.kill()
        pytest.fail(f"after this test the shared server left {lost} of 12 new connections unanswered "
                    f"(a core is stuck or dead); it was killed and will be restarted\n{tail}", pytrace=False)


@pytest.fixture
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture
def server_factory(tmp_path):
    f = ServerFactory(tmp_path)
    yield f
    f.cleanup()


@pytest.fixture(scope="session")
def _session_client(_session_server):
    return _session_server.client()


@pytest.fixture
def s3(server, _session_client):
    return _session_client


@pytest.fixture
def s3_factory():
    return make_client


# --------------------------------------------------------------------------
# buckets


def _unique(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def bucket_name():
    """A fresh, valid, unused bucket name (not created)."""
    return _unique()


@pytest.fixture
def unique_name():
    return _unique


@pytest.fixture
def bucket(s3, bucket_name):
    """A created bucket on the shared server, emptied and deleted afterwards."""
    s3.create_bucket(Bucket=bucket_name)
    yield bucket_name
    empty_and_delete_bucket(s3, bucket_name)


# --------------------------------------------------------------------------
# awscli


class AwsCli:
    def __init__(self, endpoint, access_key, secret_key, home: Path):
        self.endpoint = endpoint
        home.mkdir(parents=True, exist_ok=True)
        config = home / "config"
        config.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
        creds = home / "credentials"
        creds.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=access_key,
            AWS_SECRET_ACCESS_KEY=secret_key,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(creds),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_RETRY_MODE="standard",
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
            HOME=str(home),
        )
        self.env = env

    def __call__(self, *args, check: bool = True, timeout: float = 300, cwd=None):
        cmd = [shutil.which("aws") or "aws", "--endpoint-url", self.endpoint, *map(str, args)]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
        if check and p.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(map(str, args))} exited {p.returncode}\nstdout:\n{p.stdout[-3000:]}\n"
                f"stderr:\n{p.stderr[-3000:]}")
        return p


@pytest.fixture
def aws(server, tmp_path):
    return AwsCli(server.endpoint, server.access_key, server.secret_key, tmp_path / "awshome")


# --------------------------------------------------------------------------
# timeouts, markers, reports


def pytest_configure(config):
    config.addinivalue_line("markers", "big: multi-GiB tests; skipped when STRATUM_SKIP_BIG=1")
    config.addinivalue_line("markers", "timeout(seconds): per-test time bound (pytest-timeout)")


def pytest_collection_modifyitems(config, items):
    skip_big = os.environ.get("STRATUM_SKIP_BIG", "") not in ("", "0")
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))
        if skip_big and item.get_closest_marker("big") is not None:
            item.add_marker(pytest.mark.skip(reason="STRATUM_SKIP_BIG=1"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and call.when == "call":
        for srv in list(_LIVE):
            rep.sections.append((f"stratum log {srv.endpoint}", srv.log_tail(30)))
