"""``heron train [CONFIG.toml] [--flags]``: fine-tune an adapter on your own audio.

Every training setting is a TOML key and a flag (flags win). ``--check`` validates a
dataset and prints its summary without training. A run resumes by itself when ``--out``
holds a checkpoint written by a run with the same settings and data; ``--resume`` insists
on one, ``--overwrite`` starts over. Ctrl-C stops at the next step with a checkpoint
(resume later); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from app.commands import EXIT_INTERRUPTED
from engine.errors import HeronError
from engine.events import Finish, stage_label

EXIT_INVALID = 2


def register(commands) -> None:
    from engine.trainer.config import setting_fields

    parser = commands.add_parser(
        "train",
        help="fine-tune the model on your own audio (LoRA / QLoRA adapters)",
        description="Train a LoRA adapter on a JSONL dataset of (audio, question, answer) examples.",
    )
    parser.add_argument("config", nargs="?", type=Path, help="a TOML file of settings (flags override it)")
    parser.add_argument(
        "--check",
        nargs="?",
        const=True,
        metavar="DATA.jsonl",
        help="validate the dataset (this file, or the configured one) and print a summary; no training",
    )
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--resume", action="store_true", help="resume from the checkpoint in --out (must exist)")
    how.add_argument("--overwrite", action="store_true", help="start over, deleting what --out holds")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event per line")
    settings = parser.add_argument_group("settings (also TOML keys, same names with underscores)")
    for f in setting_fields():
        _add_setting(settings, f)
    parser.set_defaults(run=run)


def _add_setting(group, f) -> None:
    flag = "--" + f.name.replace("_", "-")
    kind = str(f.type).replace(" | None", "")
    common: dict[str, Any] = {"dest": f"set_{f.name}", "default": argparse.SUPPRESS, "help": _help(f)}
    if kind == "bool":
        group.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
    elif kind == "list[str]":
        group.add_argument(flag, type=_name_list, metavar="A,B,…", **common)
    else:
        converter = {"int": _whole, "float": _number}.get(kind, str)
        group.add_argument(flag, type=converter, metavar=f.name.upper(), **common)


def _help(f) -> str:
    from engine.trainer.config import default_of

    default = default_of(f)
    if default in (None, "", []):
        return f.metadata["help"]
    shown = ",".join(default) if isinstance(default, list) else default
    return f"{f.metadata['help']} (default: {shown})".replace("%", "%%")


def _name_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {value!r}") from None


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    values = {k.removeprefix("set_"): v for k, v in vars(args).items() if k.startswith("set_")}
    if values.get("out"):
        values["out"] = str(out_folder(values["out"]))
    for name in ("data", "eval_data"):
        if values.get(name):
            values[name] = str(Path(values[name]).expanduser().resolve())
    return values


def out_folder(value: str) -> Path:
    """``--out``: a bare name is a folder in Heron's adapters folder (where the app and
    ``heron models list`` find adapters); anything with a folder in it is a path."""
    from app import paths

    if value not in (".", "..") and Path(value).name == value and not value.startswith("~"):
        return paths.adapters_dir() / value
    return Path(value).expanduser().resolve()


def run(args: argparse.Namespace) -> int:
    if args.config is not None and args.config.suffix.lower() == ".jsonl":
        raise HeronError(
            f"{args.config} is a dataset, not a settings file: use heron train --data {args.config} "
            "--out ADAPTER_DIR (or heron train --check to validate it)."
        )
    if args.check:
        return check(args)
    config = _config(args)
    resume = "require" if args.resume else "never" if args.overwrite else "auto"
    return _train(config, resume, args)


# --- --check -----------------------------------------------------------------------------------


def check(args: argparse.Namespace) -> int:
    from engine.trainer.config import read_toml
    from engine.trainer.dataset import read_dataset, summary_lines

    values = {**(read_toml(args.config) if args.config else {}), **overrides(args)}
    data = args.check if isinstance(args.check, str) else values.get("data")
    if not data:
        raise HeronError("Nothing to check: pass the dataset, e.g. heron train --check data.jsonl.")
    report = read_dataset(Path(data))
    if not report.ok:
        print(f"heron: {report.path} has {len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    for line in summary_lines(report, _tokenizer(values.get("model"))):
        print(line)
    return 0


def _tokenizer(model: str | None):
    """The model's tokenizer for counting answer tokens, or None when no model can be found."""
    from app import paths
    from engine.model.registry import resolve_model

    try:
        folder = resolve_model(model or "instruct", paths.models_dir()).path
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (HeronError, OSError, ValueError):
        return None


# --- training ----------------------------------------------------------------------------------


