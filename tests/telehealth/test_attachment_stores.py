"""Both file stores keep, give back and forget bytes the same way: a local directory, and an
S3-compatible server on loopback (moto's, started by the suite) through the boto3 client code a
deployment uses."""

import stat
import uuid
from pathlib import Path

import pytest

from telehealth.attachments.store import FileStore, LocalStore, MissingFile, S3Store
from tests.attachment_support import S3_KEYS, new_bucket, s3_server

__all__ = ["s3_server"]


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return LocalStore(tmp_path / "attachments")
    endpoint: str = request.getfixturevalue("s3_server")
    bucket = f"tequio-{uuid.uuid4().hex[:12]}"
    new_bucket(endpoint, bucket)
    return S3Store(
        bucket=bucket,
        endpoint_url=endpoint,
        access_key_id=S3_KEYS["s3_access_key_id"],
        secret_access_key=S3_KEYS["s3_secret_access_key"],
        prefix="tequio/",
    )


async def test_a_store_keeps_gives_back_and_forgets(store: FileStore) -> None:
    key = f"attachments/{uuid.uuid4()}/{uuid.uuid4()}"
    await store.put(key, b"%PDF-1.4 resultados", "application/pdf")
    assert await store.get(key) == b"%PDF-1.4 resultados"
    await store.put(key, b"%PDF-1.4 otra vez", "application/pdf")  # a key written again
    assert await store.get(key) == b"%PDF-1.4 otra vez"
    await store.delete(key)
    with pytest.raises(MissingFile):
        await store.get(key)
    await store.delete(key)  # forgetting twice is no error
    with pytest.raises(MissingFile):
        await store.get("attachments/never/written")


async def test_local_files_are_the_services_alone_and_stay_inside(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "attachments")
    await store.put("attachments/a/b", b"x", "application/pdf")
    path = tmp_path / "attachments" / "attachments" / "a" / "b"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="outside"):
        await store.put("../escaped", b"x", "application/pdf")
