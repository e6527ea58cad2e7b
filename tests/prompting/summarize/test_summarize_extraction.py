"""Extraction and splitting for Summarize: every format, and every bad input a sentence."""

from __future__ import annotations

import io
import itertools
import time
import zipfile
from pathlib import Path

import pytest

from prompting.summarize import extraction
from prompting.summarize.extraction import ExtractionError, extract_bytes, kind_for_filename
from prompting.summarize.extraction_child import extract_in_child
from prompting.summarize.parts import describe_sections, split_into_parts
from tests.prompting.summarize.pdf_factory import make_pdf, report_pages


def refusal(data: bytes, kind: str) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        extract_bytes(data, kind)
    return caught.value


def docx_bytes(*blocks: tuple[str, str]) -> bytes:
    """A real DOCX made with python-docx; blocks are (style, text), style "" = body."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style == "table":
            table = document.add_table(rows=1, cols=2)
            table.rows[0].cells[0].text, table.rows[0].cells[1].text = text.split("|")
        elif style:
            document.add_heading(text, level=int(style[-1]))
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- Formats ------------------------------------------------------------------------------


def test_pdf_pages_become_sections() -> None:
    """Each PDF page with text is a section titled "Page N", in order, with its offsets."""
    result = extract_bytes(make_pdf(report_pages(3)), "pdf")
    assert [s.title for s in result.sections] == ["Page 1", "Page 2", "Page 3"]
    for number, section in enumerate(result.sections, start=1):
        assert result.text[section.start : section.end].startswith(
            f"Operations report page {number}"
        )


def test_pdf_without_text_on_some_pages_says_so() -> None:
    """Pages without text are skipped and the user is told how many."""
    pages = report_pages(2)
    result = extract_bytes(make_pdf([pages[0], [], pages[1]]), "pdf")
    assert [s.title for s in result.sections] == ["Page 1", "Page 3"]
    assert result.notes == ["1 of 3 pages have no text (scanned images?) and were skipped."]


def test_pdf_with_only_an_owner_password_is_read() -> None:
    """Copy/print restrictions (owner password, empty user password) do not stop reading."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(report_pages(1)))))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert "Operations report page 1" in extract_bytes(out.getvalue(), "pdf").text


def test_docx_headings_paragraphs_and_tables() -> None:
    """DOCX: body order kept, tables as rows, headings start sections."""
    data = docx_bytes(
        ("", "Intro paragraph before any heading."),
        ("Heading1", "Revenue"),
        ("", "Revenue grew in all regions."),
        ("table", "Region|Growth"),
        ("Heading2", "Risks"),
        ("", "Driver supply is tight."),
    )
    result = extract_bytes(data, "docx")
    assert [s.title for s in result.sections] == ["Beginning", "Revenue", "Risks"]
    revenue = result.sections[1]
    assert result.text[revenue.start : revenue.end].startswith("Revenue\n\nRevenue grew")
    assert "Region | Growth" in result.text


def test_markdown_headings_become_sections() -> None:
    """Markdown (and plain text) `#` headings start sections; the text is kept as is."""
    text = "# Plan\n\nShip it.\n\n## Risks\n\nNone known.\n"
    result = extract_bytes(text.encode(), "markdown")
    assert [s.title for s in result.sections] == ["Plan", "Risks"]
    assert result.text == text


def test_text_without_headings_is_one_section() -> None:
    """A plain text without headings is one section, so the result can still name it."""
    result = extract_bytes(b"Just one paragraph.\r\nSecond line.", "text")
    assert result.text == "Just one paragraph.\nSecond line."
    assert [s.title for s in result.sections] == ["Beginning"]


