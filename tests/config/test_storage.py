"""DOCUMENT_STORAGE chooses where uploads wait for extraction."""

from __future__ import annotations

import pytest

from config.env import ConfigError
from config.storage import document_storage


def test_empty_keeps_local_files() -> None:
    backend = document_storage("", endpoint_url=None, region=None, kms_key_id="")
    assert backend["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_an_s3_url_names_bucket_and_prefix_and_encrypts() -> None:
    backend = document_storage(
        "s3://assistant-uploads/prod/docs/", endpoint_url=None, region="eu-west-1", kms_key_id=""
    )
    assert backend["BACKEND"] == "storages.backends.s3.S3Storage"
    options = backend["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == ("assistant-uploads", "prod/docs")
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}
    assert options["default_acl"] is None and options["file_overwrite"] is False


def test_a_kms_key_switches_to_sse_kms() -> None:
    backend = document_storage("s3://b", endpoint_url=None, region=None, kms_key_id="alias/x")
    assert backend["OPTIONS"]["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/x",
    }


@pytest.mark.parametrize("url", ["s3://", "https://bucket/x", "bucket/prefix", "s3:/bucket"])
def test_anything_else_is_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(ConfigError, match="DOCUMENT_STORAGE is malformed"):
        document_storage(url, endpoint_url=None, region=None, kms_key_id="")
