"""Make test audio on the fly: the suite never ships binary fixtures.

Sample makers (``speech``, ``tone``, ``silence``) return float32 arrays shaped ``(frames,)`` for mono or
``(frames, channels)``. Writers (``write_wav``, ``write_encoded``, ``write_video_only``) put them in a file
and return its path. File makers take a folder and return the path they wrote, so a caller can drive
every case the same way::

    for name, maker in ALL_FORMATS:
        path = maker(tmp_path)          # a short 440 Hz stereo clip in that format
    for name, maker, reason in BAD_INPUTS:
        path = maker(tmp_path)          # decoding it must raise AudioError mentioning `reason`

``make_unreadable`` is not in ``BAD_INPUTS``: root reads a mode-000 file anyway. Run the reader in a
subprocess with ``preexec_fn=drop_privileges`` when ``os.geteuid() == 0``.
"""

from __future__ import annotations

import functools
import os
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

Maker = Callable[[Path], Path]

CLIP_SECONDS = 2.0  # length of every ALL_FORMATS clip
CLIP_FREQ = 440.0  # its tone, in Hz
CLIP_RATE = 44100  # its sample rate, except where the codec needs 48 kHz (Opus)
SPEECH_TEXT = "Heron listens to the whole recording and answers your question."
WAV_SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


# --- samples ---------------------------------------------------------------------------------------


@functools.cache
def _espeak(text: str) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(out), text], check=True, capture_output=True)
        samples, rate = sf.read(out, dtype="float32")
    samples.setflags(write=False)  # cached: callers get copies
    return samples, rate


def speech(text: str = SPEECH_TEXT, rate: int = 16000) -> np.ndarray:
    """Mono float32 speech spoken by the espeak-ng command (its native rate is 22.05 kHz)."""
    samples, native = _espeak(text)
    if native == rate:
        return samples.copy()
    return soxr.resample(samples, native, rate).astype(np.float32)


def tone(
    freq: float = CLIP_FREQ,
    seconds: float = CLIP_SECONDS,
    rate: int = 16000,
    channels: int = 1,
    amplitude: float = 0.5,
) -> np.ndarray:
    """A sine, the same in every channel."""
    t = np.arange(round(seconds * rate)) / rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.repeat(wave[:, None], channels, axis=1)


