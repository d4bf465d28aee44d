"""Benchmark: decode a 3-hour stereo 44.1 kHz recording to 16 kHz mono, against a bare PyAV decode.

    python bench/ingest.py [--hours 3] [--repeats 3] [--formats mp3,flac,wav] [--cache DIR] [--root DIR]

The recordings are made once and cached (default: <tmp>/heron-bench): CBR 128 kb/s MP3 (one encoded
minute repeated: cheap to make, and it decodes like one long encode; MP3 gives the JSON line: it is
the common format for long recordings), FLAC (1.3 GB) and 16-bit PCM WAV (1.8 GB).
Each measurement runs in its own subprocess: the decode call's wall seconds (best of --repeats,
since other work on the machine only ever adds time), its CPU seconds (all threads), and peak
resident memory: ru_maxrss from wait4 ("peak MB", the JSON's peak_mb; Linux starts it at the
parent's own peak, so the parent stays small) and the child's VmHWM ("hwm MB"). Both include the
interpreter and libraries: see the "idle" line. The floor, "bare", demuxes and decodes every frame
with PyAV and discards it. ``--root`` imports engine.audio from another tree (an older checkout) to
compare versions. Prints a table, then one JSON line for the first format.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RATE, CHANNELS, CHUNK_S = 44100, 2, 60


# --- making the recordings (in a subprocess, so that this process stays small) ----------------------


def _minute(index: int) -> np.ndarray:
    """One minute of stereo: speech-band tones that drift, plus a little noise; the channels differ."""
    rng = np.random.default_rng(index)
    t = np.arange(CHUNK_S * RATE) / RATE
    freq = 200 + 40 * (index % 7)
    voice = 0.3 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    left = voice + 0.02 * rng.standard_normal(len(t))
    right = 0.8 * voice + 0.02 * rng.standard_normal(len(t))
    return np.stack([left, right], axis=1).astype(np.float32)


def make_pcm(path: Path, fmt: str, minutes: int) -> None:
    import soundfile as sf

    with sf.SoundFile(path, "w", RATE, CHANNELS, "PCM_16", format=fmt) as f:
        for i in range(minutes):
            f.write(_minute(i))


def make_mp3(path: Path, minutes: int) -> None:
    """CBR without a Xing header: concatenated MP3 frames are one valid stream."""
    import av

    one = path.with_suffix(".minute.mp3")
    with av.open(str(one), "w", format="mp3", options={"write_xing": "0", "id3v2_version": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=RATE, layout="stereo")
        stream.bit_rate = 128000
        samples = np.ascontiguousarray(_minute(0).T)
        for start in range(0, samples.shape[1], RATE):
            chunk = samples[:, start : start + RATE]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = RATE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = one.read_bytes()
    with open(path, "wb") as f:
        for _ in range(minutes):
            f.write(data)
    one.unlink()


def make(fmt: str, path: Path, minutes: int) -> None:
    if fmt == "mp3":
        make_mp3(path, minutes)
    else:
        make_pcm(path, fmt.upper(), minutes)


def recording(cache: Path, fmt: str, hours: float) -> Path:
    minutes = round(hours * 60)
    path = cache / f"speechlike_{minutes}min_44k1_stereo.{fmt}"
    if not path.exists():
        print(f"making {path.name} (once) …", file=sys.stderr, flush=True)
        partial = path.with_name("partial-" + path.name)
        subprocess.run([sys.executable, __file__, "--make", fmt, str(partial), str(minutes)], check=True)
        partial.rename(path)
    return path


# --- measuring, one subprocess per run --------------------------------------------------------------

_CHILD = r"""
import json, re, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np, av, soxr
from engine.audio import decode_audio

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

mode, path = sys.argv[1], sys.argv[2]
start, start_cpu = time.perf_counter(), cpu()
samples = 0
if mode == "heron":
    samples = len(decode_audio(path))
