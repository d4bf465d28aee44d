"""Read a WAV header ourselves: the decoders hide the reasons a WAV is unusable.

libsndfile and FFmpeg answer "unknown format" for a sample rate of 0, and both quietly shorten the
declared length of a cut file to what is there; the header itself says what was meant.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.audio.checks import audio_error

_EXTENSIBLE = 0xFFFE
_PCM, _FLOAT = 0x0001, 0x0003
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what streaming writers leave in a size they could not go back to fill


@dataclass(frozen=True)
class WavHeader:
    format_tag: int  # WAVE_FORMAT_EXTENSIBLE resolved to its sub-format
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data_offset: int
    data_bytes: int | None  # None: the size was left open; the data runs to the end of the file

    @property
    def is_pcm(self) -> bool:
        return self.format_tag in (_PCM, _FLOAT)

    @property
    def frames(self) -> int | None:
        """Declared sample frames (PCM only: other codecs pack frames unevenly)."""
        if self.data_bytes is None or not self.is_pcm:
            return None
        return self.data_bytes // self.block_align


def read_wav_header(path: Path, f: BinaryIO, size: int) -> WavHeader:
    """Parse the RIFF/RF64 chunks up to 'data'; raise AudioError for a header no decoder can use."""
    riff = f.read(12)
    endian = ">" if riff[:4] == b"RIFX" else "<"
    offset, fmt, ds64_data = 12, None, None
    while True:
        f.seek(offset)
        chunk = f.read(8)
        if len(chunk) < 8:
            raise audio_error(path, f"the file is truncated inside its header (it ends at byte {size})")
        cid, csize = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
        if cid == b"data":
            if fmt is None:
                raise audio_error(path, "its WAV header has no format ('fmt ') chunk before the audio data")
            return _header(path, fmt, offset + 8, _data_size(csize, ds64_data, offset + 8, size))
        body = f.read(csize) if cid in (b"fmt ", b"ds64") else b""
        if cid in (b"fmt ", b"ds64") and len(body) < csize:
            raise audio_error(path, f"the file is truncated inside its header (it ends at byte {size})")
        if cid == b"fmt ":
            fmt = _parse_fmt(path, body, endian)
        elif cid == b"ds64" and csize >= 16:
            ds64_data = struct.unpack("<Q", body[8:16])[0]  # RF64's real data size
        offset += 8 + csize + (csize & 1)  # chunks are padded to an even length


def _data_size(csize: int, ds64_data: int | None, data_offset: int, file_size: int) -> int | None:
    if csize == 0xFFFFFFFF and ds64_data:
        return ds64_data
    if csize in _UNKNOWN_SIZES and file_size > data_offset:
        return None
    return csize


def _parse_fmt(path: Path, body: bytes, endian: str) -> tuple[int, int, int, int, int]:
    if len(body) < 16:
        raise audio_error(path, f"its WAV format chunk is too short ({len(body)} bytes, at least 16 needed)")
    tag, channels, rate, _byte_rate, align, bits = struct.unpack(endian + "HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack(endian + "H", body[24:26])[0]  # first two bytes of the sub-format GUID
    return tag, channels, rate, align, bits


def _header(path: Path, fmt: tuple[int, int, int, int, int], data_offset: int, data: int | None) -> WavHeader:
    tag, channels, rate, align, bits = fmt
    if channels == 0:
        raise audio_error(path, "its WAV header declares 0 channels")
    if rate == 0:
        raise audio_error(path, "its WAV header declares a sample rate of 0 Hz")
    if tag in (_PCM, _FLOAT) and (bits == 0 or align == 0):
        raise audio_error(path, f"its WAV header declares {bits} bits per sample and {align}-byte frames")
    return WavHeader(tag, channels, rate, bits, align, data_offset, data)


def check_wav_complete(path: Path, header: WavHeader, size: int) -> None:
    """Raise AudioError when the data chunk declares more bytes than the file holds."""
    if header.data_bytes is None:
        return
    present = size - header.data_offset
    if header.data_bytes == 0:
        raise audio_error(path, "it contains no audio samples (its WAV data chunk is empty)")
    if header.data_bytes - present >= max(header.block_align, 1):
        byte_rate = header.sample_rate * max(header.block_align, 1)
        declared, held = header.data_bytes / byte_rate, present / byte_rate
        if header.is_pcm:
            missing = f"its header declares {declared:.2f} s of audio but only {held:.2f} s are present"
        else:
            missing = f"its header declares {header.data_bytes} bytes of audio but only {present} are present"
        raise audio_error(path, f"the file is truncated: {missing}")
