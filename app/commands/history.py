"""``heron history list|show|export|delete``: past conversations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app import paths
from app.exporting import FORMATS


def register(commands) -> None:
    parser = commands.add_parser("history", help="list, show, export or delete past conversations")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="recent conversations, newest first")
    listing.add_argument("--limit", type=int, default=30)
    listing.add_argument("--search", metavar="TEXT", help="only conversations mentioning TEXT")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="a whole conversation")
    show.add_argument("id", type=int)
    show.set_defaults(run=run_show)
    export = actions.add_parser("export", help="write a conversation as Markdown, JSON or subtitles")
    export.add_argument("id", type=int)
    export.add_argument("--format", choices=FORMATS, default="md", help="default: md")
    export.add_argument("--output", "-o", type=Path, help="a file (default: standard output)")
    export.set_defaults(run=run_export)
    delete = actions.add_parser("delete", help="delete a conversation (never the recording itself)")
    delete.add_argument("id", type=int)
    delete.set_defaults(run=run_delete)


def _store(read_only: bool = False):
    from engine.history import HistoryStore

    # list, show and export never write, so they work on a full disk too.
    return HistoryStore(paths.history_path(), read_only=read_only)


def run_list(args: argparse.Namespace) -> int:
    with _store(read_only=True) as store:
        if args.search:
            ids = list(dict.fromkeys(hit.conversation_id for hit in store.search(args.search, args.limit)))
            items = [s for s in store.list_conversations(10_000) if s.id in ids]
        else:
            items = store.list_conversations(args.limit)
    if not items:
        print('No conversations yet: ask one with heron ask AUDIO "QUESTION".', file=sys.stderr)
    for item in items:
        when = item.updated.astimezone().strftime("%Y-%m-%d %H:%M")
        recording = Path(item.recording_path).name if item.recording_path else "-"
        print(f"{item.id:>5}  {when}  {item.turn_count:>3} turn(s)  {item.title}  [{recording}]")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from engine.history.export import to_markdown

    with _store(read_only=True) as store:
        print(to_markdown(store.get_conversation(args.id)))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from app.exporting import SUBTITLES, render
    from engine.errors import HeronError
    from engine.history.export import has_subtitles

    with _store(read_only=True) as store:
        record = store.get_conversation(args.id)
    if args.format in SUBTITLES and not has_subtitles(record):  # never an empty subtitles file
        raise HeronError(
            f"conversation {args.id} has no reasoning steps with times, so {args.format} subtitles would be "
            "empty: use --format md or json, or ask with --think to get timed steps."
        )
    text = render(record, args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from engine.history.session import delete_conversation

    with _store() as store:
        delete_conversation(
            store, args.id, paths.spoken_dir()
        )  # a clear error if there is no such conversation
    print(f"Deleted conversation {args.id}.", file=sys.stderr)
    return 0
