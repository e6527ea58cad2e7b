"""A real S3-compatible server for tests: moto's server mode, over HTTP.

    def test_upload(s3_server):
        bucket = s3_server.create_bucket()                  # a fresh, empty bucket
        locked = s3_server.create_bucket(object_lock=True)  # versioned, Object Lock on
        client = s3_server.client()                         # boto3, pointed at it
        ...  # or give the product s3_server.endpoint_url and s3_server.env

One server per test session on a free loopback port, started on first use and
stopped at the end; each test makes its own buckets, so tests never see each
other's objects. Credentials are dummies (moto accepts any): `s3_server.env`
holds them for subprocesses and for `monkeypatch.setenv`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.processes import free_port

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class S3Server:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.env = {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION}
        self._names = itertools.count(1)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str | None = None, *, object_lock: bool = False) -> str:
        """A new bucket (named `test-bucket-N` unless given); with `object_lock` it is
        created as S3 requires for Object Lock (which also turns versioning on)."""
        bucket = name or f"test-bucket-{next(self._names)}"
        self.client().create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=object_lock)
        return bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    # One line per request from werkzeug would drown the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield S3Server(f"http://127.0.0.1:{port}")
    server.stop()
