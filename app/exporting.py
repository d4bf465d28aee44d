"""A conversation written out as Markdown, JSON or subtitles: the window's Export and the CLI's."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("md", "json", "vtt", "srt")
FILE_TYPES = {  # the save dialog's filters, by format
    "Markdown (*.md)": "md",
    "JSON (*.json)": "json",
    "WebVTT subtitles (*.vtt)": "vtt",
    "SRT subtitles (*.srt)": "srt",
}


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


def export_conversation(window, store, conversation_id: int | None, path: str | None = None,
                        kind: str | None = None) -> None:  # fmt: skip
    """Write the conversation where the user chooses (or to ``path`` as ``kind``)."""
    from PySide6.QtWidgets import QFileDialog

    if conversation_id is None:
        window.banner.show_message("Nothing to export yet: ask a question first.")
        return
    if path is None:
        path, chosen = QFileDialog.getSaveFileName(window, "Export conversation", "", ";;".join(FILE_TYPES))
        if not path:
            return
        kind = FILE_TYPES[chosen]
    Path(path).write_text(render(store.get_conversation(conversation_id), kind), encoding="utf-8")
