"""Download an AF-Next checkpoint into ``models_dir/<name>``, resumably, with progress.

The network part is thin (``fetch_file_sizes`` and the per-file fetch, offered as a
``HubSource``); planning, the disk-space check and the completeness marker are plain
functions over the file system. A ``ModelSource`` is where the files come from: the hub by
default, or a folder (engine/model/sources.py), so downloading and importing share one path.
The marker is written last, so ``registry.resolve_model`` never loads a half download;
an interrupted download resumes where it stopped (huggingface_hub keeps the partial file
under ``<dest>/.cache/huggingface``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from engine.errors import DiskSpaceError, HeronError
from engine.model.registry import COMPLETE_MARKER, ModelSpec, is_complete, model_dir

ProgressCallback = Callable[[int, int, str], None]  # (done_bytes, total_bytes, filename)

WANTED_SUFFIXES = (".safetensors", ".json", ".jinja")
TOKENIZER_FILES = ("merges.txt", "vocab.txt", "tokenizer.model", "chat_template.json")
MIN_MARGIN_BYTES = 1 << 30  # keep 1 GiB free beyond the download: the OS and other apps need room
MARGIN_FRACTION = 0.05


class DownloadError(HeronError):
    """A download that failed for a reason outside Heron (network, access, missing repo)."""

    kind = "download"


class ModelSource(Protocol):
    label: str

    def file_sizes(self) -> dict[str, int]: ...

    def fetch(self, name: str, dest: Path, on_bytes: Callable[[int], None]) -> None: ...


@dataclass(frozen=True)
class DownloadPlan:
    repo_id: str
    dest: Path
    files: dict[str, int]  # every wanted file and its size
    missing: tuple[str, ...]  # files not yet complete in dest, in download order

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    @property
    def missing_bytes(self) -> int:
        return sum(self.files[name] for name in self.missing)

    @property
    def done_bytes(self) -> int:
        return self.total_bytes - self.missing_bytes


# --- pure planning -----------------------------------------------------------------------


def is_wanted(filename: str) -> bool:
    """Weights, configs and tokenizer/template files at the repo's top level; never pickles."""
    path = PurePosixPath(filename)
    if len(path.parts) != 1:
        return False
    return path.suffix in WANTED_SUFFIXES or path.name in TOKENIZER_FILES


def plan_download(repo_id: str, dest: Path, file_sizes: dict[str, int]) -> DownloadPlan:
    """Which of ``file_sizes`` still need fetching: a file of the right size in dest is done."""
    dest = Path(dest)
    files = {name: int(size) for name, size in sorted(file_sizes.items()) if is_wanted(name)}
    missing = tuple(name for name in files if not _file_complete(dest / name, files[name]))
    # Small files first: config and tokenizer errors show up before gigabytes are spent.
    missing = tuple(sorted(missing, key=lambda name: (files[name], name)))
    return DownloadPlan(repo_id=repo_id, dest=dest, files=files, missing=missing)


