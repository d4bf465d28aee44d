"""Add a Piper voice from a URL or a folder, along the same path as a model's download.

A source offers what ``engine.model.download.ModelSource`` does (``file_sizes``, ``fetch``):
``UrlSource`` fetches over HTTP(S), resuming a partial file with a Range request; a
``VoiceFolderSource`` is the models' ``FolderSource`` restricted to one voice's files. As for
a model, the disk space is checked first, progress is reported in bytes, and the completeness
marker is written last, here only once the voice has loaded and spoken, so a broken file never
becomes a voice.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

from engine.errors import HeronError
from engine.model.download import (
    DownloadError,
    DownloadPlan,
    ProgressCallback,
    check_disk_space,
    clear_complete,
    mark_complete,
)
from engine.model.registry import is_complete
from engine.model.sources import FolderSource
from engine.speech.piper import PiperFiles, PiperVoice
from engine.speech.piper_voices import CARD_FILE, folder_files, voice_folder

CHUNK = 1 << 20
_STEM = re.compile(r"[\w.+-]+")


def voice_files(model_name: str) -> tuple[str, str]:
    """(model, config) file names for a voice's ``.onnx``; DownloadError for anything else."""
    stem = model_name.removesuffix(".onnx")
    if not model_name.endswith(".onnx") or not _STEM.fullmatch(stem):
        raise DownloadError(
            f"{model_name!r} is not a Piper voice: give the voice's .onnx file (its .onnx.json beside it)."
        )
    return model_name, model_name + ".json"


class VoiceFolderSource(FolderSource):
    """One Piper voice in a folder (or named by its ``.onnx`` file), copied resumably."""

    def __init__(self, path: Path):
        path = Path(path).expanduser()
        if path.is_file():
            self.model_name = path.name
            path = path.parent
        else:
            self.model_name = ""
        super().__init__(path)
        if not self.model_name:
            models = sorted(p.name for p in self.folder.glob("*.onnx"))
            if len(models) != 1:
                what = "no .onnx voice" if not models else f"{len(models)} voices"
                raise DownloadError(
                    f"Cannot add a voice from {self.folder}: it holds {what}; name the .onnx file."
                )
            self.model_name = models[0]

    def file_sizes(self) -> dict[str, int]:
        names = [*voice_files(self.model_name), CARD_FILE]
        missing = [n for n in names[:2] if not (self.folder / n).is_file()]
        if missing:
            raise DownloadError(f"Cannot add the voice from {self.folder}: {', '.join(missing)} is missing.")
        return {n: (self.folder / n).stat().st_size for n in names if (self.folder / n).is_file()}


class UrlSource:
    """A voice's ``.onnx`` at an HTTP(S) address, its ``.onnx.json`` and ``MODEL_CARD`` beside it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DownloadError(f"{url!r} is not an http(s) address or a folder.")
        self.label = url
        self.model_name = unquote(PurePosixPath(parts.path).name)
        voice_files(self.model_name)
        folder = parts.path.rsplit("/", 1)[0]
        names = (*voice_files(self.model_name), CARD_FILE)
        self.urls = {
            name: urlunsplit((parts.scheme, parts.netloc, f"{folder}/{name}", parts.query, ""))
            for name in names
        }
        self.urls[self.model_name] = url

    def file_sizes(self) -> dict[str, int]:
        import httpx

        sizes = {}
        with http_errors(self.label), httpx.Client(follow_redirects=True, timeout=30) as client:
            for name, url in self.urls.items():
                response = client.head(url)
                if response.status_code == 404 and name == CARD_FILE:
                    continue  # a model card is welcome, not required
                response.raise_for_status()
                sizes[name] = int(response.headers.get("content-length", 0))
        return sizes

    def fetch(self, name: str, dest: Path, on_bytes: Callable[[int], None]) -> None:
        import httpx

        target = dest / name
        partial = target.with_name(target.name + ".part")
        done = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={done}-"} if done else {}
        with (
            http_errors(self.label),
            httpx.stream(
                "GET", self.urls[name], headers=headers, follow_redirects=True, timeout=30
            ) as response,
        ):
            response.raise_for_status()
            mode = "ab" if response.status_code == 206 else "wb"  # a server that cannot resume starts over
            done = done if mode == "ab" else 0
            with partial.open(mode) as writer:
                for chunk in response.iter_bytes(CHUNK):
                    writer.write(chunk)
                    done += len(chunk)
                    on_bytes(done)
        shutil.move(partial, target)


def source_for(where: str):
    """A URL or a folder / ``.onnx`` file on this machine."""
    if re.match(r"^[a-zA-Z][\w+.-]*://", where):
        return UrlSource(where)
    return VoiceFolderSource(Path(where))


def add_piper_voice(where: str, voices_dir: Path, on_progress: ProgressCallback | None = None) -> PiperFiles:
    """Fetch the voice at ``where`` into ``voices_dir/<stem>``, check that it speaks, mark it complete."""
    source = source_for(where)
    sizes = source.file_sizes()
    dest = voice_folder(voices_dir, source.model_name.removesuffix(".onnx"))
    report = on_progress or (lambda done, total, name: None)
    plan = _plan(source.label, dest, sizes)
    if not plan.missing and is_complete(dest):
        report(plan.total_bytes, plan.total_bytes, "")
        return folder_files(dest)
    check_disk_space(dest, plan.missing_bytes)
    dest.mkdir(parents=True, exist_ok=True)
    clear_complete(dest)
    done = plan.done_bytes
    for name in plan.missing:
        source.fetch(name, dest, lambda n, base=done, name=name: report(base + n, plan.total_bytes, name))
        done += plan.files[name]
    report(plan.total_bytes, plan.total_bytes, "")
    model, config = voice_files(source.model_name)
    files = PiperFiles(
        dest / model, dest / config, dest / CARD_FILE if (dest / CARD_FILE).is_file() else None
    )
    _check_speaks(files)
    actual = {name: (dest / name).stat().st_size for name in plan.files}  # sizes a server did not tell
    mark_complete(dest, DownloadPlan(plan.repo_id, dest, actual, ()))
    return files


def _plan(label: str, dest: Path, sizes: dict[str, int]) -> DownloadPlan:
    def complete(name: str) -> bool:  # an unknown size (0) is fetched again
        return sizes[name] > 0 and (dest / name).is_file() and (dest / name).stat().st_size == sizes[name]

    missing = tuple(sorted((n for n in sizes if not complete(n)), key=lambda n: (sizes[n], n)))
    return DownloadPlan(label, dest, dict(sizes), missing)


def _check_speaks(files: PiperFiles) -> None:
    try:
        PiperVoice(files)
    except HeronError as exc:
        raise DownloadError(f"The voice was fetched but does not work: {exc.message}") from exc


@contextmanager
def http_errors(label: str) -> Iterator[None]:
    """httpx failures as one-line DownloadErrors (the download resumes where it stopped)."""
    import httpx

    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise DownloadError(
            f"{exc.request.url} answered {exc.response.status_code}: check the address."
        ) from exc
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"Cannot reach {label} ({type(exc).__name__}): check the network and retry; "
            "the download resumes where it stopped."
        ) from exc
