"""Web and workers on different machines: nothing may rely on a shared disk.

The web process and the worker run with different working directories (their own VAR_DIR,
so their own MEDIA_ROOT) and a Redis of their own. With `DOCUMENT_STORAGE=s3://…` (a real
S3-compatible server: moto's server mode) a document goes web → S3 → worker and is
summarized end to end. The same journey with local files fails: the test would notice a
change that made extraction read the web process's disk again.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config import embedded_redis
from prompting.llm.models import DEFAULT_MODELS
from tests.prompting.summarize.test_summarize_live import upload, wait_ready
from tests.support.processes import start_web, start_worker
from tests.support.site import post_form, session_cookie_for
from tests.support.sse import open_stream, read_events

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOCUMENT = (
    b"# Incident review\n\nThe airport pickup zone moved on Monday. Drivers were told by "
    b"push message; riders saw the new map pin.\n\n## Follow-up\n\nUpdate the help article "
    b"and the driver app copy by Friday.\n"
)


class Machines:
    """A web 'machine' and a worker 'machine' sharing only Redis, the database and S3."""

    def __init__(self, live_env: dict[str, str], root: Path) -> None:
        self.root = root
        self.socket = root / "r.sock"
        self.redis = embedded_redis.start(self.socket)
        self.processes: list[Any] = []
        # What production sets on every machine alike; nothing derived from a local disk.
        self.env = {
            **live_env,
            "REDIS_URL": f"unix://{self.socket}",
            "SECRET_KEY": settings.SECRET_KEY,
            "PSEUDONYM_KEY": settings.PSEUDONYM_KEY,
            "AUDIT_SIGNING_KEY": settings.AUDIT_SIGNING_KEY,
        }

    def start(self, **storage_env: str) -> str:
        web_dir, worker_dir = self.root / "web-machine", self.root / "worker-machine"
        worker = start_worker(
            {**self.env, **storage_env, "VAR_DIR": str(worker_dir)},
            name=f"{self.root.name}-worker",
            beat=False,
        )
        self.processes.append(worker)
        web, url = start_web({**self.env, **storage_env, "VAR_DIR": str(web_dir)})
        self.processes.append(web)
        return url

    def local_files(self) -> list[Path]:
        return [p for p in self.root.rglob("media/**/*") if p.is_file()]

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.terminate()
        self.redis.wait(timeout=10)


@pytest.fixture
def machines(live_env: dict[str, str], bedrock_emulator: Any) -> Iterator[Machines]:
    root = Path(tempfile.mkdtemp(prefix="m-", dir="/tmp"))  # short: the Redis socket path
    machines = Machines(live_env, root)
    yield machines
    machines.close()
    shutil.rmtree(root, ignore_errors=True)


def summarize(url: str, cookie: str, document: dict[str, Any]) -> list[Any]:
    status, started = post_form(
        url,
        f"/summarize/documents/{document['id']}/start",
        cookie,
        {"model": DEFAULT_MODELS[0].id, "length": "short", "style": "bullets"},
    )
    assert status == 201, started
    _conn, response = open_stream(url, started["events_url"], cookie, timeout=60)
    return read_events(response, deadline_s=60)


def test_a_document_goes_through_s3_between_machines(
    machines: Machines, alice: Any, s3_server: Any
) -> None:
    bucket = s3_server.create_bucket(object_lock=True)  # versioned: its history shows use
    url = machines.start(
        DOCUMENT_STORAGE=f"s3://{bucket}/uploads",
        DOCUMENT_STORAGE_ENDPOINT_URL=s3_server.endpoint_url,
        **s3_server.env,
    )
    cookie = session_cookie_for(alice)

    status, document = upload(url, cookie, "review.md", DOCUMENT)
    assert status == 201, document
    document = wait_ready(url, cookie, document["status_url"])
    assert document["status"] == "ready", document
    events = summarize(url, cookie, document)

    assert events[-1].event == "done", events[-1]
    versions = s3_server.client().list_object_versions(Bucket=bucket)
    stored = [v["Key"] for v in versions.get("Versions", [])]
    assert stored and all(key.startswith("uploads/") for key in stored)
    # Deleted once its text was extracted: the file is customer data no longer needed.
    assert versions.get("DeleteMarkers"), "the upload was not deleted after extraction"
    assert machines.local_files() == []


def test_without_shared_storage_the_worker_cannot_read_the_upload(
    machines: Machines, alice: Any
) -> None:
    """The control: local files on separate machines fail, with a sentence, not a hang."""
    url = machines.start()
    cookie = session_cookie_for(alice)

    status, document = upload(url, cookie, "review.md", DOCUMENT)
    assert status == 201, document
    document = wait_ready(url, cookie, document["status_url"])

    assert document["status"] == "failed"
    assert document["error"]
    # The upload is on the web machine's disk, where the worker could never read it.
    assert [p.relative_to(machines.root).parts[0] for p in machines.local_files()] == [
        "web-machine"
    ]
