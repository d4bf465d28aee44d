"""Export a conversation as Markdown (to read), JSON (full fidelity, reads back) or subtitles.

Subtitles (WebVTT, SRT) turn each time-anchored reasoning step into a cue on the recording's
timeline, so a media player shows the model's reasoning at the moments it cites: from where the
cited event really starts when the step was snapped to it (``engine.grounding``), else from the
cited time. Markdown shows the times as cited; JSON keeps both.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.events import Step
from engine.history.records import (
    ConversationRecord,
    RecordingRecord,
    TurnRecord,
    TurnState,
    step_dict,
    step_from_dict,
)
from engine.history.schema import HistoryError
from engine.timefmt import clock

JSON_FORMAT = "heron-conversation"
JSON_VERSION = 1
MOMENT_CUE_S = 2.0  # how long a cue for a single moment (start == end) stays on screen


# ---- time formats ---------------------------------------------------------------------------------


def _milliseconds(seconds: float) -> int:
    return round(max(seconds, 0.0) * 1000)


def _hms_ms(seconds: float) -> tuple[int, int, int, int]:
    hours, rest = divmod(_milliseconds(seconds), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return hours, minutes, secs, millis


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm`` (hours grow past two digits when needed)."""
    return "{:02d}:{:02d}:{:02d}.{:03d}".format(*_hms_ms(seconds))


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm``."""
    return "{:02d}:{:02d}:{:02d},{:03d}".format(*_hms_ms(seconds))


def anchor_time(seconds: float) -> str:
    """Short reading form: ``mm:ss``, or ``h:mm:ss`` from an hour on; rounded as the window rounds
    (one clock function for both: ``engine.timefmt.clock``)."""
    return clock(seconds)


def has_subtitles(record: ConversationRecord, recording_id: int | None = None) -> bool:
    """Whether any step is anchored to a time, i.e. a subtitle export would have a cue."""
    return bool(cues(record, recording_id))


def _start(step: Step) -> float | None:
    """The step's anchor in seconds, or None when it cites no (usable) time."""
    if step.start_s is None or not math.isfinite(step.start_s):
        return None
    return float(step.start_s)


def _end(step: Step, start: float) -> float:
    """The range's end, or ``start`` for a moment (or a malformed end)."""
    end = step.end_s
    return float(end) if end is not None and math.isfinite(end) and end > start else start


def step_anchor(step: Step) -> str:
    """``[mm:ss]`` for a moment, ``[mm:ss–mm:ss]`` for a range, "" for a step without one."""
    start = _start(step)
    if start is None:
        return ""
    first, last = anchor_time(start), anchor_time(_end(step, start))
    return f"[{first}]" if first == last else f"[{first}–{last}]"


# ---- Markdown -------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _recording_line(recording: RecordingRecord) -> str:
    length = f" ({anchor_time(recording.duration_s)})" if recording.duration_s is not None else ""
    return f"`{recording.path}`{length}"


def _markdown_turn(turn: TurnRecord, recordings: dict[int, RecordingRecord], many: bool) -> list[str]:
    lines = [f"## {turn.position}. {_one_line(turn.question) or '(spoken question)'}", ""]
    if many and turn.recording_id in recordings:
        lines += [f"Recording: {_recording_line(recordings[turn.recording_id])}", ""]
    reasoning = [s for s in turn.steps if s.source == "reasoning"]
    if reasoning:
        lines += ["**Reasoning**", ""]
        for step in reasoning:
            anchor = step_anchor(step)
            late = " *(past the end of the recording)*" if step.past_end else ""
            lines.append(f"- {anchor + ' ' if anchor else ''}{_one_line(step.text)}{late}")
        lines.append("")
    elif turn.reasoning.strip():
        lines += ["**Reasoning**", ""]
        lines += [f"> {line}" if line else ">" for line in turn.reasoning.strip().splitlines()]
        lines.append("")
    lines += ["**Answer**", "", turn.answer.strip() or "*(no answer)*", ""]
    if turn.interrupted or turn.state == TurnState.INTERRUPTED:
        lines += ["*(interrupted: the answer is incomplete)*", ""]
    if turn.state == TurnState.FAILED:
        lines += [f"*(failed: {_one_line(turn.error or 'unknown error')})*", ""]
    return lines


def to_markdown(record: ConversationRecord) -> str:
    lines = [f"# {_one_line(record.title) or 'Untitled conversation'}", ""]
    if record.model:
        lines.append(f"- Model: {record.model}")
    lines.append(f"- Started: {record.created:%Y-%m-%d %H:%M} UTC")
    lines += [f"- Recording: {_recording_line(r)}" for r in record.recordings]
    lines.append("")
    recordings = {r.id: r for r in record.recordings}
    for turn in record.turns:
        lines += _markdown_turn(turn, recordings, many=len(recordings) > 1)
    return "\n".join(lines).rstrip() + "\n"