elif mode == "bare":
    with av.open(path) as container:
        for frame in container.decode(container.streams.audio[0]):
            samples += frame.samples
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
hwm_kib = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({{"seconds": seconds, "cpu": cpu_seconds, "samples": samples, "hwm_mb": hwm_kib / 1024}}))
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float  # all threads: steadier than wall time on a shared machine
    peak_mb: float  # ru_maxrss of the child (from wait4)
    hwm_mb: float  # VmHWM: the peak of the child's own address space
    samples: int


def measure(mode: str, path: Path, root: Path) -> Run:
    code = _CHILD.format(root=str(root))
    child = subprocess.Popen([sys.executable, "-c", code, mode, str(path)], stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} run on {path.name} failed with status {os.waitstatus_to_exitcode(status)}")
    result = json.loads(out.strip().splitlines()[-1])
    return Run(result["seconds"], result["cpu"], usage.ru_maxrss / 1024, result["hwm_mb"], result["samples"])


def best(runs: list[Run]) -> Run:
    """Least time (other work on the machine only ever adds time), most memory."""
    return Run(
        min(r.seconds for r in runs),
        min(r.cpu_seconds for r in runs),
        max(r.peak_mb for r in runs),
        max(r.hwm_mb for r in runs),
        runs[0].samples,
    )


def compare(path: Path, repeats: int, root: Path) -> tuple[Run, Run]:
    """Heron and bare runs, alternated so that a burst of load elsewhere hits both alike."""
    heron, bare = [], []
    for _ in range(repeats):
        heron.append(measure("heron", path, root))
        bare.append(measure("bare", path, root))
    return best(heron), best(bare)


_COLUMNS = (
    "format",
    "file MB",
    "heron s",
    "bare s",
    "ratio",
    "cpu s",
    "bare cpu",
    "peak MB",
    "hwm MB",
    "out MB",
)
_HEAD = "{:<6} {:>7} {:>7} {:>6} {:>5} {:>6} {:>8} {:>7} {:>6} {:>6}"
_ROW = "{:<6} {:>7.0f} {:>7.2f} {:>6.2f} {:>5.2f} {:>6.2f} {:>8.2f} {:>7.0f} {:>6.0f} {:>6.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="mp3,flac,wav", help="the first one gives the JSON line")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "heron-bench")
    parser.add_argument("--root", type=Path, default=ROOT, help="import engine.audio from this tree")
    parser.add_argument("--make", nargs=3, metavar=("FORMAT", "PATH", "MINUTES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(args.make[0], Path(args.make[1]), int(args.make[2]))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    paths = {fmt: recording(args.cache, fmt, args.hours) for fmt in args.formats.split(",")}

    idle = measure("idle", Path(os.devnull), args.root)
    print(
        f"{args.hours:g} h stereo 44.1 kHz to 16 kHz mono float32;"
        f" best of {args.repeats}; {os.cpu_count()} CPUs"
    )
    print(f"idle child (python, numpy, av, soxr, engine.audio imported): {idle.hwm_mb:.0f} MB")
    print(_HEAD.format(*_COLUMNS))
    rows = []
    for fmt, path in paths.items():
        heron, bare = compare(path, args.repeats, args.root)
        ratio = heron.seconds / bare.seconds
        size_mb, out_mb = path.stat().st_size / 2**20, heron.samples * 4 / 2**20
        times = (heron.seconds, bare.seconds, ratio, heron.cpu_seconds, bare.cpu_seconds)
        print(_ROW.format(fmt, size_mb, *times, heron.peak_mb, heron.hwm_mb, out_mb), flush=True)
        rows.append((fmt, heron, bare, ratio))
    fmt, heron, bare, ratio = rows[0]
    summary = {
        "bench": "ingest",
        "seconds": round(heron.seconds, 3),
        "bare_seconds": round(bare.seconds, 3),
        "ratio": round(ratio, 3),
        "peak_mb": round(heron.peak_mb, 1),
        "format": fmt,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
