"""A quantized copy of a model on disk, so the next start reads it instead of quantizing again.

One copy per source folder, precision and kind of device, under the caller's folder
(``<root>/<model>-<path hash>/<precision>-<cpu|cuda>/``); a new copy replaces the old one.
A copy is keyed on what made it: the source's config and weight files (names, sizes,
modification times), the versions of torch, transformers, bitsandbytes and safetensors, the
precision, the device kind and the dtype of the unquantized parts. A copy whose key differs is
stale and is rebuilt.

A copy is written into a temporary folder and renamed into place last, so a killed process
or a full disk never leaves a half copy that a later start would read; ``heron-cache.json``,
written last inside it, lists every file and its size. A copy that fails these checks, or
fails to load, is deleted with a log line and rebuilt: never an error for the user. What is
not checked: flipped bits inside the tensor data (hashing gigabytes would cost the seconds
the copy saves).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.model.precision import compute_dtype_name

log = logging.getLogger(__name__)

FOLDER = "quantized"  # the copies' folder in the app's cache folder
FORMAT = 1  # bump when what is written changes
KEY_FILE = "heron-cache.json"
SHARD_SIZE = "512MB"  # a CUDA model's shard is copied to RAM before it is written: keep it small
DISK_MARGIN = 1_000_000_000  # bytes left free on the disk after a copy is written
LIBRARIES = ("torch", "transformers", "bitsandbytes", "safetensors")


@dataclass(frozen=True)
class CachedCopy:
    folder: Path
    weight_files: list[Path]


def device_kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else "cpu"


def slot(root: Path, source: Path, precision: str, device: str) -> Path:
    """The one folder a copy of ``source`` at ``precision`` on this kind of device lives in."""
    source = Path(source).resolve()
    digest = hashlib.sha256(str(source).encode("utf-8")).hexdigest()[:12]
    return Path(root) / f"{source.name}-{digest}" / f"{precision}-{device_kind(device)}"


def cache_key(source: Path, weight_files: list[Path], precision: str, device: str) -> dict[str, Any]:
    """What a copy was made from: when any of it changes, the copy is stale."""
    source = Path(source).resolve()
    config = (source / "config.json").read_bytes()
    return {
        "format": FORMAT,
        "source": str(source),
        "config_sha256": hashlib.sha256(config).hexdigest(),
        "files": [_file_identity(f) for f in weight_files],
        "versions": library_versions(),
        "precision": precision,
        "device": device_kind(device),
        "other_parts": compute_dtype_name(precision, device),  # bf16 or fp32: the CPU decides
    }


def library_versions() -> dict[str, str]:
    return {name: _version(name) for name in LIBRARIES}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _file_identity(file: Path) -> list:
    stat = Path(file).stat()
    return [Path(file).name, stat.st_size, stat.st_mtime_ns]


def find(folder: Path, key: dict[str, Any]) -> CachedCopy | None:
    """The copy in ``folder`` if it was made from ``key`` and is whole; a stale or broken one is
    deleted (and logged) so the caller rebuilds it."""
    if not folder.exists():
        return None
    try:
        record = json.loads((folder / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return discard(folder, f"its {KEY_FILE} is unreadable ({exc.__class__.__name__})")
    if not isinstance(record, dict) or record.get("key") != key:
        return discard(folder, "the checkpoint or a library changed since it was made")
    problem = _missing_or_cut(folder, record.get("files"))
    if problem:
        return discard(folder, problem)
    return CachedCopy(
        folder, sorted(folder / name for name in record["files"] if name.endswith(".safetensors"))
    )


def _missing_or_cut(folder: Path, files: Any) -> str | None:
    """What is wrong with the files against the record: sizes, and the safetensors headers (every
    tensor's name, shape and place), which a cut, a lost tensor or a rewrite changes."""
    if not isinstance(files, dict) or not any(name.endswith(".safetensors") for name in files):
        return f"its {KEY_FILE} lists no weights"
    for name, recorded in files.items():
        path = folder / name
        if not path.is_file() or [path.stat().st_size, _header_digest(path)] != recorded:
            return f"{name} is missing, has the wrong size or a changed header"
    return None


def _header_digest(path: Path) -> str | None:
    """sha256 of a safetensors file's header (names, dtypes, shapes, offsets); None for other files."""
    if path.suffix != ".safetensors":
        return None
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        return hashlib.sha256(f.read(min(length, 100_000_000))).hexdigest()


def discard(folder: Path, why: str) -> None:
    log.warning("Quantized copy %s discarded and rebuilt: %s.", folder, why)
    shutil.rmtree(folder, ignore_errors=True)
    return None


def save(model, folder: Path, key: dict[str, Any], expected_bytes: int) -> bool:
    """Write ``model`` (quantized) as the copy in ``folder``, atomically; False (logged) when the disk
    has no room or writing fails: the model in memory is unaffected."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder.parent)
    free = shutil.disk_usage(folder.parent).free
    if free < expected_bytes + DISK_MARGIN:
        log.warning("No quantized copy written: %s has %.1f GB free.", folder.parent, free / 1e9)
        return False
    temporary = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        model.save_pretrained(temporary, max_shard_size=SHARD_SIZE)
        files = {p.name: [p.stat().st_size, _header_digest(p)] for p in temporary.iterdir() if p.is_file()}
        _write_synced(temporary / KEY_FILE, json.dumps({"key": key, "files": files}, indent=1))
        _replace(folder, temporary)
    except (OSError, RuntimeError, ValueError) as exc:
        log.warning("No quantized copy written to %s: %s", folder, exc)
        shutil.rmtree(temporary, ignore_errors=True)
        return False
    log.info("Quantized copy written to %s.", folder)
    return True


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _replace(folder: Path, temporary: Path) -> None:
    """Put ``temporary`` where ``folder`` is: a crash in between leaves no copy, never half of one."""
    for file in temporary.iterdir():  # the data on disk before the rename makes it visible
        with open(file, "rb") as f:
            os.fsync(f.fileno())
    old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
    if folder.exists():
        folder.rename(old)
    temporary.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(parent: Path) -> None:
    """Temporary and replaced folders that a killed process left behind (not a live writer's)."""
    for leftover in parent.glob(".tmp-*"):
        pid = leftover.name.split("-")[-2]
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in parent.glob(".old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def prune(root: Path) -> None:
    """Drop the copies of models whose source folder is gone, so the cache does not outgrow them."""
    for copy in _copies(root):
        try:
            source = json.loads((copy / KEY_FILE).read_text(encoding="utf-8"))["key"]["source"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # find() judges these when they are asked for
        if not Path(source).exists():
            discard(copy, f"its source {source} is gone")


def summary(root: Path) -> str:
    """How many copies there are, their size and where: for ``heron doctor``."""
    copies = [c for c in _copies(root) if (c / KEY_FILE).is_file()]
    size = sum(f.stat().st_size for c in copies for f in c.iterdir() if f.is_file())
    return f"{len(copies)} quantized cop{'y' if len(copies) == 1 else 'ies'}, {size / 1e9:.1f} GB in {root}"


def _copies(root: Path) -> list[Path]:
    """Every copy's folder (``<root>/<model>/<precision>-<device>``), leftovers of writes aside."""
    if not Path(root).is_dir():
        return []
    models = [m for m in Path(root).iterdir() if m.is_dir() and not m.name.startswith((".tmp-", ".old-"))]
    return [
        c for m in models for c in m.iterdir() if c.is_dir() and not c.name.startswith((".tmp-", ".old-"))
    ]
