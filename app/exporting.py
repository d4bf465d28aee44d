"""A conversation written out as Markdown, JSON or subtitles: the window's Export and the CLI's."""

from __future__ import annotations

import re
from pathlib import Path

FORMATS = ("md", "json", "vtt", "srt")
SUBTITLES = ("vtt", "srt")
FILE_TYPES = {  # the save dialog's filters, by format
    "Markdown (*.md)": "md",
    "JSON (*.json)": "json",
    "WebVTT subtitles (*.vtt)": "vtt",
    "SRT subtitles (*.srt)": "srt",
}
NO_SUBTITLES = (
    "This conversation has no reasoning steps with times, so subtitles would be empty: "
    "export it as Markdown or JSON, or ask with Think on to get timed steps."
)


def render(record, kind: str) -> str:
    """``record`` (a stored ConversationRecord) in the format ``kind`` (one of FORMATS)."""
    from engine.history import export

    writers = {
        "md": export.to_markdown,
        "json": export.to_json,
        "vtt": export.to_webvtt,
        "srt": export.to_srt,
    }
    return writers[kind](record)


def suggested_name(title: str, kind: str = "md") -> str:
    """A file name from the conversation's title: ``What is said at the start.md``."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", title)
    name = " ".join(name.split()).strip(" .")[:80].rstrip(" .")
    return f"{name or 'Conversation'}.{kind}"


def typed_kind(path: str) -> str | None:
    """The format a typed name asks for by its extension (``notes.json``), if any."""
    suffix = Path(path).suffix.lstrip(".").lower()
    return suffix if suffix in FORMATS else None


def with_extension(path: str, kind: str) -> str:
    """``path`` as typed, with the format's extension when it has none (``Meeting 3.1`` has none)."""
    suffix = Path(path).suffix.lstrip(".")
    return path if suffix.isalpha() and len(suffix) <= 5 else f"{path}.{kind}"


def export_conversation(window, store, conversation_id: int | None, path: str | None = None,
                        kind: str | None = None) -> str | None:  # fmt: skip
    """Write the conversation where the user chooses (or to ``path`` as ``kind``); the path written,
    or None when nothing was (cancelled, or nothing to write: the banner says why)."""
    from PySide6.QtWidgets import QFileDialog

    from engine.history.export import has_subtitles

    if conversation_id is None:
        window.banner.show_message("Nothing to export yet: ask a question first.")
        return None
    record = store.get_conversation(conversation_id)
    if path is None:
        start = str(Path.home() / suggested_name(record.title))
        path, chosen = QFileDialog.getSaveFileName(
            window, "Export conversation", start, ";;".join(FILE_TYPES)
        )
        if not path:
            return None
        kind = typed_kind(path) or FILE_TYPES.get(chosen, "md")
    if kind in SUBTITLES and not has_subtitles(record):
        window.banner.show_message(NO_SUBTITLES)
        return None
    path = with_extension(path, kind)
    Path(path).write_text(render(record, kind), encoding="utf-8")
    window.statusBar().showMessage(f"Exported to {path}", 6000)
    return path
