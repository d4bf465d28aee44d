"""A model's files from a folder (offline machines) instead of the Hugging Face hub.

``FolderSource`` offers the same two operations as download.py's ``HubSource``, so importing
shares the download's path: plan, check the disk, fetch what is missing with progress
(resuming a partial file), then mark the model complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from engine.model.download import DownloadError, is_wanted

CHUNK = 8 << 20  # bytes copied between progress reports


class FolderSource:
    """A checkpoint folder on this machine or a mounted drive, copied resumably."""

    def __init__(self, folder: Path):
        self.folder, self.label = Path(folder), str(folder)
        if not self.folder.is_dir():
            raise DownloadError(f"Cannot import {folder}: it is not a folder.")

    def file_sizes(self) -> dict[str, int]:
        files = {
            p.relative_to(self.folder).as_posix(): p.stat().st_size
            for p in sorted(self.folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and is_wanted(p.name)
        }
        if not any(name.endswith(".safetensors") for name in files):
            raise DownloadError(f"Cannot import {self.folder}: it holds no .safetensors weights.")
        return files

    def fetch(self, name: str, dest: Path, on_bytes: Callable[[int], None]) -> None:
        source, target = self.folder / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        done = partial.stat().st_size if partial.exists() else 0
        with source.open("rb") as reader, partial.open("ab") as writer:
            reader.seek(done)
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                done += len(chunk)
                on_bytes(done)
        shutil.move(partial, target)
