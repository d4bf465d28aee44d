"""``heron doctor``: what this machine has for Heron, each problem with its fix."""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OK, WARN, FAIL = "ok", "warn", "fail"
GiB = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn or fail
    detail: str
    fix: str = ""


def run_checks(models_dir: Path, cache_dir: Path | None = None) -> Iterator[Check]:
    checks: list[Callable[[], Check]] = [
        _python,
        _torch,
        _cuda,
        _bitsandbytes,
        _transformers,
        _audio_libraries,
        _sound_devices,
        lambda: _models(models_dir),
        lambda: _disk(models_dir),
        *([lambda: _quantized_copies(cache_dir)] if cache_dir else []),
    ]
    for check in checks:
        try:
            yield check()
        except Exception as exc:  # one broken probe must not hide the others
            yield Check(check.__name__.strip("_"), FAIL, f"check failed: {exc}", "")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _python() -> Check:
    # An older Python never gets this far (the package requires 3.11): the line reports the version.
    return Check("Python", OK, ".".join(map(str, sys.version_info[:3])))


def _torch() -> Check:
    try:
        import torch
    except Exception as exc:
        return Check("PyTorch", FAIL, f"cannot import: {exc}", "Reinstall Heron: bash packaging/install.sh")
    return Check("PyTorch", OK, f"{torch.__version__}, {torch.get_num_threads()} CPU threads")


def _cuda() -> Check:
    import torch

    if not torch.cuda.is_available():
        if torch.version.cuda is None and nvidia_driver_present():
            return Check(
                "CUDA GPU",
                WARN,
                "an NVIDIA driver is installed, but this Heron's PyTorch is the CPU-only build",
                "Install the CUDA build: `pipx install heron` on Linux (PyPI's torch has CUDA), "
                "or the heron-…-cuda bundle (see packaging/README.md).",
            )
        return Check(
            "CUDA GPU",
            WARN,
            "none found: Heron runs on the CPU, which is slow for the full 7B model",
            "For speed, use a machine with an NVIDIA GPU (8 GB or more for nf4) and its driver.",
        )
    free, total = torch.cuda.mem_get_info()
    name = torch.cuda.get_device_name()
    detail = f"{name}, {free / GiB:.1f} GiB free of {total / GiB:.1f} GiB (CUDA {torch.version.cuda})"
    if total < 8 * GiB:
        return Check("CUDA GPU", WARN, detail, "Under 8 GB: use --precision nf4 and shorter recordings.")
    return Check("CUDA GPU", OK, detail)


def nvidia_driver_present() -> bool:
    """An NVIDIA kernel driver (Linux) or its command-line tool: a GPU PyTorch could use with CUDA."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def _bitsandbytes() -> Check:
    version = _version("bitsandbytes")
    if version is None:
        return Check(
            "bitsandbytes", FAIL, "not installed", "pip install bitsandbytes==0.50.2 (needed for nf4/int8)"
        )
    return Check("bitsandbytes", OK, f"{version} (nf4 and int8 available)")


def _transformers() -> Check:
    version = _version("transformers")
    try:
        from transformers import MusicFlamingoForConditionalGeneration  # noqa: F401
    except ImportError:
        return Check(
            "transformers", FAIL, f"{version}: no AF-Next support", "pip install transformers==5.24.0"
        )
    return Check("transformers", OK, f"{version} (AF-Next supported)")


def _audio_libraries() -> Check:
    missing = [p for p in ("av", "soundfile", "soxr") if _version(p) is None]
    if missing:
        return Check(
            "Audio decoding", FAIL, f"missing: {', '.join(missing)}", f"pip install {' '.join(missing)}"
        )
    return Check("Audio decoding", OK, f"PyAV {_version('av')}, soundfile {_version('soundfile')}")


def _sound_devices() -> Check:
    try:
        import sounddevice
    except OSError:
        return Check(
            "Sound devices",
            FAIL,
            "the PortAudio library is missing",
            "sudo apt-get install libportaudio2 (Debian/Ubuntu)",
        )
    devices = sounddevice.query_devices()
    inputs = sum(1 for d in devices if d["max_input_channels"] > 0)
    outputs = sum(1 for d in devices if d["max_output_channels"] > 0)
    detail = f"{inputs} input(s), {outputs} output(s)"
    if not inputs or not outputs:
        return Check(
            "Sound devices",
            WARN,
            detail,
            "Connect a microphone and speakers, or check that PulseAudio/PipeWire is running; "
            "asking about files works without them.",
        )
    return Check("Sound devices", OK, detail)


def _models(models_dir: Path) -> Check:
    from engine.model.registry import installed_models

    found = installed_models(models_dir)
    if not found:
        return Check(
            "Models",
            WARN,
            f"none downloaded in {models_dir}",
            "heron models download instruct (about 16.5 GB; research / non-commercial licence)",
        )
    names = ", ".join(f"{m.name} ({m.size_bytes / GiB:.1f} GiB)" for m in found)
    return Check("Models", OK, names)


def _quantized_copies(cache_dir: Path) -> Check:
    """Where the quantized copies that make later loads quick are, and their size."""
    from engine.model import quantized_cache

    return Check("Quantized copies", OK, quantized_cache.summary(cache_dir / quantized_cache.FOLDER))


def _disk(models_dir: Path) -> Check:
    existing = next(p for p in [models_dir, *models_dir.parents] if p.exists())
    free = shutil.disk_usage(existing).free
    detail = f"{free / GiB:.1f} GiB free for models"
    if free < 20 * GiB:
        return Check("Disk space", WARN, detail, "A model needs up to 17 GB: free some space first.")
    return Check("Disk space", OK, detail)