def test_html_visible_text_only_with_heading_sections() -> None:
    """HTML: scripts, styles and the head are dropped, entities decoded, headings are
    sections; images and links are never fetched (the parser has no network code)."""
    html = (
        "<html><head><title>T</title><style>p{}</style><script>alert(1)</script></head>"
        "<body><h1>Quarter &amp; year</h1><p>Revenue   grew.<img src='https://evil.example/x.png'>"
        "</p><h2>Next</h2><p>Hire&nbsp;more.</p><noscript>enable js</noscript></body></html>"
    )
    result = extract_bytes(html.encode(), "html")
    assert "alert" not in result.text and "p{}" not in result.text
    assert "enable js" not in result.text
    assert "Quarter & year" in result.text and "Revenue grew." in result.text
    assert [s.title for s in result.sections] == ["Quarter & year", "Next"]
    next_section = result.sections[1]
    assert result.text[next_section.start :].startswith("Next")


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "looks"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "pdf", "a PNG image"),
        (b"%PDF-1.4 fake", "docx", "a PDF"),
        (b"PK\x03\x04" + b"\x00" * 40, "text", "a ZIP archive"),
        (b"plain words, not a pdf", "pdf", "something else"),
        (b"MZ\x90\x00binary", "html", "a Windows program"),
    ],
)
def test_content_not_matching_extension_is_refused(data: bytes, kind: str, looks: str) -> None:
    """The content decides: a mislabelled file is refused with what it looks like."""
    error = refusal(data, kind)
    assert error.code == "type_mismatch"
    assert looks in error.user_message
    assert extraction.KIND_LABELS[kind] in error.user_message


def test_unsupported_extension_names_the_accepted_types() -> None:
    """An .exe (or any other extension) is refused with the list of accepted types."""
    with pytest.raises(ExtractionError) as caught:
        kind_for_filename("payload.exe")
    assert caught.value.code == "unsupported_type"
    assert "PDF, DOCX, TXT, Markdown (.md) or HTML" in caught.value.user_message
    assert kind_for_filename("Notes.MD") == "markdown"


def test_password_protected_pdf_is_refused() -> None:
    """A PDF that needs a password to open gets a sentence saying how to fix it."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(report_pages(2)))))
    writer.encrypt(user_password="open-sesame", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    error = refusal(out.getvalue(), "pdf")
    assert error.code == "encrypted_pdf"
    assert "password-protected" in error.user_message


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer garbage",
        make_pdf(report_pages(5))[:600],  # truncated: no xref, no trailer
        b"%PDF-1.4\n" + bytes(range(256)) * 20,
    ],
    ids=["bad-objects", "truncated", "noise"],
)
def test_malformed_pdf_is_refused(data: bytes) -> None:
    """A damaged PDF is a sentence (malformed or, if nothing is left, empty), never a crash."""
    error = refusal(data, "pdf")
    assert error.code in {"malformed_pdf", "empty"}
    assert error.user_message.startswith("The ")


def test_docx_with_too_many_entries_is_refused_unopened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry count is checked from the ZIP directory; python-docx is never called."""
    monkeypatch.setattr("docx.Document", _must_not_open)
    data = zip_bytes({f"word/x{i}.xml": b"<a/>" for i in range(extraction.DOCX_MAX_ENTRIES + 1)})
    error = refusal(data, "docx")
    assert error.code == "zip_entries"
    assert f"{extraction.DOCX_MAX_ENTRIES:,}" in error.user_message


def test_docx_unpacking_too_large_is_refused_unopened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Total uncompressed size (declared in the directory) over the limit is refused."""
    import os

    monkeypatch.setattr("docx.Document", _must_not_open)
    monkeypatch.setattr(extraction, "DOCX_MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    data = zip_bytes(
        {"word/document.xml": os.urandom(700_000), "word/media/a.bin": os.urandom(700_000)}
    )
    error = refusal(data, "docx")
    assert error.code == "zip_size"
    assert "limit is 1 MB" in error.user_message


def test_docx_zip_bomb_ratio_is_refused_unopened(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry compressed a thousand to one is a zip bomb: refused before decompression."""
    monkeypatch.setattr("docx.Document", _must_not_open)
    data = zip_bytes({"word/document.xml": b"\x00" * (8 * 1024 * 1024)})
    assert len(data) < 100_000
    error = refusal(data, "docx")
    assert error.code == "zip_ratio"
    assert "zip bomb" in error.user_message


def test_broken_docx_is_refused() -> None:
    """A ZIP that is not a Word document (or is cut short) is a sentence, not a crash."""
    assert refusal(zip_bytes({"hello.txt": b"hi"}), "docx").code == "malformed_docx"
    assert refusal(docx_bytes(("", "text"))[:300], "docx").code == "malformed_docx"


