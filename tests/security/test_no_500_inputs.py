"""The five inputs the security review found giving a 500 (issue 15): each is a 4xx or a
normal page with a sentence, never a server error."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_chat_page_number_in_superscript_digits_is_the_first_page(alice: Any) -> None:
    response = client_for(alice).get("/chat/?page=%C2%B2")
    assert response.status_code == 200
    assert response.context["page"] == 1


def test_audit_cursor_in_superscript_digits_is_ignored(reviewer: Any) -> None:
    client = client_for(reviewer)
    for name in ("before", "after"):
        response = client.get(f"/audit/?{name}=%C2%B2")
        assert response.status_code == 200, name


def test_chat_search_with_nul_is_a_page(alice: Any) -> None:
    response = client_for(alice).get("/chat/?q=%00ab%00")
    assert response.status_code == 200
    assert response.context["query"] == "ab"


def test_audit_department_with_nul_is_a_page(reviewer: Any) -> None:
    response = client_for(reviewer).get("/audit/?department=%00Sales")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.is_valid(), form.errors
    assert "\x00" not in form.cleaned_data["department"]


@pytest.mark.parametrize("url", ["/chat/send", "/rewrite/send"])
def test_json_nested_100000_deep_is_a_400_sentence(alice: Any, url: str) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client_for(alice).post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["error"]


def test_json_nested_moderately_deep_object_is_refused(alice: Any) -> None:
    body = '{"text": "hi", "overrides": ' + "[" * 200 + "]" * 200 + "}"
    response = client_for(alice).post("/chat/send", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


def test_marks_field_nested_deep_is_refused(alice: Any) -> None:
    marks = "[" * 100_000 + "]" * 100_000
    response = client_for(alice).post("/chat/send", {"text": "hi", "overrides": marks})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


def test_upload_with_a_long_filename_keeps_a_short_name(alice: Any) -> None:
    upload = SimpleUploadedFile("a" * 4996 + ".txt", b"Hello there.\n", "text/plain")
    response = client_for(alice).post("/summarize/documents", {"file": upload})
    assert response.status_code == 201
    assert len(response.json()["filename"]) <= 255


def multipart_with_filename(filename: str) -> tuple[bytes, str]:
    boundary = "----sec-boundary"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "Hello there.\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_upload_with_5000_character_filename_in_the_part_header_is_a_json_sentence(
    alice: Any,
) -> None:
    body, content_type = multipart_with_filename("a" * 4996 + ".txt")
    response = client_for(alice).post("/summarize/documents", body, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "name" in response.json()["error"]
