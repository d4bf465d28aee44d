"""Structural checks on MP4, Ogg and MP3 files: is the file whole, and does it state its length?

FFmpeg opens a cut MP4 with "Invalid data" and decodes a cut Ogg without a word; the container's own
structure tells a cut file from a damaged one.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from engine.audio.checks import audio_error

_OGG_EOS = 0x04


def check_mp4_complete(path: Path, f: BinaryIO, size: int) -> None:
    """Walk the top-level boxes: each must fit in the file, and the index ('moov') must be there."""
    offset, seen = 0, set()
    while offset + 8 <= size:
        f.seek(offset)
        head = f.read(16)
        box_size, kind = struct.unpack(">I4s", head[:8])
        if box_size == 1 and len(head) == 16:
            box_size = struct.unpack(">Q", head[8:16])[0]
        elif box_size == 0:
            box_size = size - offset  # "to the end of the file"
        if box_size < 8:
            return  # not a box structure we understand: let the decoder judge
        if offset + box_size > size:
            name = kind.decode("latin-1")
            raise audio_error(path, f"the file is truncated: it ends inside its '{name}' section")
        seen.add(kind)
        offset += box_size
    if b"moov" not in seen and b"moof" not in seen:
        raise audio_error(
            path, "the file is truncated or unfinished: its index ('moov') is missing, as in a cut download"
        )


def check_ogg_complete(path: Path, tail: bytes) -> None:
    """The last Ogg page (``tail`` holds the file's last bytes) must be whole and end the stream."""
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        header = tail[pos : pos + 27]
        if len(header) < 27 or header[4] == 0:  # version 0: a page header, not payload that looks like one
            table = tail[pos + 27 : pos + 27 + header[26]] if len(header) == 27 else b""
            if len(header) < 27 or pos + 27 + len(table) + sum(table) > len(tail) or len(table) < header[26]:
                raise audio_error(path, "the file is truncated: it ends inside an Ogg page")
            if not header[5] & _OGG_EOS:
                raise audio_error(
                    path, "the file is truncated: its Ogg stream stops without an end-of-stream page"
                )
            return
        pos = tail.rfind(b"OggS", 0, pos)


def mp3_states_length(f: BinaryIO, head: bytes) -> bool:
    """True when the first MPEG frame carries a Xing/Info/VBRI header, i.e. an exact frame count.

    Without one, FFmpeg's duration is an estimate from the bit rate, useless for spotting a cut file.
    """
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        tag = head[6:10]
        start = 10 + (tag[0] << 21 | tag[1] << 14 | tag[2] << 7 | tag[3]) + (10 if head[5] & 0x10 else 0)
    f.seek(start)
    frame = f.read(256)
    return any(marker in frame for marker in (b"Xing", b"Info", b"VBRI"))