# ---- JSON -----------------------------------------------------------------------------------------


def _turn_dict(turn: TurnRecord) -> dict[str, Any]:
    return {
        "id": turn.id,
        "conversation_id": turn.conversation_id,
        "position": turn.position,
        "question": turn.question,
        "answer": turn.answer,
        "reasoning": turn.reasoning,
        "steps": [step_dict(s) for s in turn.steps],
        "stats": turn.stats,
        "interrupted": turn.interrupted,
        "state": turn.state.value,
        "recording_id": turn.recording_id,
        "error": turn.error,
        "created": turn.created.isoformat(),
        "updated": turn.updated.isoformat(),
        "finished": turn.finished.isoformat() if turn.finished else None,
    }


def to_json(record: ConversationRecord) -> str:
    """Everything in the record; ``from_json`` rebuilds an equal record."""
    document = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "id": record.id,
        "title": record.title,
        "model": record.model,
        "created": record.created.isoformat(),
        "updated": record.updated.isoformat(),
        "recordings": [asdict(r) for r in record.recordings],
        "turns": [_turn_dict(t) for t in record.turns],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _turn_from(data: dict[str, Any]) -> TurnRecord:
    finished = data.get("finished")
    return TurnRecord(
        **{k: data[k] for k in ("id", "conversation_id", "position", "question", "answer", "reasoning")},
        steps=tuple(step_from_dict(s) for s in data["steps"]),
        stats=data["stats"],
        interrupted=bool(data["interrupted"]),
        state=TurnState(data["state"]),
        recording_id=data["recording_id"],
        error=data["error"],
        created=datetime.fromisoformat(data["created"]),
        updated=datetime.fromisoformat(data["updated"]),
        finished=datetime.fromisoformat(finished) if finished else None,
    )


def from_json(text: str) -> ConversationRecord:
    """Read back what ``to_json`` wrote."""
    try:
        data = json.loads(text)
        if data.get("format") != JSON_FORMAT:
            raise ValueError("not a Heron conversation")
        if data.get("version", 0) > JSON_VERSION:
            raise HistoryError("This conversation was exported by a newer Heron; update Heron to read it.")
        return ConversationRecord(
            id=data["id"],
            title=data["title"],
            model=data["model"],
            created=datetime.fromisoformat(data["created"]),
            updated=datetime.fromisoformat(data["updated"]),
            turns=tuple(_turn_from(t) for t in data["turns"]),
            recordings=tuple(RecordingRecord(**r) for r in data["recordings"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HistoryError(f"This is not a Heron conversation export ({exc}).") from exc


# ---- subtitles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


def _turn_recordings(record: ConversationRecord) -> dict[int, int | None]:
    """Each turn's recording: its own, or else the last one an earlier turn carried (follow-ups)."""
    current: int | None = None
    result: dict[int, int | None] = {}
    for turn in record.turns:
        current = turn.recording_id if turn.recording_id is not None else current
        result[turn.id] = current
    return result


def cues(record: ConversationRecord, recording_id: int | None = None) -> list[Cue]:
    """One cue per anchored step (of the turns about ``recording_id`` if given), sorted by time."""
    on = _turn_recordings(record)
    found: list[tuple[float, float, int, int, str]] = []
    for turn in record.turns:
        if recording_id is not None and on[turn.id] != recording_id:
            continue
        for step in turn.steps:
            span = _cue_span(step)
            if span is None or not _one_line(step.text):
                continue
            found.append((*span, turn.position, step.index, _one_line(step.text)))
    found.sort()
    return [Cue(start, end, text) for start, end, _, _, text in found]


def _cue_span(step: Step) -> tuple[float, float] | None:
    """Where a step's cue shows: its snapped event (when snapped), else its cited moment or range;
    a moment stays on screen at least ``MOMENT_CUE_S``."""
    if step.snapped and math.isfinite(step.snapped_start_s):
        start = float(step.snapped_start_s)
        end = _finite(step.snapped_end_s, start)
        if step.end_s is None or step.end_s == step.start_s:
            end = max(end, start + MOMENT_CUE_S)
    else:
        start = _start(step)
        if start is None:
            return None
        end = _end(step, start)
    return start, end if end > start else start + MOMENT_CUE_S


def _finite(value: float | None, default: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(record: ConversationRecord, recording_id: int | None = None) -> str:
    blocks = ["WEBVTT"]
    for cue in cues(record, recording_id):
        blocks.append(f"{vtt_time(cue.start_s)} --> {vtt_time(cue.end_s)}\n{_vtt_text(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def to_srt(record: ConversationRecord, recording_id: int | None = None) -> str:
    blocks = [
        f"{number}\n{srt_time(cue.start_s)} --> {srt_time(cue.end_s)}\n{cue.text}"
        for number, cue in enumerate(cues(record, recording_id), start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""