def silence(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> np.ndarray:
    shape = (round(seconds * rate),) if channels == 1 else (round(seconds * rate), channels)
    return np.zeros(shape, np.float32)


# --- writers ---------------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    """Any of WAV_SUBTYPES, any rate and channel count (libsndfile writes WAVE_FORMAT_EXTENSIBLE past 2)."""
    sf.write(path, samples, rate, subtype=subtype, format="WAV")
    return Path(path)


@dataclass(frozen=True)
class Encoding:
    container: str  # FFmpeg muxer name
    codec: str  # FFmpeg encoder name (all present in PyAV's bundled FFmpeg)
    rates: tuple[int, ...] = ()  # the rates the codec takes; () = any
    video: str | None = None  # a video encoder when the file must hold a picture too


ENCODINGS: dict[str, Encoding] = {
    "flac": Encoding("flac", "flac"),
    "ogg": Encoding("ogg", "vorbis"),  # FFmpeg's own Vorbis encoder (PyAV bundles no libvorbis)
    "opus": Encoding("ogg", "libopus", (48000, 24000, 16000, 12000, 8000)),
    "mp3": Encoding("mp3", "libmp3lame", (48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)),
    "m4a": Encoding("ipod", "aac"),
    "webm": Encoding("webm", "libopus", (48000, 24000, 16000, 12000, 8000)),
    "mp4": Encoding("mp4", "aac", video="mpeg4"),
    "mkv": Encoding("matroska", "libopus", (48000, 24000, 16000, 12000, 8000), video="mpeg4"),
}

_VIDEO_SIZE = (64, 48)
_VIDEO_FPS = 10


def write_encoded(path: Path, samples: np.ndarray, rate: int, kind: str) -> Path:
    """Encode samples ((frames,) or (frames, channels), float) as ENCODINGS[kind] with PyAV.

    The codec's rate must be one it takes (e.g. 48 kHz for Opus); mp4 and mkv also get a tiny video
    stream so that they look like real videos.
    """
    enc = ENCODINGS[kind]
    if enc.rates and rate not in enc.rates:
        raise ValueError(f"{enc.codec} does not take {rate} Hz; use one of {enc.rates}")
    planar = np.ascontiguousarray(np.atleast_2d(samples.T), dtype=np.float32)  # (channels, frames)
    layout = {1: "mono", 2: "stereo"}.get(len(planar), f"{len(planar)}c")
    with av.open(str(path), "w", format=enc.container) as out:
        audio = out.add_stream(enc.codec, rate=rate, layout=layout)
        if enc.codec == "vorbis":
            audio.codec_context.options = {"strict": "experimental"}
        video = _add_video(out, enc.video) if enc.video else None
        _mux_audio(out, audio, planar, rate, layout)
        if video is not None:
            _mux_video(out, video, planar.shape[1] / rate)
    return Path(path)


def _add_video(out: av.container.OutputContainer, codec: str) -> av.video.stream.VideoStream:
    video = out.add_stream(codec, rate=_VIDEO_FPS)
    video.width, video.height = _VIDEO_SIZE
    video.pix_fmt = "yuv420p"
    return video


def _mux_audio(out, stream, planar: np.ndarray, rate: int, layout: str) -> None:
    block = 4096
    for start in range(0, planar.shape[1], block):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, start : start + block]), format="fltp", layout=layout
        )
        frame.sample_rate, frame.pts = rate, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _mux_video(out, stream, seconds: float) -> None:
    width, height = _VIDEO_SIZE
    for i in range(max(1, round(seconds * _VIDEO_FPS))):
        picture = np.full((height, width, 3), (i * 20) % 256, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = i
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def write_video_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 with a picture and no sound."""
    with av.open(str(path), "w", format="mp4") as out:
        _mux_video(out, _add_video(out, "mpeg4"), seconds)
    return Path(path)


# --- one clip per format ---------------------------------------------------------------------------


def clip(rate: int = CLIP_RATE, channels: int = 2) -> np.ndarray:
    """The ALL_FORMATS content: CLIP_SECONDS of a CLIP_FREQ tone."""
    return tone(CLIP_FREQ, CLIP_SECONDS, rate, channels)


def _wav_maker(subtype: str) -> Maker:
    def make(folder: Path) -> Path:
        return write_wav(Path(folder) / f"clip_{subtype.lower()}.wav", clip(), CLIP_RATE, subtype)

    return make


def _encoded_maker(kind: str, ext: str) -> Maker:
    def make(folder: Path) -> Path:
        enc = ENCODINGS[kind]
        rate = CLIP_RATE if not enc.rates or CLIP_RATE in enc.rates else 48000
        return write_encoded(Path(folder) / f"clip_{kind}.{ext}", clip(rate), rate, kind)

    return make


ALL_FORMATS: list[tuple[str, Maker]] = [
    *((f"wav_{s.lower()}", _wav_maker(s)) for s in WAV_SUBTYPES),
    ("flac", _encoded_maker("flac", "flac")),
    ("ogg_vorbis", _encoded_maker("ogg", "ogg")),
    ("opus", _encoded_maker("opus", "opus")),
    ("mp3", _encoded_maker("mp3", "mp3")),
    ("m4a_aac", _encoded_maker("m4a", "m4a")),
    ("webm_opus", _encoded_maker("webm", "webm")),
    ("mp4_video", _encoded_maker("mp4", "mp4")),
    ("mkv_video", _encoded_maker("mkv", "mkv")),
]


# --- bad inputs ------------------------------------------------------------------------------------


def _wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_wav(Path(tmp) / "x.wav", samples, rate, subtype).read_bytes()


def _wav_header(rate: int, channels: int, bits: int, data_bytes: int, tag: int = 1) -> bytes:
    """A canonical 44-byte RIFF/WAVE header (fmt chunk of 16 bytes, then the data chunk's header)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def make_empty(folder: Path) -> Path:
    path = Path(folder) / "empty.wav"
    path.write_bytes(b"")
    return path


def make_missing(folder: Path) -> Path:
    """A path to nothing."""
    return Path(folder) / "missing.wav"


def make_directory(folder: Path) -> Path:
    path = Path(folder) / "folder.wav"
    path.mkdir(exist_ok=True)
    return path


def make_truncated_header(folder: Path) -> Path:
    """A WAV cut 30 bytes in, inside its fmt chunk."""
    path = Path(folder) / "cut_header.wav"
    path.write_bytes(_wav_bytes(tone(), 16000)[:30])
    return path


def make_truncated_data(folder: Path, keep: float = 0.95) -> Path:
    """A WAV whose last few percent of samples are missing (the header still declares them all)."""
    data = _wav_bytes(tone(), 16000)
    path = Path(folder) / "cut_data.wav"
    path.write_bytes(data[: 44 + int((len(data) - 44) * keep) // 2 * 2])
    return path


def make_truncated_flac(folder: Path) -> Path:
    """A FLAC cut in half (STREAMINFO declares the full length)."""
    data = write_encoded(Path(folder) / "whole.flac", clip(), CLIP_RATE, "flac").read_bytes()
    path = Path(folder) / "cut.flac"
    path.write_bytes(data[: len(data) // 2])
    return path


def make_truncated_mp4(folder: Path) -> Path:
    """An M4A cut before its index (moov), as a half-finished download or copy leaves it."""
    data = write_encoded(Path(folder) / "whole.m4a", clip(), CLIP_RATE, "m4a").read_bytes()
    path = Path(folder) / "cut.m4a"
    path.write_bytes(data[: len(data) // 2])
    return path


def make_text_as_wav(folder: Path) -> Path:
    path = Path(folder) / "notes.wav"
    path.write_text("Meeting notes\n- ask about the budget\n- send the slides\n" * 20)
    return path


def make_garbage(folder: Path) -> Path:
    """Random bytes named .mp3."""
    path = Path(folder) / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    return path


def make_image_as_mp3(folder: Path) -> Path:
    """A PNG picture named .mp3 (FFmpeg would open it as a one-frame video)."""
    path = Path(folder) / "cover.mp3"
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_video_without_audio(folder: Path) -> Path:
    return write_video_only(Path(folder) / "silent_movie.mp4")


def _float_wav_with(folder: Path, name: str, value: float) -> Path:
    samples = tone()
    samples[len(samples) // 2] = value
    return write_wav(Path(folder) / name, samples, 16000, "FLOAT")


def make_nan_wav(folder: Path) -> Path:
    return _float_wav_with(folder, "nan.wav", np.nan)


def make_inf_wav(folder: Path) -> Path:
    return _float_wav_with(folder, "inf.wav", np.inf)


def make_zero_rate_wav(folder: Path) -> Path:
    path = Path(folder) / "zero_rate.wav"
    pcm = (tone() * 32767).astype("<i2").tobytes()
    path.write_bytes(_wav_header(0, 1, 16, len(pcm)) + pcm)
    return path


def make_zero_channels_wav(folder: Path) -> Path:
    path = Path(folder) / "zero_channels.wav"
    pcm = (tone() * 32767).astype("<i2").tobytes()
    path.write_bytes(_wav_header(16000, 0, 16, len(pcm)) + pcm)
    return path


def make_no_samples_wav(folder: Path) -> Path:
    """A complete WAV header that declares 0 frames, and nothing after it."""
    path = Path(folder) / "no_samples.wav"
    path.write_bytes(_wav_header(16000, 1, 16, 0))
    return path


def make_unsupported_codec_wav(folder: Path) -> Path:
    """A WAV whose format tag names a codec no decoder knows (0x3FFF)."""
    path = Path(folder) / "odd_codec.wav"
    path.write_bytes(_wav_header(16000, 1, 16, 32000, tag=0x3FFF) + bytes(32000))
    return path


def make_unreadable(folder: Path) -> Path:
    """A WAV with mode 000 in a folder anyone may enter (only a non-root reader is refused)."""
    Path(folder).chmod(0o755)
    path = write_wav(Path(folder) / "private.wav", tone(), 16000)
    path.chmod(0)
    return path


def drop_privileges() -> None:
    """subprocess preexec_fn: become user nobody, for whom mode-000 files really are unreadable."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


BAD_INPUTS: list[tuple[str, Maker, str]] = [
    ("empty", make_empty, "empty (0 bytes)"),
    ("missing", make_missing, "does not exist"),
    ("directory", make_directory, "is a folder"),
    ("truncated_header", make_truncated_header, "truncated inside its header"),
    ("truncated_data", make_truncated_data, "truncated"),
    ("truncated_flac", make_truncated_flac, "truncated"),
    ("truncated_mp4", make_truncated_mp4, "truncated"),
    ("text_as_wav", make_text_as_wav, "text file"),
    ("garbage", make_garbage, "not a recognised audio format"),
    ("image_as_mp3", make_image_as_mp3, "PNG image"),
    ("video_without_audio", make_video_without_audio, "no audio track"),
    ("nan_wav", make_nan_wav, "NaN"),
    ("inf_wav", make_inf_wav, "infinite"),
    ("zero_rate_wav", make_zero_rate_wav, "sample rate of 0"),
    ("zero_channels_wav", make_zero_channels_wav, "0 channels"),
    ("no_samples_wav", make_no_samples_wav, "no audio samples"),
    ("unsupported_codec", make_unsupported_codec_wav, "unsupported audio codec"),
]
