"""Text extraction for Summarize: PDF, DOCX, TXT, Markdown and HTML → text + sections.

Plain Python (no Django), because it runs in a child process with memory and CPU
limits (extraction_child.py): a hostile file can exhaust only the child's memory or
time; the Celery task survives and reports a sentence.

Every refusal is an `ExtractionError` whose `code` goes to the audit log and whose
`user_message` is what the employee reads.

Decisions (docs/summarize.md):
- Content wins over the name: a `.pdf` must start with `%PDF-`, a `.docx` must be a ZIP
  holding `word/document.xml`, text formats must not be binary.
- Invalid UTF-8 is refused, not decoded with replacement characters: "Jos\ufffd" is no
  longer a name the policy layer recognizes, so a lossy decode could let personal data
  through unnoticed.
- DOCX archives are checked from the ZIP directory before anything is decompressed.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from config.text import InvalidText, clean_text, decode_text

# --- Limits --------------------------------------------------------------------------------
# Real DOCX files have a few dozen entries and compress 5 to 20 times; a zip bomb has thousands
# of entries or ratios in the hundreds or thousands.
DOCX_MAX_ENTRIES = 1_000
DOCX_MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
DOCX_MAX_RATIO = 100
# Tiny entries can have silly ratios (a 20 KB styles.xml at 150 to 1) and harm nobody.
DOCX_RATIO_MIN_BYTES = 1024 * 1024

EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
KIND_LABELS = {
    "pdf": "a PDF",
    "docx": "a Word document (DOCX)",
    "text": "a text file",
    "markdown": "a Markdown file",
    "html": "an HTML file",
}
# What some other formats start with, to say what a mislabelled file looks like.
MAGIC = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.doc/.xls)"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
)


class ExtractionError(Exception):
    """A document that cannot be read. `code` is logged/audited; `user_message` is shown."""

    def __init__(self, code: str, user_message: str) -> None:
        super().__init__(user_message)
        self.code = code
        self.user_message = user_message


@dataclass(frozen=True)
class Section:
    """A heading or a page, with its character range in the extracted text."""

    title: str
    start: int
    end: int


@dataclass
class Extracted:
    text: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)  # told to the user, e.g. pages without text

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sections": [asdict(s) for s in self.sections],
            "notes": self.notes,
        }


def kind_for_filename(filename: str) -> str:
    """The document kind from the extension, or ExtractionError naming what is accepted."""
    suffix = Path(filename).suffix.lower()
    kind = EXTENSIONS.get(suffix)
    if kind is None:
        raise ExtractionError(
            "unsupported_type",
            f"“{Path(filename).name}” is not a supported file type. "
            "Upload a PDF, DOCX, TXT, Markdown (.md) or HTML file.",
        )
    return kind


# --- Content sniffing ------------------------------------------------------------------------


def looks_like(head: bytes) -> str | None:
    for magic, label in MAGIC:
        if head.startswith(magic):
            return label
    return None


def check_content_matches(kind: str, data: bytes) -> None:
    """Refuse a file whose bytes are not what its extension claims."""
    head = data[:1024]
    seen = looks_like(head)
    if kind == "pdf":
        # The PDF spec allows junk before the header; readers look in the first 1 KB.
        ok = b"%PDF-" in head
    elif kind == "docx":
        ok = head.startswith(b"PK\x03\x04")
    else:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            # Windows "Unicode" text: readable, but not UTF-8, and full of NUL bytes.
            raise ExtractionError(
                "invalid_utf8",
                "The file is UTF-16 text, not UTF-8. Save it as UTF-8 (in most editors: "
                "Save As → Encoding: UTF-8) and upload it again.",
            )
        ok = seen is None and b"\x00" not in data[:8192]
    if not ok:
        what = seen or "something else (binary data)"
        raise ExtractionError(
            "type_mismatch",
            f"The file's name says it is {KIND_LABELS[kind]}, but its content is {what}. "
            "Check that you picked the right file, or save it in the format its name says.",
        )


# --- Plain text, Markdown ------------------------------------------------------------------


def decode_utf8(data: bytes) -> str:
    """UTF-8 (a BOM is allowed), cleaned by config.text; else Summarize's sentence saying
    where the first bad byte is."""
    try:
        return decode_text(data)
    except InvalidText as exc:
        if exc.kind != "invalid_utf8":
            raise ExtractionError("invalid_utf8", exc.user_message) from None
        raise ExtractionError(
            "invalid_utf8",
            f"The file is not valid UTF-8 text (the first unreadable byte is at position "
            f"{exc.position or 0:,}). Save it as UTF-8 (in most editors: Save As → "
            "Encoding: UTF-8) and upload it again.",
        ) from None


def cleaned(text: str) -> str:
    """Extracted text through config.text.clean_text (line breaks, control characters);
    text that is not valid Unicode is a sentence, like any other unreadable file."""
    try:
        return clean_text(text)
    except InvalidText as exc:
        raise ExtractionError("invalid_text", exc.user_message) from None


MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def sections_from_headings(text: str, headings: list[tuple[int, str]]) -> list[Section]:
    """Sections from (offset, title) pairs; text before the first heading is "Beginning"."""
    starts = sorted(headings)
    if not starts or (starts[0][0] > 0 and text[: starts[0][0]].strip()):
        starts.insert(0, (0, "Beginning"))
    sections = []
    for i, (start, title) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        if end > start:
            sections.append(Section(title=title[:200], start=start, end=end))
    return sections


def extract_markdown(text: str) -> Extracted:
    headings = [(m.start(), m.group(2).strip()) for m in MD_HEADING.finditer(text)]
    return Extracted(text=text, sections=sections_from_headings(text, headings))


# --- HTML --------------------------------------------------------------------------------------

BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
        "footer", "nav", "aside", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
        "dt", "dd", "hr", "title",
    }
)  # fmt: skip
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class _TextOfHtml(HTMLParser):
    """Visible text only. Nothing is fetched: links, images and styles are ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.length = 0
        self.skip_depth = 0
        self.heading: list[str] | None = None
        self.heading_start = 0
        self.headings: list[tuple[int, str]] = []

    def _emit(self, text: str) -> None:
        self.pieces.append(text)
        self.length += len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag in BLOCK_TAGS:
            self._emit("\n\n" if tag != "br" else "\n")
        if tag in HEADING_TAGS and not self.skip_depth:
            self.heading = []
            self.heading_start = self.length

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self.skip_depth:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in BLOCK_TAGS and not self.skip_depth:
            self._emit("\n\n")
        if tag in HEADING_TAGS and self.heading is not None:
            title = " ".join("".join(self.heading).split())
            if title:
                self.headings.append((self.heading_start, title))
            self.heading = None

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self._emit(data)
        if self.heading is not None:
            self.heading.append(data)


