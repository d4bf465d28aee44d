"""engine.audio: every common file becomes float32 mono 16 kHz, and every unusable one says why."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from engine.audio import SAMPLE_RATE, AudioError, AudioInfo, decode_audio, probe_audio
from engine.audio.output import OutputBuffer
from engine.errors import CancelledError
from tests import media

ROOT = Path(__file__).resolve().parents[1]


def peak_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def band_amplitude(samples: np.ndarray, freq: float, rate: int = SAMPLE_RATE) -> float:
    """Amplitude of the sine at ``freq`` (an exact bin: whole seconds of signal)."""
    spectrum = np.abs(np.fft.rfft(samples)) * 2 / len(samples)
    return float(spectrum[round(freq * len(samples) / rate)])


# --- every format ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def format_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    return {name: maker(folder) for name, maker in media.ALL_FORMATS}


@pytest.mark.parametrize("name", [name for name, _ in media.ALL_FORMATS])
def test_every_format_decodes_to_16k_mono_float32_and_keeps_the_tone(format_files, name):
    samples = decode_audio(format_files[name])

    assert samples.dtype == np.float32 and samples.ndim == 1 and samples.flags.c_contiguous
    assert len(samples) / SAMPLE_RATE == pytest.approx(media.CLIP_SECONDS, rel=0.01)
    assert peak_hz(samples) == pytest.approx(media.CLIP_FREQ, abs=2)
    # Both channels carry the same tone, so their mean is that tone.
    assert rms(samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


@pytest.mark.parametrize("name", [name for name, _ in media.ALL_FORMATS])
def test_probe_describes_every_format(format_files, name):
    info = probe_audio(format_files[name])

    assert isinstance(info, AudioInfo)
    assert info.channels == 2
    assert info.sample_rate in (44100, 48000)
    assert info.duration_s == pytest.approx(media.CLIP_SECONDS, abs=0.02)
    assert info.codec and info.container
    assert info.path == format_files[name]


def test_video_files_give_their_audio_track(format_files):
    for name in ("mp4_video", "mkv_video"):
        with av.open(str(format_files[name])) as container:
            assert container.streams.video and container.streams.audio  # really a video with sound
        assert peak_hz(decode_audio(format_files[name])) == pytest.approx(media.CLIP_FREQ, abs=2)


# --- WAV: every subtype, rate and channel count ---------------------------------------------------

WAV_RATES = (8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000)


@pytest.mark.parametrize("rate", WAV_RATES)
@pytest.mark.parametrize("subtype", media.WAV_SUBTYPES)
def test_wav_subtypes_and_rates(tmp_path, subtype, rate):
    freq = 440.0 if rate > 8000 else 300.0
    path = media.write_wav(tmp_path / "x.wav", media.tone(freq, 1.0, rate, channels=2), rate, subtype)

    samples = decode_audio(path)

    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - SAMPLE_RATE) <= 1  # lossless: exactly 1 s
    assert peak_hz(samples) == pytest.approx(freq, abs=1)
    quantisation = 0.02 if subtype == "PCM_U8" else 0.002
    assert band_amplitude(samples, freq) == pytest.approx(0.5, abs=quantisation + 0.005)


@pytest.mark.parametrize("channels", range(1, 9))
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_wav_channels_are_averaged(tmp_path, subtype, channels):
    # 440 Hz in the first channel, 1 kHz in the last, silence between: the mean holds each at 0.45/channels.
    samples = np.zeros((48000, channels), np.float32)
    samples[:, 0] = media.tone(440.0, 1.0, 48000, amplitude=0.45)
    samples[:, -1] += media.tone(1000.0, 1.0, 48000, amplitude=0.45)
    path = media.write_wav(tmp_path / "multi.wav", samples, 48000, subtype)

    mono = decode_audio(path)

    assert band_amplitude(mono, 440.0) == pytest.approx(0.45 / channels, abs=0.002)
    assert band_amplitude(mono, 1000.0) == pytest.approx(0.45 / channels, abs=0.002)


def test_16k_float_wav_passes_through_unchanged(tmp_path):
    original = media.tone(440.0, 1.0, SAMPLE_RATE) * np.linspace(0, 1, SAMPLE_RATE, dtype=np.float32)
    path = media.write_wav(tmp_path / "exact.wav", original, SAMPLE_RATE, "FLOAT")

    np.testing.assert_array_equal(decode_audio(path), original)


def test_streamed_wav_with_an_open_size_decodes_to_the_end(tmp_path):
    path = media.write_wav(tmp_path / "streamed.wav", media.tone(seconds=1.5), SAMPLE_RATE, "PCM_16")
    data = bytearray(path.read_bytes())
    data[4:8] = data[40:44] = struct.pack("<I", 0xFFFFFFFF)  # as a recorder writing to a pipe leaves it
    path.write_bytes(bytes(data))

    assert len(decode_audio(path)) == 24000


def test_wav_with_extra_chunks_before_the_data(tmp_path):
    tone = (media.tone(seconds=1.0) * 32767).astype("<i2").tobytes()
    header = media._wav_header(SAMPLE_RATE, 1, 16, len(tone))
    body = b"INFO" + b"ISFT" + struct.pack("<I", 5) + b"heron"
    info = b"LIST" + struct.pack("<I", len(body)) + body + b"\x00"  # an odd size is padded to even
    path = tmp_path / "chunks.wav"
    path.write_bytes(header[:36] + info + header[36:] + tone)
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))

    assert peak_hz(decode_audio(path)) == pytest.approx(440.0, abs=1)


@pytest.mark.parametrize("container", ["RF64", "W64", "AIFF", "CAF"])
def test_other_pcm_containers(tmp_path, container):
    path = tmp_path / f"tone.{container.lower()}"
    sf.write(path, media.tone(seconds=1.0, rate=22050, channels=2), 22050, "PCM_16", format=container)

    samples = decode_audio(path)

    assert abs(len(samples) - SAMPLE_RATE) <= 1
    assert peak_hz(samples) == pytest.approx(440.0, abs=1)


@pytest.mark.parametrize(
    "head,is_text",
    [
        (b"Meeting notes\n- budget\n", True),
        ("caf\u00e9 \u2014 notes\n".encode(), True),
        ("hello".encode("utf-16"), True),
        (b"<!DOCTYPE html><html>404</html>", True),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", False),
        (bytes(range(256)), False),
        (b"ID3\x04\x00\x00\x00\x00\x00\x0a", False),
    ],
)
def test_text_is_told_from_audio(head, is_text):
    from engine.audio.sniff import identify, looks_like_text

    assert (identify(head) is None and looks_like_text(head)) == is_text


# --- content survives ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3", "opus", "m4a"])
def test_speech_has_energy_where_it_was_spoken(tmp_path, kind):
    rate = 48000
    voice = media.speech(rate=rate)
    gap = media.silence(0.75, rate)
    stereo = np.repeat(np.concatenate([gap, voice, gap])[:, None], 2, axis=1)
    if kind == "wav":
        path = media.write_wav(tmp_path / "speech.wav", stereo, rate)
    else:
        path = media.write_encoded(tmp_path / f"speech.{kind}", stereo, rate, kind)

    samples = decode_audio(path)

    spoken = slice(int(0.75 * SAMPLE_RATE), int((0.75 + len(voice) / rate) * SAMPLE_RATE))
    assert len(samples) / SAMPLE_RATE == pytest.approx(len(stereo) / rate, abs=0.03)
    assert rms(samples[: int(0.6 * SAMPLE_RATE)]) < 0.003  # the leading gap stays (nearly) silent
    assert rms(samples[-int(0.6 * SAMPLE_RATE) :]) < 0.003
    assert rms(samples[spoken]) > 10 * max(rms(samples[: int(0.6 * SAMPLE_RATE)]), 1e-4)
    reference = media.speech(rate=SAMPLE_RATE)
    if kind in ("wav", "flac"):  # lossless: the decoded speech is the reference, resampled
        got = samples[spoken.start : spoken.start + len(reference)]
        assert np.corrcoef(got, reference[: len(got)])[0, 1] > 0.99


@pytest.mark.parametrize("kind", ["wav", "mp3", "opus"])
def test_silence_is_valid_audio(tmp_path, kind):
    stereo = media.silence(1.0, 48000, channels=2)
    if kind == "wav":
        path = media.write_wav(tmp_path / "quiet.wav", stereo, 48000)
    else:
        path = media.write_encoded(tmp_path / f"quiet.{kind}", stereo, 48000, kind)

    samples = decode_audio(path)

    assert len(samples) / SAMPLE_RATE == pytest.approx(1.0, abs=0.03)
    assert np.abs(samples).max() < 1e-3


# --- unusable input --------------------------------------------------------------------------------


@pytest.mark.parametrize("name,maker,reason", media.BAD_INPUTS, ids=[b[0] for b in media.BAD_INPUTS])
def test_bad_input_raises_one_line_naming_file_and_reason(tmp_path, name, maker, reason):
    path = maker(tmp_path)

    with pytest.raises(AudioError) as caught:
        decode_audio(path)

    message = str(caught.value)
    assert "\n" not in message
    assert f"'{path.name}'" in message
    assert reason in message
    assert caught.value.kind == "audio"


def test_bad_inputs_have_distinct_reasons(tmp_path):
    reasons = []
    for name, maker, _ in media.BAD_INPUTS:
        folder = tmp_path / name
        folder.mkdir()
        path = maker(folder)
        with pytest.raises(AudioError) as caught:
            decode_audio(path)
        reasons.append(str(caught.value).split(": ", 1)[1])
    assert len(set(reasons)) == len(reasons)


def test_probe_reports_open_time_errors(tmp_path):
    with pytest.raises(AudioError, match="sample rate of 0"):
        probe_audio(media.make_zero_rate_wav(tmp_path))
    with pytest.raises(AudioError, match="no audio track"):
        probe_audio(media.make_video_without_audio(tmp_path))


@pytest.mark.parametrize(
    "kind,keep",
    [("flac", 0.96), ("mp3", 0.96), ("ogg", 0.96), ("opus", 0.9), ("webm", 0.96), ("mkv", 0.96)]
    + [("m4a", 0.96)],
)
def test_compressed_file_a_few_percent_short_is_truncated(tmp_path, kind, keep):
    rate = 48000
    # Noise: it does not compress, so cutting 4 % of the bytes cuts about 4 % of the audio.
    noise = np.random.default_rng(1).uniform(-0.3, 0.3, (5 * rate, 2)).astype(np.float32)
    whole = media.write_encoded(tmp_path / f"whole.{kind}", noise, rate, kind)
    assert len(decode_audio(whole)) / SAMPLE_RATE == pytest.approx(5.0, abs=0.05)
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(AudioError, match="truncated") as caught:
        decode_audio(cut)
    assert "'cut." in str(caught.value)


def _decode_in_forked_child(path: Path, drop_root: bool) -> str:
    """decode_audio in a forked child (as user nobody if ``drop_root``); its error message, or "decoded".

    A fork, not a new interpreter: nobody may not be able to run this venv's python (it can live under
    /root), while the forked child already has everything imported.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read_end)
            if drop_root:
                media.drop_privileges()
            try:
                decode_audio(path)
                message = "decoded"
            except AudioError as exc:
                message = str(exc)
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message


