"""Where a development server says it runs: `tequio serve` (outside production) writes its
address and its database, with the database's path made absolute, to one file in the user's
state directory, so that `tequio demo-consult` run from any folder or terminal works on the
server's database and prints the server's own address."""

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


def note_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "tequio" / "running.json"


def absolute_database_url(url: str) -> str:
    """A SQLite URL with a relative path (`sqlite+aiosqlite:///./tequio.db`) made absolute
    against this process's folder; any other URL as it is."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    if parsed.database == ":memory:" or Path(parsed.database).is_absolute():
        return url
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(
        hide_password=False
    )


@dataclass(frozen=True, slots=True)
class RunningServer:
    base_url: str
    database_url: str
    pid: int


def announce(host: str, port: int, database_url: str) -> None:
    """Say that this process serves `host:port` on `database_url`."""
    path = note_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    note = {
        "base_url": f"http://{shown_host}:{port}",
        "database_url": absolute_database_url(database_url),
        "pid": os.getpid(),
    }
    # a PostgreSQL URL may carry a password: the note is the user's alone from its first byte
    written = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps(note))
    os.replace(written, path)


def withdraw() -> None:
    """This process no longer serves (the note is left alone if another server wrote it)."""
    found = running()
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(OSError):
            note_path().unlink()


def running() -> RunningServer | None:
    """The development server that is running now, if one said so and is still alive."""
    try:
        note = json.loads(note_path().read_text())
        found = RunningServer(str(note["base_url"]), str(note["database_url"]), int(note["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return found