def _must_not_open(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("python-docx must not open an archive that failed the zip checks")


def test_invalid_utf8_is_refused_with_the_position() -> None:
    """Invalid UTF-8 is refused (not replaced: a mangled name escapes the policy layer)."""
    error = refusal("Café menu: ".encode() + b"Jos\xe9 Garc\xeda", "text")
    assert error.code == "invalid_utf8"
    assert "position 15" in error.user_message
    assert "UTF-8" in error.user_message


def test_utf16_text_is_refused_with_how_to_fix_it() -> None:
    """UTF-16 text (Windows "Unicode") is not called binary: the sentence says re-save."""
    error = refusal("Notes about the driver".encode("utf-16"), "text")
    assert error.code == "invalid_utf8"
    assert "UTF-16" in error.user_message and "Save it as UTF-8" in error.user_message


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "text"),
        (b"  \n\n\t ", "markdown"),
        (b"<html><body><script>x()</script></body></html>", "html"),
        (make_pdf([[], []]), "pdf"),
        (docx_bytes(), "docx"),
    ],
    ids=["zero-bytes", "whitespace", "html-without-text", "pdf-without-text", "empty-docx"],
)
def test_empty_documents_are_refused(data: bytes, kind: str) -> None:
    """A document without text says so (and for PDFs, why that may be)."""
    error = refusal(data, kind)
    assert error.code == "empty"
    assert "no text" in error.user_message


# --- The child process and its limits -----------------------------------------------------------


def test_child_extracts_a_300_page_pdf_within_limits(tmp_path: Path) -> None:
    """The worker's path: a 300-page PDF through the limited child, well under 10 s."""
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(report_pages(300)))
    started = time.monotonic()
    result = extract_in_child(path, "pdf")
    assert time.monotonic() - started < 10
    assert len(result.sections) == 300
    assert result.sections[-1].title == "Page 300"


def test_child_reports_refusals_as_sentences(tmp_path: Path) -> None:
    """An ExtractionError in the child comes back as the same code and sentence."""
    path = tmp_path / "x.pdf"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ExtractionError) as caught:
        extract_in_child(path, "pdf")
    assert caught.value.code == "type_mismatch"


def test_child_over_its_memory_limit_is_a_sentence(tmp_path: Path) -> None:
    """A parse that needs more memory than RLIMIT_AS allows ends as memory_limit."""
    path = tmp_path / "big.pdf"
    path.write_bytes(make_pdf(report_pages(50)))
    with pytest.raises(ExtractionError) as caught:
        extract_in_child(path, "pdf", memory_bytes=40 * 1024 * 1024)
    assert caught.value.code == "memory_limit"
    assert "more memory than allowed" in caught.value.user_message


def test_child_over_its_time_limit_is_stopped(tmp_path: Path) -> None:
    """A parse that outlives the wall-clock limit is killed and reported as time_limit."""
    path = tmp_path / "slow.pdf"
    path.write_bytes(make_pdf(report_pages(300)))
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_in_child(path, "pdf", wall_seconds=0.05)
    assert caught.value.code == "time_limit"
    assert time.monotonic() - started < 5


# --- Parts ------------------------------------------------------------------------------------


def test_parts_cut_at_section_starts_and_cover_everything() -> None:
    """Parts stay within the budget, cut where a page starts, and cover the whole text."""
    result = extract_bytes(make_pdf(report_pages(40)), "pdf")
    parts = split_into_parts(result.text, result.sections, max_chars=10_000)
    assert len(parts) > 3
    assert all(len(p.text) <= 10_000 for p in parts)
    starts = {s.start for s in result.sections}
    assert all(p.start in starts for p in parts)
    assert parts[0].start == 0 and parts[-1].end == len(result.text)
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    assert parts[0].section_titles[0] == "Page 1"


def test_a_long_paragraph_is_cut_at_a_sentence_not_mid_word() -> None:
    """Without section or paragraph breaks, the cut falls after a sentence."""
    text = " ".join(f"Sentence number {i} is here." for i in range(400))
    parts = split_into_parts(text, [], max_chars=1_000)
    assert all(p.text.endswith(".") for p in parts)
    assert "".join(text[p.start : p.end] for p in parts) == text


def test_describe_sections_merges_page_runs() -> None:
    """Consecutive pages read as a range; other titles are listed."""
    titles = ["Page 1", "Page 2", "Page 3", "Page 7", "Revenue", "Page 9", "Page 10"]
    assert describe_sections(titles) == "Pages 1\u20133, Page 7, Revenue, Pages 9\u201310"