def _file_complete(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def margin_bytes(needed_bytes: int) -> int:
    return max(MIN_MARGIN_BYTES, int(needed_bytes * MARGIN_FRACTION))


def check_disk_space(dest: Path, needed_bytes: int) -> None:
    """Raise DiskSpaceError unless the disk holding ``dest`` has room for the download and a margin."""
    if needed_bytes <= 0:
        return
    where = _existing_ancestor(Path(dest))
    free = shutil.disk_usage(where).free
    margin = margin_bytes(needed_bytes)
    if needed_bytes + margin <= free:
        return
    raise DiskSpaceError(
        f"Not enough disk space in {where}: the download needs {_gb(needed_bytes)} "
        f"(plus {_gb(margin)} to spare) but only {_gb(free)} is free; free up "
        f"{_gb(needed_bytes + margin - free)} or choose another models folder."
    )


def _existing_ancestor(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def mark_complete(dest: Path, plan: DownloadPlan) -> None:
    """Write the completeness marker (last, atomically) once every planned file is in place."""
    incomplete = [name for name, size in plan.files.items() if not _file_complete(dest / name, size)]
    if incomplete:
        raise DownloadError(
            f"The download of {plan.repo_id} is incomplete ({', '.join(incomplete[:3])}): "
            "run the download again."
        )
    record = {"repo_id": plan.repo_id, "files": plan.files, "completed_at": time.time()}
    tmp = dest / (COMPLETE_MARKER + ".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(dest / COMPLETE_MARKER)


def clear_complete(dest: Path) -> None:
    (Path(dest) / COMPLETE_MARKER).unlink(missing_ok=True)


# --- the network part --------------------------------------------------------------------


def fetch_file_sizes(repo_id: str, token: str | None = None) -> dict[str, int]:
    """The wanted files of a Hub model repo and their sizes (one metadata request)."""
    from huggingface_hub import HfApi

    with hub_errors(repo_id):
        info = HfApi().model_info(repo_id, files_metadata=True, token=token)
    sizes = {s.rfilename: int(s.size or 0) for s in info.siblings or [] if is_wanted(s.rfilename)}
    if not any(name.endswith(".safetensors") for name in sizes):
        raise DownloadError(f"{repo_id} has no safetensors weights on the Hub: Heron cannot use this repo.")
    return sizes


def download_model(
    spec: ModelSpec,
    models_dir: Path,
    on_progress: ProgressCallback | None = None,
    token: str | None = None,
    source: ModelSource | None = None,
) -> Path:
    """Fetch ``spec`` into ``models_dir/<name>`` and mark it complete; return the folder.

    ``source`` defaults to the Hugging Face hub; a FolderSource (engine/model/sources.py)
    imports from a folder instead. Resumes a previous partial download. ``on_progress`` may
    raise (e.g. CancelledError) to stop: the next call picks up where this one stopped.
    """
    source = source or HubSource(spec.repo_id, token)
    dest = model_dir(spec, models_dir)
    plan = plan_download(spec.repo_id, dest, source.file_sizes())
    report = on_progress or (lambda done, total, name: None)
    if not plan.missing and is_complete(dest):
        report(plan.total_bytes, plan.total_bytes, "")
        return dest
    check_disk_space(dest, plan.missing_bytes)
    dest.mkdir(parents=True, exist_ok=True)
    clear_complete(dest)  # the repo changed or a file is damaged: not complete until done again
    done = plan.done_bytes
    report(done, plan.total_bytes, "")
    for name in plan.missing:
        source.fetch(name, dest, _file_progress(report, done, plan.total_bytes, name))
        done += plan.files[name]
        report(done, plan.total_bytes, name)
    mark_complete(dest, plan)
    return dest


def _file_progress(report: ProgressCallback, base: int, total: int, name: str) -> Callable[[int], None]:
    return lambda n: report(base + n, total, name)


class HubSource:
    """The Hugging Face hub as a ModelSource."""

    def __init__(self, repo_id: str, token: str | None = None):
        self.repo_id, self.token, self.label = repo_id, token, repo_id

    def file_sizes(self) -> dict[str, int]:
        return fetch_file_sizes(self.repo_id, token=self.token)

    def fetch(self, name: str, dest: Path, on_bytes: Callable[[int], None]) -> None:
        fetch_file(self.repo_id, name, dest, on_bytes, self.token)


def fetch_file(
    repo_id: str, filename: str, dest: Path, on_bytes: Callable[[int], None], token: str | None = None
) -> Path:
    """Download one file into ``dest`` (resuming a partial one), reporting bytes done so far."""
    from huggingface_hub import hf_hub_download

    with hub_errors(repo_id):
        path = hf_hub_download(
            repo_id, filename, local_dir=dest, token=token, tqdm_class=_progress_class(on_bytes)
        )
    return Path(path)


def _progress_class(on_bytes: Callable[[int], None]):
    """A tqdm class that forwards the byte count instead of drawing a bar."""
    import io

    from tqdm import tqdm

    class _Progress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.update(disable=False, file=io.StringIO(), mininterval=0.0)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            on_bytes(int(self.n))
            return shown

    return _Progress


@contextmanager
def hub_errors(repo_id: str) -> Iterator[None]:
    """Turn huggingface_hub and network failures into one-line DownloadErrors."""
    from huggingface_hub import errors as hf

    url = f"https://huggingface.co/{repo_id}"
    try:
        yield
    except hf.GatedRepoError as exc:
        raise DownloadError(
            f"{repo_id} is gated: accept its licence at {url}, log in with `hf auth login`, then retry."
        ) from exc
    except hf.RepositoryNotFoundError as exc:
        raise DownloadError(
            f"{repo_id} was not found on the Hugging Face Hub (or it needs a login: `hf auth login`)."
        ) from exc
    except (hf.RevisionNotFoundError, hf.RemoteEntryNotFoundError) as exc:
        raise DownloadError(
            f"A file of {repo_id} is no longer on the Hub: retry later, or update Heron."
        ) from exc
    except hf.OfflineModeIsEnabled as exc:
        raise DownloadError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded: unset it and retry."
        ) from exc
    except hf.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise DownloadError(
                f"Access to {repo_id} was refused: log in with `hf auth login` "
                f"and accept the licence at {url}."
            ) from exc
        raise DownloadError(f"The Hugging Face Hub answered with an error ({status}): retry later.") from exc
    except OSError as exc:
        if getattr(exc, "errno", None) == 28:  # ENOSPC: the disk filled up during the download
            raise DiskSpaceError(
                "The disk filled up during the download: free some space and retry."
            ) from exc
        if isinstance(exc, hf.LocalEntryNotFoundError | ConnectionError | TimeoutError) or _is_transport(exc):
            raise _no_connection() from exc
        raise
    except Exception as exc:
        if _is_transport(exc):
            raise _no_connection() from exc
        raise


def _no_connection() -> DownloadError:
    return DownloadError(
        "No connection to the Hugging Face Hub (huggingface.co): check the network or proxy and retry; "
        "the download resumes where it stopped."
    )


def _is_transport(exc: BaseException) -> bool:
    """A connection or timeout failure of the HTTP client, whichever one huggingface_hub uses."""
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3") and any(
            word in cls.__name__ for word in ("Transport", "Connect", "Timeout")
        ):
            return True
    return False
