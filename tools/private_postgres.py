"""A private PostgreSQL cluster for the tests and benchmarks that take the database away.

Stopping or restarting a database is only ever done to a cluster of our own: `initdb` into a
temporary folder, its own free port on 127.0.0.1 (and its socket in that folder), started and
stopped with `pg_ctl`, removed afterwards. The shared server on 127.0.0.1:5432 is never touched.

The binaries are found in `TEQUIO_PG_BIN`, else the newest /usr/lib/postgresql/*/bin (Debian,
Ubuntu), else on the PATH. PostgreSQL refuses to run as root: as root, the commands run as the
`postgres` user, who is given the folder.
"""

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "tequio"
DATABASE = "tequio"


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    explicit = os.environ.get("TEQUIO_PG_BIN")
    if explicit:
        return Path(explicit)

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name))

    installed = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if installed:
        return max(installed, key=version)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A running private cluster: where it lives, its port, and the commands that change it."""

    bin: Path
    folder: Path
    port: int
    runs_as: str | None = None  # the user the commands run as, when we are root
    history: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "postgres.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> str:
        self.history.append(" ".join(args))
        done = subprocess.run(  # noqa: S603  (PostgreSQL's own tools, from `binaries()`)
            [str(self.bin / args[0]), *args[1:]],
            user=self.runs_as,
            group=self.runs_as and pwd.getpwnam(self.runs_as).pw_gid,
            extra_groups=[] if self.runs_as else None,  # none of root's groups
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = (
                self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            )
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}\n{tail}")
        return done.stdout

    def _options(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c max_connections=100 "
            "-c shared_buffers=32MB"
        )

    def start(self) -> None:
        """Start, and return once it accepts connections."""
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.log_path), "-o", self._options(),
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop (`fast`: sessions are ended, as for a planned shutdown; `immediate`: a crash)."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def restart(self, mode: str = "fast") -> None:
        self._run(
            "pg_ctl", "restart", "-w", "-t", "60", "-m", mode, "-D", str(self.data),
            "-l", str(self.log_path), "-o", self._options(),
        )  # fmt: skip

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "status", "-D", str(self.data))
        except RuntimeError:
            return False
        return True

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql,
        )  # fmt: skip


def _owner() -> str | None:
    """Whom the commands run as: ourselves, or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root and there is no `postgres` user to run as") from exc
    return "postgres"


@contextlib.contextmanager
def private_cluster(bin_dir: Path | None = None) -> Iterator[Cluster]:
    """A new cluster with trust authentication for `tequio` on 127.0.0.1 and an empty database
    `tequio`, started when yielded; stopped (immediately) and removed afterwards."""
    found = bin_dir or binaries()
    if found is None:
        raise RuntimeError("PostgreSQL's binaries are not installed (initdb, pg_ctl)")
    runs_as = _owner()
    folder = Path(tempfile.mkdtemp(prefix="tequio-pg-"))
    if runs_as:
        entry = pwd.getpwnam(runs_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(found, folder, free_port(), runs_as)
    try:
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        cluster.start()
        cluster.psql(f'CREATE DATABASE "{DATABASE}"')
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            if cluster.running():
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
