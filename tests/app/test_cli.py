"""The `tequio` command: migrate, demo (once, and never in production), create-admin."""

import asyncio
import csv
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cooperative.kernel import clock
from tests.conftest import BACKENDS

TEQUIO = str(Path(sys.executable).parent / "tequio")


def _run(
    tmp_path: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "TEQUIO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "TEQUIO_ARGON2_MEMORY_KIB": "1024",
        "TEQUIO_ARGON2_TIME_COST": "1",
        "XDG_STATE_HOME": str(tmp_path / "state"),  # no other test's running server
        **env,
    }
    return subprocess.run(
        [TEQUIO, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_migrate_demo_and_create_admin(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0

    first = _run(tmp_path, "demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "tequio-demo-2026" in first.stdout
    logins = ("admin@demo.tequio.coop", "tesoreria@demo.tequio.coop", "+529511000002")
    for login in (*logins, "+529511000001"):
        assert login in first.stdout
    assert "clinic_staff" in first.stdout and "treasurer" in first.stdout
    with sqlite3.connect(tmp_path / "cli.db") as db:  # an open vote the demo owners can cast
        status, eligible = db.execute("SELECT status, eligible FROM proposal").fetchone()
        # Rosa's dues, confirmed by the treasurer; Juan's remittance waits in the queue
        payments = db.execute(
            "SELECT p.status, p.confirmed_by IS NOT NULL, i.paid_minor = i.amount_minor "
            "FROM payment p LEFT JOIN payment_allocation a ON a.payment_id = p.id "
            "LEFT JOIN invoice i ON i.id = a.invoice_id ORDER BY p.status"
        ).fetchall()
        # Rosa's referrals from the clinic to Dra. Ana López: one seen in a consult a week ago
        # and completed with its counter-referral, one answered in writing
        referrals = db.execute(
            "SELECT r.state, r.specialty, r.answer, r.counter_referral, p.display_name "
            "FROM referral r JOIN practitioner p ON p.id = r.practitioner_id "
            "ORDER BY r.created_at"
        ).fetchall()
        # that consult, with Dra. Ana López's signed note and her prescription
        notes = db.execute(
            "SELECT n.kind, n.signer_name, n.digest IS NOT NULL, a.status, a.clinic_id IS NOT NULL "
            "FROM clinical_note n JOIN appointment a ON a.id = n.appointment_id"
        ).fetchall()
        prescribed = db.execute(
            "SELECT p.lines, p.revoked_at FROM prescription p "
            "JOIN clinical_note n ON n.appointment_id = p.appointment_id"
        ).fetchall()
    assert notes == [("interconsultation", "Dra. Ana López", 1, "fulfilled", 1)]
    [(lines, revoked)] = prescribed
    assert [line["generic_name"] for line in json.loads(lines)] == ["Losartán"]
    assert revoked is None
    assert payments == [("confirmed", 1, 1), ("reported", 0, None)]
    seen, written = referrals
    assert seen[0::4] == ("completed", "Dra. Ana López")
    assert json.loads(seen[3])["note"]["signature"]["name"] == "Dra. Ana López"
    assert (written[0], written[1], written[4]) == ("answered", "cardiology", "Dra. Ana López")
    assert "No requiere tratamiento" in json.loads(written[2])["plan"]
    assert status == "open"
    assert json.loads(eligible) == {"doctor": 3, "patient": 3}

    second = _run(tmp_path, "demo", "--if-empty")
    assert second.returncode == 0
    assert "nothing seeded" in second.stdout

    weak = _run(
        tmp_path, "create-admin", "--email", "ops@example.org", "--password-stdin", stdin="123\n"
    )
    assert weak.returncode == 2
    made = _run(
        tmp_path,
        "create-admin",
        "--email",
        "ops@example.org",
        "--password-stdin",
        stdin="una contraseña larga y rara\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created the account" in made.stdout and "granted admin" in made.stdout

    nurse = "+529511000001"  # the demo's nurse, staff of its clinic
    with sqlite3.connect(tmp_path / "cli.db") as db:
        (clinic,) = db.execute("SELECT id FROM clinic").fetchone()
    clinic_id = str(uuid.UUID(clinic))
    board = _run(tmp_path, "roles", "grant", nurse, "board", "--reason", "electa en asamblea")
    assert board.returncode == 0, board.stderr
    left = _run(
        tmp_path,
        "roles",
        "revoke",
        nurse,
        "clinic_staff",
        "--clinic",
        clinic_id,
        "--reason",
        "se jubiló",
    )
    assert left.returncode == 0, left.stderr
    listed = _run(tmp_path, "roles", "list", nurse)
    assert listed.stdout.splitlines()[0] == "Juana Pérez: board, patient"
    history = listed.stdout.splitlines()[1:]
    assert [line.strip().split(" ", 2)[2] for line in history] == [
        f"granted clinic_staff at clinic {clinic_id}: nurse at the clinic",
        "granted board: electa en asamblea",
        f"revoked clinic_staff at clinic {clinic_id}: se jubiló",
    ]
    twice = _run(tmp_path, "roles", "grant", nurse, "board", "--reason", "otra vez")
    assert twice.returncode == 2 and "already holds" in twice.stderr
    # clinic_staff is taken away at one clinic, and no other role names one
    unbound = _run(tmp_path, "roles", "revoke", "+529511000002", "clinic_staff", "--reason", "x y")
    assert unbound.returncode == 2 and "clinic" in unbound.stderr
    stray = _run(
        tmp_path, "roles", "grant", nurse, "doctor", "--clinic", clinic_id, "--reason", "x y z"
    )
    assert stray.returncode == 2 and "clinic" in stray.stderr
    nobody = _run(tmp_path, "roles", "grant", "+529519999999", "board", "--reason", "x y z")
    assert nobody.returncode == 2 and "no account" in nobody.stderr


@pytest.mark.slow
def test_demo_is_refused_in_production(tmp_path: Path) -> None:
    refused = _run(
        tmp_path,
        "demo",
        TEQUIO_ENVIRONMENT="production",
        TEQUIO_SECRET_KEY="s" * 48,
        TEQUIO_BALLOT_SECRET="b" * 48,
        TEQUIO_CLOCK_OFFSET_SECONDS="0",  # a run moved in time: production refuses a moved clock
    )
    assert refused.returncode == 2
    assert "refusing to seed demo logins in production" in refused.stderr


@pytest.mark.slow
def test_production_refuses_to_start_with_the_development_secret(tmp_path: Path) -> None:
    refused = _run(tmp_path, "migrate", TEQUIO_ENVIRONMENT="production")
    assert refused.returncode == 2
    assert "TEQUIO_SECRET_KEY" in refused.stderr


@pytest.mark.slow
def test_bylaws_install_once_from_a_file(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0
    broken = tmp_path / "broken.toml"
    broken.write_text('title = "x"\n')
    refused = _run(tmp_path, "bylaws", "install", "--file", str(broken))
    assert refused.returncode == 2
    installed = _run(tmp_path, "bylaws", "install")
    assert installed.returncode == 0, installed.stderr
    assert "version 1 installed" in installed.stdout
    again = _run(tmp_path, "bylaws", "install")
    assert again.returncode == 2


@pytest.mark.slow
def test_demo_consult_books_a_consult_whose_room_is_open(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0
    early = _run(tmp_path, "demo-consult")
    assert early.returncode == 2 and "tequio demo" in early.stderr
    assert _run(tmp_path, "demo").returncode == 0
    made = _run(tmp_path, "demo-consult", "--minutes", "3")
    assert made.returncode == 0, made.stderr
    [page] = {w for w in made.stdout.split() if "/consult/" in w}
    appointment_id = page.rsplit("/", 1)[1]
    with sqlite3.connect(tmp_path / "cli.db") as db:
        start, status = db.execute(
            "SELECT start, status FROM appointment WHERE id = ?", (uuid.UUID(appointment_id).hex,)
        ).fetchone()
    starts_in = datetime.fromisoformat(start).replace(tzinfo=UTC) - clock.now()
    assert status == "booked" and timedelta(minutes=2) < starts_in <= timedelta(minutes=3)


@pytest.mark.slow
def test_slots_rebuild_lays_out_a_window_written_by_hand(tmp_path: Path) -> None:
    """The demo's doctors have open slots; a weekly window inserted by hand offers nothing
    until `tequio slots rebuild` lays the doctors out again."""
    assert _run(tmp_path, "migrate").returncode == 0
    assert _run(tmp_path, "demo").returncode == 0
    db_path = tmp_path / "cli.db"
    with sqlite3.connect(db_path) as db:
        [(doctor, before)] = db.execute(
            "SELECT p.id, count(s.start) FROM practitioner p LEFT JOIN open_slot s "
            "ON s.practitioner_id = p.id WHERE p.display_name = 'Dra. Ana López' GROUP BY p.id"
        ).fetchall()
        assert before > 0
        db.executemany(  # the evenings, every day of the week
            'INSERT INTO availability_window (id, practitioner_id, weekday, start, "end") '
            "VALUES (?, ?, ?, '20:00:00.000000', '21:00:00.000000')",
            [(uuid.uuid4().hex, doctor, weekday) for weekday in range(7)],
        )
    rebuilt = _run(tmp_path, "slots", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "laid out again for 3 practitioners" in rebuilt.stdout  # the demo's doctors
    with sqlite3.connect(db_path) as db:
        [(after,)] = db.execute(
            "SELECT count(*) FROM open_slot WHERE practitioner_id = ?", (doctor,)
        ).fetchall()
    assert after > before


@pytest.mark.slow
def test_surplus_compute_and_export_from_the_command_line(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0
    assert _run(tmp_path, "demo", "--if-empty").returncode == 0
    year = str(clock.today().year)
    with sqlite3.connect(tmp_path / "cli.db") as db:  # a year of patronage for two members
        members = db.execute(
            "SELECT min(id), member_class FROM member GROUP BY member_class"
        ).fetchall()
        for member_id, member_class in members:
            db.execute(
                "INSERT INTO patronage_record (id, member_id, fiscal_year, kind, amount, unit,"
                " source, created_at) VALUES (?, ?, ?, 'dues', ?, ?, ?, ?)",
                (
                    uuid.uuid4().hex,
                    member_id,
                    year,
                    25_000 if member_class == "patient" else 600,
                    "MXN" if member_class == "patient" else "minutes",
                    f"test:{member_id}",
                    f"{year}-06-01 00:00:00",
                ),
            )
    bad = _run(tmp_path, "surplus", "compute", "--year", year, "--surplus", "1", "--rate", "x")
    assert bad.returncode == 2
    computed = _run(tmp_path, "surplus", "compute", "--year", year, "--surplus", "1000000")
    assert computed.returncode == 0, computed.stderr
    assert "member lines [" in computed.stderr  # the progress bar
    run_id = computed.stdout.split()[1].rstrip(":")
    out = tmp_path / "run.csv"
    exported = _run(tmp_path, "surplus", "export", "--run", run_id, "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # the two members above, beside the demo's own confirmed dues (Rosa's household)
    assert {uuid.UUID(m).hex for m, _ in members} <= {uuid.UUID(r["member_id"]).hex for r in rows}
    assert sum(int(r["share_minor"]) for r in rows) == 950_000  # after education and welfare
    missing = _run(tmp_path, "surplus", "export", "--run", str(uuid.uuid4()))
    assert missing.returncode == 2


@pytest.mark.slow
@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")
async def test_the_demo_seeds_on_postgresql_too(
    tmp_path: Path, empty_database_url: Callable[[str], Any]
) -> None:
    """`make run` against PostgreSQL: the demo once crashed printing a balance that PostgreSQL
    summed as a Decimal."""
    url = await empty_database_url("postgresql")
    assert _run(tmp_path, "migrate", TEQUIO_DATABASE_URL=url).returncode == 0
    seeded = await asyncio.to_thread(_run, tmp_path, "demo", TEQUIO_DATABASE_URL=url)
    assert seeded.returncode == 0, seeded.stderr
    assert "tequio-demo-2026" in seeded.stdout