def extract_html(text: str) -> Extracted:
    parser = _TextOfHtml()
    parser.feed(text)
    parser.close()
    raw = "".join(parser.pieces)
    # Collapse the whitespace HTML ignores, keeping paragraph breaks, and move heading
    # offsets along with the text.
    return _tidy(raw, parser.headings)


def _tidy(raw: str, headings: list[tuple[int, str]]) -> Extracted:
    out: list[str] = []
    mapping: dict[int, int] = {}
    wanted = sorted({offset for offset, _ in headings})
    wi = 0
    length = 0
    for block in re.finditer(r"[^\n]*(?:\n|$)", raw):
        while wi < len(wanted) and wanted[wi] < block.end():
            mapping[wanted[wi]] = length
            wi += 1
        line = " ".join(block.group().split())
        if line:
            out.append(line + "\n\n")
            length += len(line) + 2
    text = "".join(out).rstrip("\n")
    moved = [(min(mapping.get(o, 0), len(text)), t) for o, t in headings]
    return Extracted(text=text, sections=sections_from_headings(text, moved))


# --- PDF ---------------------------------------------------------------------------------------


def extract_pdf(data: bytes) -> Extracted:
    # Imported here: only the child that reads a PDF pays for loading pypdf (~0.2 s).
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # A PDF with only an owner password (print/copy restrictions) opens with an
            # empty user password; one that needs a password to open cannot be read.
            try:
                opened = bool(reader.decrypt(""))
            except (FileNotDecryptedError, NotImplementedError, PdfReadError):
                opened = False
            if not opened:
                raise ExtractionError(
                    "encrypted_pdf",
                    "The PDF is password-protected, so it cannot be read. "
                    "Remove the password (or print it to a new PDF) and upload it again.",
                )
        pages = reader.pages
        count = len(pages)
        pieces: list[str] = []
        sections: list[Section] = []
        length = 0
        empty_pages = 0
        for number in range(count):
            page_text = cleaned(pages[number].extract_text() or "").strip()
            if not page_text:
                empty_pages += 1
                continue
            if pieces:
                pieces.append("\n\n")
                length += 2
            sections.append(Section(f"Page {number + 1}", length, length + len(page_text)))
            pieces.append(page_text)
            length += len(page_text)
    except ExtractionError:
        raise
    except MemoryError:
        raise
    except Exception:
        # pypdf raises many kinds of errors on broken files (PdfReadError, ValueError,
        # KeyError, struct errors…): each means the same to the employee.
        raise ExtractionError(
            "malformed_pdf",
            "The PDF is damaged or not a real PDF, so its text cannot be read. "
            "Open it and save (or print) it as a new PDF, then upload that.",
        ) from None
    notes = []
    if empty_pages and sections:
        notes.append(
            f"{empty_pages} of {count} pages have no text (scanned images?) and were skipped."
        )
    return Extracted(text="".join(pieces), sections=sections, notes=notes)


