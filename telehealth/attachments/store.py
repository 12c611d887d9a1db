"""Where attachments' bytes are kept: a small interface and its two stores.

`LocalStore` writes under a directory (the default: one host, or a directory every worker
mounts); `S3Store` talks to any S3-compatible object store (AWS S3, MinIO, Ceph, Garage…) so
that every API worker on every host sees the same files. S3 goes through boto3, the AWS SDK
that every S3-compatible server is tested against; its calls block, so each runs in a thread
(`asyncio.to_thread`), and one client (thread-safe, with its connection pool) serves them all.
"""

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class MissingFile(LookupError):
    """The store has nothing under this key."""


class FileStore(Protocol):
    name: str

    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class LocalStore:
    """Files under `root`, readable by the service's user only, each written whole and then
    moved into place (a reader never sees half a file)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"a key outside the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(_write_private, self._path(key), data)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise MissingFile(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(partial, path)


class S3Store:
    """Objects in `bucket` of an S3-compatible store. `endpoint_url` unset: AWS itself; keys
    unset: boto3's usual chain (environment, instance role). Path-style addressing, which every
    S3-compatible server understands."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=media_type,
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise MissingFile(key) from exc
                raise
            body = answer["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self.bucket, Key=self.prefix + key
        )

    def close(self) -> None:
        self._client.close()
