"""A one-page PDF with Chinese text and no dependencies, for materials pulled by data sharing.

It uses the PDF standard's predefined CJK font STSong-Light (Adobe-GB1), which readers
supply themselves, so nothing is embedded and the file stays a few kilobytes. The output is
deterministic (no timestamps, no random ids): the same document always gives the same bytes,
hence the same SHA-256 in the file store.
"""
from __future__ import annotations

from typing import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN, TITLE_SIZE, TEXT_SIZE, LEADING = 56, 18, 11, 20


def _hex(text: str) -> str:
    """Text as a hex string in UCS-2 (characters outside the BMP become a 〓 placeholder)."""
    return "<" + "".join(f"{ord(ch):04X}" if ord(ch) <= 0xFFFF else "3013" for ch in text) + ">"


def _content(title: str, lines: Sequence[str], footer: str | None) -> bytes:
    ops = ["BT", f"/F1 {TITLE_SIZE} Tf", f"{MARGIN} {PAGE_HEIGHT - MARGIN - TITLE_SIZE} Td",
           f"{_hex(title)} Tj", f"/F1 {TEXT_SIZE} Tf", f"0 {-LEADING * 2} Td"]
    for line in lines:
        ops += [f"{_hex(line)} Tj", f"0 {-LEADING} Td"]
    ops.append("ET")
    if footer:
        ops += ["BT", "/F1 9 Tf", f"{MARGIN} {MARGIN} Td", f"{_hex(footer)} Tj", "ET"]
    return "\n".join(ops).encode("ascii")


def one_page(title: str, lines: Sequence[str], *, footer: str | None = None) -> bytes:
    """A4 page: a title, then one line of text per entry of `lines` (kept short by the caller)."""
    stream = _content(title, lines, footer)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
         f"/Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>").encode("ascii"),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 6 0 R "
        b"/DW 1000 /W [1 95 500] >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)
