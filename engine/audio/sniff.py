"""Tell what a file is from its first bytes, so that errors can say why it is unusable."""

from __future__ import annotations

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (0, b"ID3", "mp3"),
    (0, b"\x1a\x45\xdf\xa3", "matroska"),
    (0, b"FORM", "aiff"),
    (0, b"caff", "caf"),
    (0, b"#!AMR", "amr"),
    (0, b"0&\xb2u\x8e\x66\xcf\x11", "asf"),
    (4, b"ftyp", "mp4"),
    (4, b"moov", "mp4"),
    (4, b"mdat", "mp4"),
    (4, b"free", "mp4"),
    (4, b"wide", "mp4"),
    (4, b"skip", "mp4"),
)

# Files people drop by mistake: FFmpeg opens pictures as one-frame videos, which would read as
# "a video without sound".
_NOT_AUDIO: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or office document"),
)
_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")
_TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13}  # tab, newline, form feed, carriage return are text


def identify(head: bytes) -> str | None:
    """A short container name for the file's magic number, or None when it has none we know."""
    if head.startswith(_BOMS):
        return None  # UTF-16 text starts with bytes that look like an MPEG audio frame header
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if _is_mpeg_audio_sync(head):
        return "mp3"  # or MP2: the decoder tells them apart
    if _is_adts_sync(head):
        return "aac"
    return None


def _is_mpeg_audio_sync(head: bytes) -> bool:
    # 11 sync bits, then a layer that is not the reserved 00 (00 is ADTS, checked next).
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0


def _is_adts_sync(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


def not_audio(head: bytes) -> str | None:
    """What the file is, for a few common kinds of file that are not audio (None otherwise)."""
    return next((what for magic, what in _NOT_AUDIO if head.startswith(magic)), None)


def looks_like_text(head: bytes) -> bool:
    """True for bytes that read as plain text (UTF-8 or UTF-16 with a BOM) with no binary control codes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = head[: len(head) // 2 * 2].decode("utf-16")
        except UnicodeDecodeError:
            return False
    else:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # only a character cut at the end of the sample is allowed
                return False
            text = head[: exc.start].decode("utf-8")
    return bool(text.strip()) and not any(ord(ch) in _TEXT_CONTROLS for ch in text)
