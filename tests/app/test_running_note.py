"""The note `tequio serve` leaves for `tequio demo-consult`: its address and database, which
may carry a PostgreSQL password, readable by the user alone from its first byte."""

import stat
from pathlib import Path

import pytest

from app import running


def test_the_note_is_the_users_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    running.announce("0.0.0.0", 8123, "postgresql+asyncpg://tequio:s3creto@db.internal/tequio")  # noqa: S104
    note = running.note_path()
    assert stat.S_IMODE(note.stat().st_mode) == 0o600
    assert stat.S_IMODE(note.parent.stat().st_mode) == 0o700
    assert [p.name for p in note.parent.iterdir()] == [note.name]  # no stray temporary file
    found = running.running()
    assert found is not None and found.base_url == "http://127.0.0.1:8123"
    running.withdraw()
    assert not note.exists()