def _config(args: argparse.Namespace):
    from app import paths
    from engine.model.registry import resolve_model
    from engine.trainer.config import load_config

    config = load_config(args.config, overrides(args))
    folder = resolve_model(config.model, paths.models_dir()).path
    return config.with_overrides({"model": str(folder)})


def _train(config, resume: str, args: argparse.Namespace) -> int:
    from engine.trainer import train

    stop = _StopFlag()
    printer = JsonPrinter() if args.json else ProgressPrinter()
    finish = None
    with stop.installed():
        for event in train(config, should_cancel=stop.is_set, resume=resume):
            printer.show(event)
            if event.type == "done":
                finish = event.stats.get("finish")
    return EXIT_INTERRUPTED if finish == Finish.CANCELLED else 0


class _StopFlag:
    """First Ctrl-C: stop after the current step (with a checkpoint). Second: stop now."""

    def __init__(self):
        self.requested = False

    def is_set(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nheron: stopping after this step (Ctrl-C again to stop now)…", file=sys.stderr)

    def installed(self):
        flag = self

        class _Installed:
            def __enter__(self):
                self.previous = signal.signal(signal.SIGINT, flag._handle)

            def __exit__(self, *exc):
                signal.signal(signal.SIGINT, self.previous)

        return _Installed()


class JsonPrinter:
    def show(self, event) -> None:
        print(event.to_json(), flush=True)


class ProgressPrinter:
    """A one-line progress bar on stderr (a line every few percent when stderr is not a terminal)."""

    WIDTH = 24

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.eval_loss: float | None = None
        self.last_plain = -1.0
        self.open_line = False

    def show(self, event) -> None:
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event)

    def _on_progress(self, event) -> None:
        label = stage_label(event.stage)
        count = f" {event.done:g}/{event.total:g}" if event.total else ""
        self._line(f"{label}…{count}", final=bool(event.total) and event.done >= event.total)

    def _on_train_start(self, event) -> None:
        resumed = f", resuming at step {event.resumed_step}" if event.resumed_step else ""
        self._say(
            f"Training {event.trainable_params:,} parameters on {event.train_examples} examples "
            f"({event.eval_examples} held out) for {event.total_steps} steps{resumed}"
        )

    def _on_train_progress(self, event) -> None:
        self._line(self.bar(event), final=event.step == event.total_steps)

    def _on_train_eval(self, event) -> None:
        self.eval_loss = event.eval_loss
        left = f", patience left {event.patience_left}" if event.patience_left is not None else ""
        mark = " (best)" if event.improved else ""
        self._say(f"step {event.step}: eval loss {event.eval_loss:.4f}{mark}{left}")

    def _on_checkpoint(self, event) -> None:
        if not self.tty:
            self._say(f"step {event.step}: checkpoint written")

    def _on_done(self, event) -> None:
        stats = event.stats
        self._end_line()
        if stats.get("finish") == Finish.CANCELLED:
            print("Stopped. Run the same command again to resume from the last checkpoint.", file=self.stream)
            return
        how = " (early stop: eval loss stopped improving)" if stats.get("finish") == Finish.EARLY_STOP else ""
        best = stats.get("best_eval_loss")
        eval_part = (
            f", best eval loss {best:.4f} at step {stats.get('best_step')}" if best is not None else ""
        )
        print(
            f"Adapter saved to {stats.get('adapter')}{how}: {stats.get('steps')} steps, "
            f"train loss {stats.get('train_loss'):.4f}{eval_part}, {_clock(stats.get('total_seconds', 0))}.",
            file=sys.stdout,
        )

    def bar(self, event) -> str:
        share = event.step / event.total_steps
        filled = round(self.WIDTH * share)
        eval_loss = event.eval_loss if event.eval_loss is not None else self.eval_loss
        parts = [
            f"step {event.step}/{event.total_steps} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}",
            f"loss {event.loss:.4f}",
            f"eval {eval_loss:.4f}" if eval_loss is not None else "eval –",
            f"lr {event.learning_rate:.2e}",
            f"{event.examples_per_s:.1f} ex/s",
            f"ETA {_clock(event.seconds_left)}" if event.seconds_left is not None else "",
        ]
        return "  ".join(p for p in parts if p)

    def _line(self, text: str, final: bool) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
            self.stream.flush()
            self.open_line = not final
            return
        now = time.monotonic()
        if final or now - self.last_plain >= 5.0:
            print(text, file=self.stream, flush=True)
            self.last_plain = now

    def _say(self, text: str) -> None:
        self._end_line()
        print(text, file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False


def _clock(seconds: float | None) -> str:
    seconds = max(0, round(seconds or 0))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
