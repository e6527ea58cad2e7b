"""The off-box checkpoint store: write-once storage the database cannot touch.

AUDIT_CHECKPOINT_STORE chooses it:
- `s3://bucket/prefix`: S3 with Object Lock (COMPLIANCE or GOVERNANCE mode, a
  retention period per object), written with `If-None-Match: *` so nothing is
  overwritten; a delete only adds a delete marker, and verify reads the versions.
- a directory: files created exclusively (a hard link of a complete temporary
  file, so a reader never sees half a file), read-only, never overwritten.

Layout: `<prefix>/checkpoints/<seq, 12 digits>.json` holds the signed checkpoint
exactly as audit/checkpoints.py serializes it; `<prefix>/keys/<key id>.pub` the
public keys that signed them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

CHECKPOINTS = "checkpoints"
KEYS = "keys"


class StoreError(Exception):
    """The store cannot be reached or read; the message says which and why."""


class StoreConflict(StoreError):
    """An object already exists under that name with other content."""


@dataclass(frozen=True)
class Entry:
    """One checkpoint object as listed: its MD5 when the listing gives it (S3 ETag
    without KMS), and what is wrong with it in the store itself."""

    seq: int
    md5: str | None = None
    problem: str | None = None


class CheckpointStore(Protocol):
    description: str

    def put(self, seq: int, body: bytes) -> bool:
        """Write once; False if the same bytes are there already (a retry)."""

    def has(self, seq: int) -> bool: ...

    def listing(self) -> dict[int, Entry]: ...

    def read(self, seqs: list[int]) -> dict[int, bytes]: ...

    def put_key(self, key_id: str, public_text: str) -> None: ...

    def keys(self) -> dict[str, str]: ...


def object_name(seq: int) -> str:
    return f"{CHECKPOINTS}/{seq:012d}.json"


def _seq_of(name: str) -> int | None:
    stem = name.rsplit("/", 1)[-1].removesuffix(".json")
    return int(stem) if stem.isdecimal() and name.endswith(".json") else None


class DirectoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"directory {root}"

    def _write_once(self, path: Path, body: bytes) -> bool:
        try:
            return self._link_new(path, body)
        except StoreConflict:
            raise
        except OSError as exc:
            raise StoreError(f"{self.description} cannot be written ({exc})") from None

    def _link_new(self, path: Path, body: bytes) -> bool:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o444)
            try:
                os.link(temporary, path)  # fails if the name exists: never overwrites
            except FileExistsError:
                if path.read_bytes() == body:
                    return False
                raise StoreConflict(f"{path} exists with other content") from None
            return True
        finally:
            os.unlink(temporary)

    def put(self, seq: int, body: bytes) -> bool:
        return self._write_once(self.root / object_name(seq), body)

    def has(self, seq: int) -> bool:
        return (self.root / object_name(seq)).exists()

    def _require(self) -> None:
        if not self.root.is_dir():
            raise StoreError(f"the checkpoint store directory {self.root} does not exist")

    def listing(self) -> dict[int, Entry]:
        self._require()
        folder = self.root / CHECKPOINTS
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        seqs = [s for s in map(_seq_of, names) if s is not None]
        return {seq: Entry(seq) for seq in seqs}

    def read(self, seqs: list[int]) -> dict[int, bytes]:
        return {seq: (self.root / object_name(seq)).read_bytes() for seq in seqs}

    def put_key(self, key_id: str, public_text: str) -> None:
        self._write_once(self.root / KEYS / f"{key_id}.pub", public_text.encode() + b"\n")

    def keys(self) -> dict[str, str]:
        self._require()
        folder = self.root / KEYS
        if not folder.is_dir():
            return {}
        return {p.stem: p.read_text().strip() for p in folder.glob("*.pub")}


class S3Store:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.description = f"s3://{bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    @functools.cached_property
    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=settings.AUDIT_CHECKPOINT_STORE_ENDPOINT_URL or None,
            config=Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard"}),
        )

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "404", "NoSuchKey"):
                raise
            raise StoreError(f"{self.description}: {method} failed ({code or exc})") from None
        except BotoCoreError as exc:
            raise StoreError(f"{self.description} cannot be reached ({exc})") from None

    def _put_once(self, name: str, body: bytes) -> bool:
        from botocore.exceptions import ClientError

        until = datetime.now(UTC) + timedelta(days=settings.AUDIT_CHECKPOINT_STORE_RETENTION_DAYS)
        try:
            self._call(
                "put_object",
                Key=self._key(name),
                Body=body,
                IfNoneMatch="*",
                ObjectLockMode=settings.AUDIT_CHECKPOINT_STORE_LOCK_MODE,
                ObjectLockRetainUntilDate=until,
            )
            return True
        except ClientError:  # PreconditionFailed: the name exists
            existing = self._call("get_object", Key=self._key(name))["Body"].read()
            if existing == body:
                return False
            raise StoreConflict(f"{self.description}/{name} exists with other content") from None

    def put(self, seq: int, body: bytes) -> bool:
        return self._put_once(object_name(seq), body)

    def has(self, seq: int) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call("head_object", Key=self._key(object_name(seq)))
        except ClientError:
            return False
        return True

    def listing(self) -> dict[int, Entry]:
        """From the object versions: an overwritten checkpoint has two, a deleted one
        a delete marker on top (Object Lock keeps the locked version)."""
        versions: dict[int, list[dict[str, Any]]] = {}
        deleted: set[int] = set()
        for page in self._pages("list_object_versions", Prefix=self._key(CHECKPOINTS + "/")):
            for version in page.get("Versions", []):
                seq = _seq_of(version["Key"])
                if seq is not None:
                    versions.setdefault(seq, []).append(version)
            for marker in page.get("DeleteMarkers", []):
                seq = _seq_of(marker["Key"])
                if seq is not None and marker.get("IsLatest"):
                    deleted.add(seq)
        entries = {}
        for seq, found in versions.items():
            problem = None
            if seq in deleted:
                problem = "was deleted from the store (a delete marker hides it)"
            elif len(found) > 1:
                problem = f"has {len(found)} versions in the store (it was overwritten)"
            etag = str(found[0].get("ETag", "")).strip('"')
            entries[seq] = Entry(seq, etag if len(etag) == 32 else None, problem)
        return entries

    def _pages(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            paginator = self.client.get_paginator(method)
            yield from paginator.paginate(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise StoreError(f"{self.description}: {method} failed ({code})") from None
        except BotoCoreError as exc:
            raise StoreError(f"{self.description} cannot be reached ({exc})") from None

    def read(self, seqs: list[int]) -> dict[int, bytes]:
        def one(seq: int) -> tuple[int, bytes]:
            body = self._call("get_object", Key=self._key(object_name(seq)))["Body"].read()
            return seq, body

        with ThreadPoolExecutor(max_workers=16) as pool:
            return dict(pool.map(one, seqs))

    def put_key(self, key_id: str, public_text: str) -> None:
        self._put_once(f"{KEYS}/{key_id}.pub", public_text.encode() + b"\n")

    def keys(self) -> dict[str, str]:
        names = [
            item["Key"]
            for page in self._pages("list_objects_v2", Prefix=self._key(KEYS + "/"))
            for item in page.get("Contents", [])
        ]
        found = {}
        for name in names:
            body = self._call("get_object", Key=name)["Body"].read()
            found[name.rsplit("/", 1)[-1].removesuffix(".pub")] = body.decode().strip()
        return found


def store_from_url(url: str) -> CheckpointStore:
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Store(bucket, prefix)
    return DirectoryStore(Path(url))


def configured_store() -> CheckpointStore | None:
    url = settings.AUDIT_CHECKPOINT_STORE
    return store_from_url(url) if url else None


def body_md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def parse_body(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data
