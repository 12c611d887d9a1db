"""A real `tequio serve` process for the tests that must see the server as it runs in production:
uvicorn's own loggers and handshake, the process's stderr, requests over real sockets."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

TEQUIO = str(Path(sys.executable).parent / "tequio")  # this virtualenv's own
SECRET_KEY = "live-server-test-secret-key-long-enough-for-hs256"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """This process's environment (with the moved clock, if any) without other TEQUIO_ settings,
    plus the database and `settings` (`log_json="true"` becomes TEQUIO_LOG_JSON=true)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TEQUIO_") or key == "TEQUIO_CLOCK_OFFSET_SECONDS"
    }
    own = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "argon2_time_cost": "1",
        "argon2_memory_kib": "1024",
        "demo_data": "false",
        "outbox_dispatch_seconds": "0",  # a test that wants one says so
        # counted, never refused: a test's clients all come from 127.0.0.1 (the rate limits'
        # own tests set tight ones)
        "rate_limit_anonymous": "1000000",
        "rate_limit_member": "1000000",
        "rate_limit_app": "1000000",
        "rate_limit_unverified": "1000000",
        **settings,
    }
    return env | {f"TEQUIO_{key.upper()}": value for key, value in own.items()}


def tequio(env: dict[str, str], *args: str, stdin: str = "") -> str:
    """Run a `tequio` command to completion; its output, or the test fails with it."""
    done = subprocess.run(
        [TEQUIO, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@dataclass
class Server:
    """A running `tequio serve`: its address, its process and the file its stderr goes to."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


@contextlib.contextmanager
def serving(env: dict[str, str], folder: Path) -> Iterator[Server]:
    """`tequio serve` on a free port, ready when yielded, stopped (its whole process group)
    afterwards; stdout and stderr go to `folder`/server.log."""
    port = free_port()
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [TEQUIO, "serve", "--port", str(port)],
            env=env,
            cwd=folder,  # no stray .env file is read
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the server exited:\n" + log_path.read_text()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{server.base}/healthz/ready", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "not ready in 60 s:\n" + log_path.read_text()
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