# --- DOCX --------------------------------------------------------------------------------------


def check_zip_limits(data: bytes) -> None:
    """Refuse a zip bomb from the archive's directory alone, before decompressing a byte."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ExtractionError(
            "malformed_docx",
            "The Word document is damaged (it is not a readable DOCX archive). "
            "Open it in Word and save it again, then upload that.",
        ) from None
    if len(infos) > DOCX_MAX_ENTRIES:
        raise ExtractionError(
            "zip_entries",
            f"The Word document contains {len(infos):,} files inside; the limit is "
            f"{DOCX_MAX_ENTRIES:,}. It is probably not a normal document, so it was not opened.",
        )
    total = sum(info.file_size for info in infos)
    if total > DOCX_MAX_UNCOMPRESSED_BYTES:
        raise ExtractionError(
            "zip_size",
            f"The Word document would unpack to {total / 1024 / 1024:,.0f} MB; the limit is "
            f"{DOCX_MAX_UNCOMPRESSED_BYTES // 1024 // 1024} MB. It was not opened.",
        )
    for info in infos:
        if info.file_size < DOCX_RATIO_MIN_BYTES:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > DOCX_MAX_RATIO:
            raise ExtractionError(
                "zip_ratio",
                f"A part of the Word document is compressed {ratio:,.0f} to 1 (the limit is "
                f"{DOCX_MAX_RATIO} to 1), which is how zip bombs look. It was not opened.",
            )


def extract_docx(data: bytes) -> Extracted:
    check_zip_limits(data)
    try:
        # Imported here: only the child that reads a DOCX pays for loading python-docx.
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        pieces: list[str] = []
        headings: list[tuple[int, str]] = []
        length = 0

        def add(text: str) -> None:
            nonlocal length
            text = cleaned(text).strip()
            if not text:
                return
            if pieces:
                pieces.append("\n\n")
                length += 2
            pieces.append(text)
            length += len(text)

        # Body order: paragraphs and tables interleaved, as the reader sees them.
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                style = (block.style.name if block.style is not None else "") or ""
                if style.startswith(("Heading", "Title")) and block.text.strip():
                    headings.append((length + (2 if pieces else 0), block.text.strip()))
                add(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    add(" | ".join(cell.text.strip() for cell in row.cells))
    except ExtractionError:
        raise
    except MemoryError:
        raise
    except Exception:
        raise ExtractionError(
            "malformed_docx",
            "The Word document is damaged or not a real DOCX file, so its text cannot be read. "
            "Open it in Word and save it again, then upload that.",
        ) from None
    text = "".join(pieces)
    return Extracted(text=text, sections=sections_from_headings(text, headings))


# --- Entry points -----------------------------------------------------------------------------


def extract_bytes(data: bytes, kind: str) -> Extracted:
    """Extract in this process (the child calls this; tests and the benchmark may too)."""
    if not data:
        raise empty_error()
    check_content_matches(kind, data)
    if kind == "pdf":
        result = extract_pdf(data)
    elif kind == "docx":
        result = extract_docx(data)
    elif kind == "html":
        result = extract_html(decode_utf8(data))
    elif kind == "markdown":
        result = extract_markdown(decode_utf8(data))
    else:
        result = _plain(decode_utf8(data))
    if not result.text.strip():
        raise empty_error(kind)
    return result


def _plain(text: str) -> Extracted:
    # Plain text often has Markdown-style headings anyway; use them when present.
    return extract_markdown(text)


def empty_error(kind: str = "") -> ExtractionError:
    hint = (
        " If it is a scanned PDF, it contains images only; this tool cannot read text from images."
        if kind == "pdf"
        else ""
    )
    return ExtractionError("empty", f"The document contains no text to summarize.{hint}")