def test_unreadable_file_says_permission_denied():
    folder = Path(tempfile.mkdtemp(prefix="heron-perm-"))  # outside pytest's root-only tmp folders
    try:
        path = media.make_unreadable(folder)
        # Root reads a mode-000 file anyway, so as root the check runs as user nobody.
        message = _decode_in_forked_child(path, drop_root=os.geteuid() == 0)
        assert message == "Cannot open 'private.wav': permission denied (you may not read this file)."
    finally:
        (folder / "private.wav").unlink(missing_ok=True)
        folder.rmdir()


# --- progress, cancel, memory ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=["wav", "flac"])
def twenty_seconds(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of stereo 44.1 kHz, as WAV (read by soundfile) and FLAC (read by PyAV)."""
    path = tmp_path_factory.mktemp("long") / f"twenty.{request.param}"
    tone = media.tone(seconds=20.0, rate=44100, channels=2)
    if request.param == "wav":
        return media.write_wav(path, tone, 44100)
    return media.write_encoded(path, tone, 44100, "flac")


def test_progress_reports_as_decoding_goes(twenty_seconds):
    calls: list[tuple[float, float | None]] = []

    samples = decode_audio(twenty_seconds, progress=lambda done, total: calls.append((done, total)))

    assert len(samples) == 20 * SAMPLE_RATE
    assert len(calls) >= 4  # one per block: 1.5 s of audio (PyAV), 6 s (soundfile)
    done = [d for d, _ in calls]
    assert done == sorted(done) and 0 < done[0] <= 6.0
    assert max(np.diff(done)) <= 6.0
    assert all(total == pytest.approx(20.0) for _, total in calls)
    assert calls[-1] == (pytest.approx(20.0), pytest.approx(20.0))


def test_cancel_stops_decoding(twenty_seconds):
    polls: list[int] = []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) >= 3

    with pytest.raises(CancelledError, match="Decoding cancelled."):
        decode_audio(twenty_seconds, should_cancel=should_cancel)
    assert len(polls) == 3


def test_output_buffer_grows_and_trims_in_place():
    buffer = OutputBuffer(expected_samples=10)  # far too small: it must grow, more than once
    chunks = [np.full(70_000, i, np.float32) for i in range(5)]
    for chunk in chunks:
        buffer.write(chunk)

    result = buffer.finish()

    np.testing.assert_array_equal(result, np.concatenate(chunks))
    assert result.flags.owndata and result.nbytes == 350_000 * 4


# Peak from VmHWM: ru_maxrss of a child starts at its parent's peak (Linux carries it across exec).
_MEMORY_CHILD = """
import json, re, sys
from engine.audio import decode_audio

def status_kib(field):
    return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))

decode_audio(sys.argv[2])  # warm up: load the codecs, the resampler, the thread
before = status_kib("VmRSS")
samples = decode_audio(sys.argv[1])
print(json.dumps({"growth": (status_kib("VmHWM") - before) * 1024, "output": samples.nbytes}))
"""


def test_decoding_streams_in_bounded_memory(tmp_path):
    # 20 minutes of stereo 44.1 kHz is 423 MB as float32 at its own rate and 77 MB as the 16 kHz result.
    path = tmp_path / "twenty_minutes.wav"
    minute = media.tone(seconds=60.0, rate=44100, channels=2)
    with sf.SoundFile(path, "w", 44100, 2, "PCM_16") as f:
        for _ in range(20):
            f.write(minute)
    warm = media.write_wav(tmp_path / "warm.wav", minute[:44100], 44100)

    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(path), str(warm)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)

    assert result["output"] == 20 * 60 * SAMPLE_RATE * 4
    # Not 2x (blocks concatenated at the end), nor 5.5x more (the file held at its own rate).
    assert result["growth"] < 1.2 * result["output"] + 16 * 2**20


def test_engine_audio_imports_no_qt():
    code = "import sys, engine.audio; print(any(m.startswith(('PySide6', 'PyQt')) for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
