"""The chat's own cost: an answer streaming in as Markdown with clickable times, and a long
conversation reopened. No engine: tokens are fed to the real chat widget (Heron's theme,
offscreen) at a steady rate while a 5 ms timer measures how late the event loop serves it.

Prints a table and ends with one JSON line:
{"bench": "chat_streaming", "stream_max_stall_ms": …, "render_ms": {chars: ms}, "reopen_ms": …}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5
TOKENS_PER_S = 100  # about what AF-Next streams on a good GPU
PARAGRAPH = (
    "At [00:12] the budget is **approved**, and at 00:31 the next item starts.\n\n"
    "- the first point, with `a code span`\n- the second point\n\n"
)


def stalls(app, seconds: float, work=None) -> list[float]:
    """Event-loop lateness (ms) for ``seconds``, calling ``work(elapsed)`` between turns."""
    from PySide6.QtCore import QTimer

    gaps, last = [], [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - TICK_MS)
        last[0] = now

    timer = QTimer(interval=TICK_MS, timeout=tick)
    timer.start()
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        if work is not None and work(elapsed):
            break
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return gaps or [0.0]


def stream(app, chat, text: str) -> list[float]:
    """``text`` into a new turn, four characters a token, its answer steps as sentences end."""
    from engine.events import Done, TextDelta
    from engine.reasoning import parse_answer_anchors

    turn = chat.add_turn("What was decided?")
    steps, sent = parse_answer_anchors(text), [0]

    def feed(elapsed: float) -> bool:
        due = min(len(text), int(elapsed * TOKENS_PER_S) * 4)
        if due > sent[0]:
            turn.apply_event(TextDelta(text[sent[0] : due]))
            for step in steps:
                if sent[0] < step.char_end <= due:
                    turn.apply_event(step)
            sent[0] = due
        if due == len(text):
            turn.apply_event(Done({"finish": "stop"}))
            return True
        return False

    return stalls(app, len(text) / 4 / TOKENS_PER_S + 2, feed)


def render_ms(app, chat, chars: int) -> float:
    """Median cost of one render of an answer of ``chars`` characters, its times linked."""
    from engine.reasoning import parse_answer_anchors
    from ui.markdown import linked_markdown

    text = (PARAGRAPH * (chars // len(PARAGRAPH) + 1))[:chars]
    steps = parse_answer_anchors(text)
    turn = chat.add_turn("Render")
    turn.finish({})
    app.processEvents()
    costs = []
    for _ in range(5):
        started = time.perf_counter()
        turn.answer.show_markdown(linked_markdown(text, steps))
        costs.append((time.perf_counter() - started) * 1000)
    return statistics.median(costs)


def reopen_ms(app, chat, turns: int, chars: int) -> float:
    """Clearing the chat and showing ``turns`` finished turns, until the event loop is idle again."""
    chat.clear()
    app.processEvents()
    text = (PARAGRAPH * (chars // len(PARAGRAPH) + 1))[:chars]
    started = time.perf_counter()
    for _ in range(turns):
        turn = chat.add_turn("A question")
        turn.append_answer(text)
        turn.finish({"finish": "stop"})
    app.processEvents()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from ui.chat_view import ChatView
    from ui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme("light")
    chat = ChatView()
    chat.resize(1000, 700)
    chat.show()
    for _ in range(10):
        turn = chat.add_turn("An earlier question")
        turn.append_answer(PARAGRAPH * 3)
        turn.finish({})
    app.processEvents()
    gaps = stream(app, chat, PARAGRAPH * 20)
    renders = {chars: round(render_ms(app, chat, chars), 1) for chars in (1000, 4000, 16000)}
    reopen = round(reopen_ms(app, chat, 30, 1500), 1)
    print(
        f"{'streaming 1,900 chars':<32} max stall {max(gaps):6.1f} ms   median {statistics.median(gaps):5.2f} ms"
    )
    for chars, ms in renders.items():
        print(f"{f'one render, {chars} chars':<32} {ms:6.1f} ms")
    print(f"{'reopen 30 turns of 1,500 chars':<32} {reopen:6.1f} ms")
    result = {"bench": "chat_streaming", "stream_max_stall_ms": round(max(gaps), 1), "render_ms": renders}
    print(json.dumps({**result, "reopen_ms": reopen}))


if __name__ == "__main__":
    main()
