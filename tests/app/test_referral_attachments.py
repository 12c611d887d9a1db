"""Attachments of a referral (issue 15): the clinic sends Rosa's lab results with her referral,
the specialist who accepts it reads them and adds their own, Rosa adds hers; the specialists
still deciding see nothing of them (a lab result names the patient); a stranger gets 404; the
database keeps each attachment to exactly one owner; every read is in Rosa's access log; an
admin reads one only with a documented reason. Admins' reads of prescriptions are in
`test_prescriptions.py`."""

import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.settings import Settings
from telehealth.attachments.models import Attachment
from tests.app.test_referrals import act, make_loop, refer
from tests.attachment_support import ELF, pdf, photo_from_a_phone
from tests.conftest import Database, _client, make_settings
from tests.factories import bearer, signed_up

pytestmark = pytest.mark.usefixtures("bylaws_installed")
Tokens = dict[str, Any]


@pytest.fixture
async def loop(
    client: httpx.AsyncClient,
    admin: Tokens,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    made = await make_loop(client, admin, sessionmaker, settings)
    _, stranger = await signed_up(client, display_name="Pedro Luna")
    return {**made, "admin": admin, "stranger": stranger}


def _tokens(loop: dict[str, Any], who: str) -> Tokens:
    found: Tokens = loop[who]["tokens"] if who in ("ana", "beto", "pedi") else loop[who]
    return found


async def upload(
    client: httpx.AsyncClient,
    referral: dict[str, Any],
    tokens: Tokens,
    data: bytes | None = None,
    name: str = "biometría de Rosa.pdf",
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"/v1/referrals/{referral['id']}/attachments",
        files={"file": (name, pdf() if data is None else data, "application/octet-stream")},
        data=form,
        headers=bearer(tokens),
    )


async def uploaded(
    client: httpx.AsyncClient, referral: dict[str, Any], tokens: Tokens, **form: Any
) -> dict[str, Any]:
    response = await upload(client, referral, tokens, **form)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(
    client: httpx.AsyncClient, referral: dict[str, Any], tokens: Tokens
) -> httpx.Response:
    return await client.get(f"/v1/referrals/{referral['id']}/attachments", headers=bearer(tokens))


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_the_clinic_the_accepting_specialist_and_the_patient_add_and_see_the_files(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)  # created without files; they follow at once
    lab = await uploaded(client, referral, loop["nurse"], kind="lab_result", title="HbA1c")
    assert (lab["referral_id"], lab["appointment_id"]) == (referral["id"], None)
    assert lab["uploader_role"] == "clinic" and lab["file_name"] == "biometría de Rosa.pdf"
    accepted = await act(client, referral, "accept", loop["ana"]["tokens"])
    assert accepted.status_code == 200, accepted.text
    letter = await uploaded(client, referral, loop["ana"]["tokens"], name="indicaciones.pdf")
    photo = await uploaded(
        client, referral, loop["rosa_t"], data=photo_from_a_phone(), name="pie.jpg", kind="photo"
    )
    assert (letter["uploader_role"], photo["uploader_role"]) == ("doctor", "patient")
    for who in ("nurse", "ana", "rosa_t"):
        tokens = _tokens(loop, who)
        shown = await listed(client, referral, tokens)
        assert shown.status_code == 200, shown.text
        assert [a["id"] for a in shown.json()["items"]] == [lab["id"], letter["id"], photo["id"]]
        one = await client.get(f"/v1/attachments/{lab['id']}", headers=bearer(tokens))
        assert one.status_code == 200 and one.json()["title"] == "HbA1c"
        link = await client.get(f"/v1/attachments/{lab['id']}/link", headers=bearer(tokens))
        downloaded = await client.get(_local(link.json()["url"]))
        assert downloaded.status_code == 200 and downloaded.content == pdf()


@pytest.mark.parametrize("who", ["ana", "beto", "pedi", "other_nurse", "stranger", "admin"])
async def test_before_acceptance_only_the_clinic_and_the_patient_see_the_files(
    client: httpx.AsyncClient, loop: dict[str, Any], who: str
) -> None:
    """While the referral waits, the endocrinologists deciding on it see its clinical content
    but not its files (a lab result names the patient): 404, as for a stranger or an admin
    without a reason. No answer holds the file's id or name, nor Rosa's."""
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"])
    tokens = _tokens(loop, who)
    answers = [
        await listed(client, referral, tokens),
        await client.get(f"/v1/attachments/{lab['id']}", headers=bearer(tokens)),
        await client.get(f"/v1/attachments/{lab['id']}/link", headers=bearer(tokens)),
        await upload(client, referral, tokens),
        await client.delete(f"/v1/attachments/{lab['id']}", headers=bearer(tokens)),
    ]
    for answer in answers:
        assert answer.status_code == 404, (answer.request.url, answer.text)
        body = answer.text.replace(str(answer.request.url.path), "")
        for secret in (lab["id"], "biometr", loop["rosa"]["id"], "Rosa"):
            assert secret not in body, (secret, answer.text)
    mine = await listed(client, referral, loop["rosa_t"])
    assert [a["id"] for a in mine.json()["items"]] == [lab["id"]]


async def test_a_specialist_who_declined_sees_the_files_no_more_and_a_closed_referral_takes_none(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"])
    await act(client, referral, "accept", loop["ana"]["tokens"])
    ana = bearer(loop["ana"]["tokens"])
    assert (await client.get(f"/v1/attachments/{lab['id']}", headers=ana)).status_code == 200
    declined = await act(
        client, referral, "decline", loop["ana"]["tokens"], reason="Fuera de mi área"
    )
    assert declined.status_code == 200, declined.text
    assert (await client.get(f"/v1/attachments/{lab['id']}", headers=ana)).status_code == 404
    closed = await upload(client, referral, loop["nurse"])
    assert closed.status_code == 409
    assert closed.json()["type"].endswith("/referral-closed-to-files")
    spanish = await client.post(
        f"/v1/referrals/{referral['id']}/attachments",
        files={"file": ("x.pdf", pdf(), "application/pdf")},
        headers={**bearer(loop["nurse"]), "Accept-Language": "es"},
    )
    assert "rechazada o retirada" in spanish.json()["detail"]
    still = await listed(client, referral, loop["nurse"])  # the clinic keeps what it sent
    assert [a["id"] for a in still.json()["items"]] == [lab["id"]]


async def test_a_withdrawn_referral_takes_its_files_from_the_specialist_too(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    await act(client, referral, "accept", loop["ana"]["tokens"])
    lab = await uploaded(client, referral, loop["nurse"])
    ana = bearer(loop["ana"]["tokens"])
    assert (await client.get(f"/v1/attachments/{lab['id']}", headers=ana)).status_code == 200
    assert (await act(client, referral, "withdraw", loop["nurse"])).status_code == 200
    assert (await client.get(f"/v1/attachments/{lab['id']}", headers=ana)).status_code == 404
    assert (await listed(client, referral, loop["ana"]["tokens"])).status_code == 404
    assert (await listed(client, referral, loop["rosa_t"])).status_code == 200  # still hers


async def test_a_referrals_upload_takes_the_attachment_limit_not_the_smaller_body_limit(
    database: Database,
    sessionmaker: async_sessionmaker[AsyncSession],
    loop: dict[str, Any],
    client: httpx.AsyncClient,
) -> None:
    referral = await refer(client, loop)
    limit = 2 * 1024 * 1024  # over the 1 MiB other requests may send
    settings = make_settings(database.url, attachment_max_bytes=limit)
    app = create_app(settings, engine=database.engine, sessionmaker=sessionmaker)
    async with _client(app) as http:
        taken = await upload(http, referral, loop["nurse"], pdf(limit), "grande.pdf")
        assert taken.status_code == 201, taken.text
        over = await upload(http, referral, loop["nurse"], pdf(limit + 1), "grande.pdf")
        assert over.status_code == 413
        assert over.json()["type"].endswith("/attachment-too-large")
        elf = await upload(http, referral, loop["nurse"], ELF, "r.pdf")
        assert elf.status_code == 415


async def test_the_uploader_withdraws_their_file_and_it_leaves_the_list(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"])
    await act(client, referral, "accept", loop["ana"]["tokens"])
    not_yours = await client.delete(
        f"/v1/attachments/{lab['id']}", headers=bearer(loop["ana"]["tokens"])
    )
    assert not_yours.status_code == 409
    gone = await client.delete(f"/v1/attachments/{lab['id']}", headers=bearer(loop["nurse"]))
    assert gone.status_code == 204
    assert (await listed(client, referral, loop["ana"]["tokens"])).json()["items"] == []
    again = await client.get(f"/v1/attachments/{lab['id']}", headers=bearer(loop["nurse"]))
    assert again.status_code == 404


async def test_every_read_by_someone_else_is_in_the_patients_access_log(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["rosa_t"], kind="lab_result")
    await act(client, referral, "accept", loop["ana"]["tokens"])
    ana = bearer(loop["ana"]["tokens"])
    await listed(client, referral, loop["ana"]["tokens"])
    await client.get(f"/v1/attachments/{lab['id']}", headers=ana)
    link = await client.get(f"/v1/attachments/{lab['id']}/link", headers=ana)
    assert (await client.get(_local(link.json()["url"]))).status_code == 200
    await listed(client, referral, loop["rosa_t"])  # her own reads are not logged
    log = await client.get("/v1/me/access-log", headers=bearer(loop["rosa_t"]))
    ana_id = (await client.get("/v1/me", headers=ana)).json()["id"]
    reads = {
        (entry["resource"], entry["action"])
        for entry in log.json()["items"]
        if entry["accessor_account_id"] == ana_id
    }
    assert {
        (f"referral-attachments:{referral['id']}", "read"),
        (f"attachment:{lab['id']}", "read"),
        (f"attachment:{lab['id']}", "link"),
        (f"attachment:{lab['id']}", "download"),
    } <= reads
    rosa_id = loop["rosa"]["id"]
    assert all(entry["accessor_account_id"] != rosa_id for entry in log.json()["items"])


async def test_an_admin_reads_one_only_with_a_reason_kept_through_the_download(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"])
    admin = bearer(loop["admin"])
    one = f"/v1/attachments/{lab['id']}"
    assert (await client.get(one, headers=admin)).status_code == 404
    assert (await client.get(f"{one}/link", headers=admin)).status_code == 404
    assert (await listed(client, referral, loop["admin"])).status_code == 404  # no list
    reason = {"reason": "queja CONAMED 2026-114"}
    read = await client.get(one, params=reason, headers=admin)
    assert read.status_code == 200, read.text
    link = await client.get(f"{one}/link", params=reason, headers=admin)
    assert link.status_code == 200, link.text
    url = _local(link.json()["url"])
    assert (await client.get(url)).content == pdf()
    # the reason is signed into the link: changed, the link is refused
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    forged = {**query, "reason": "curiosidad"}
    refused = await client.get(f"{one}/download?{urlencode(forged)}")
    assert refused.status_code == 403
    bare = {k: v for k, v in query.items() if k != "reason"}
    assert (await client.get(f"{one}/download?{urlencode(bare)}")).status_code == 403
    log = await client.get("/v1/me/access-log", headers=bearer(loop["rosa_t"]))
    admin_id = (await client.get("/v1/me", headers=admin)).json()["id"]
    reads = sorted(
        (entry["action"], entry["reason"])
        for entry in log.json()["items"]
        if entry["accessor_account_id"] == admin_id
    )
    assert reads == [
        ("download", "queja CONAMED 2026-114"),
        ("link", "queja CONAMED 2026-114"),
        ("read", "queja CONAMED 2026-114"),
    ]
    # a reason opens nothing to anyone but an admin
    stranger = bearer(loop["stranger"])
    assert (await client.get(one, params=reason, headers=stranger)).status_code == 404


async def test_the_arco_export_lists_the_referrals_files(
    client: httpx.AsyncClient, loop: dict[str, Any]
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"], kind="lab_result")
    export = await client.get("/v1/me/export", headers=bearer(loop["rosa_t"]))
    assert export.status_code == 200, export.text
    files = export.json()["attachments"]
    assert [(f["id"], f["referral_id"], f["uploader_role"]) for f in files] == [
        (lab["id"], referral["id"], "clinic")
    ]
    assert "storage_key" not in files[0] and "uploaded_by" not in files[0]


@pytest.mark.parametrize("owners", ["none", "both"])
async def test_the_database_keeps_each_attachment_to_exactly_one_owner(
    client: httpx.AsyncClient,
    loop: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    owners: str,
) -> None:
    referral = await refer(client, loop)
    lab = await uploaded(client, referral, loop["nurse"])
    async with sessionmaker() as session:
        existing = await session.get(Attachment, uuid.UUID(lab["id"]))
        assert existing is not None
        row = Attachment(
            referral_id=None if owners == "none" else uuid.UUID(referral["id"]),
            # any consult's id: the check is what refuses, before any foreign key is looked at
            appointment_id=uuid.uuid4() if owners == "both" else None,
            patient_account_id=existing.patient_account_id,
            uploader_role="clinic",
            kind="document",
            file_name="x.pdf",
            media_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            storage_key="attachments/none",
        )
        session.add(row)
        with pytest.raises(IntegrityError, match=r"(?i)check|one_owner"):
            await session.flush()
        await session.rollback()
