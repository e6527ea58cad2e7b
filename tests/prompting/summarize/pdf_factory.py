"""A minimal PDF writer for tests and the benchmark: one Helvetica text object per page.

pypdf reads PDFs well but cannot lay out text, and reportlab is not a dependency; a
valid PDF with text is ~40 lines of bytes and offsets.
"""

from __future__ import annotations

import random

PROSE = (
    "the rider reported a delay near the airport terminal and asked the driver to wait "
    "quarterly revenue grew in every region while support tickets about refunds fell "
    "drivers in the pilot cities completed more trips per hour after the routing change"
)
WORDS = PROSE.split(" ")


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose page i shows the lines pages[i] (plain ASCII) top to bottom."""
    objects: list[bytes] = []
    page_count = len(pages)
    # 1 catalog, 2 pages tree, 3 font, then (page, content) pairs.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(page_count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 10 Tf", "14 TL", "50 790 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def report_pages(
    count: int, *, lines_per_page: int = 12, words_per_line: int = 14, seed: int = 7
) -> list[list[str]]:
    """`count` pages of plausible business prose; each page starts with its own title."""
    rng = random.Random(seed)
    pages = []
    for number in range(1, count + 1):
        lines = [f"Operations report page {number}"]
        for _ in range(lines_per_page):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(words_per_line)) + ".")
        pages.append(lines)
    return pages
