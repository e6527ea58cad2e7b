"""Where uploaded documents are kept between the upload (web) and extraction (cpu worker).

One setting chooses it: `DOCUMENT_STORAGE=s3://bucket/prefix` selects S3 through
django-storages; empty keeps local files under MEDIA_ROOT (the embedded default). Everything
reads and writes through Django's storage API (`Document.upload`), so no process relies on
a disk another process wrote.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from config.env import ConfigError


def document_storage(
    url: str, *, endpoint_url: str | None, region: str | None, kms_key_id: str
) -> dict[str, Any]:
    """The `STORAGES["default"]` entry for DOCUMENT_STORAGE."""
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(
            "DOCUMENT_STORAGE is malformed: use s3://bucket/prefix, or leave it empty for "
            "local files"
        )
    encryption: dict[str, str] = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        if kms_key_id
        else {"ServerSideEncryption": "AES256"}
    )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": endpoint_url,
            "region_name": region,
            # Never a public object, never a shared name: each upload gets its own key.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "object_parameters": encryption,
        },
    }
