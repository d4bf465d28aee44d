"""How a conversation reads in the window (issue 16): roles, Markdown answers in the chat's own
flow with one scroll, each cited time its own link, steps that show their time once, and every
state of a turn. Real widgets offscreen, with Heron's theme; two tests drive the whole window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFont, QPalette, QTextCursor, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel

from engine.events import Done, Finish, Step, TextDelta, ThinkDelta
from engine.history import HistoryStore
from engine.reasoning import parse_answer_anchors
from tests import media
from ui.chat_view import ChatView

TWO_TIMES = "A knock at [00:01], then a tone at 00:03."
MARKDOWN = "# Plan\n\n- **one** item\n- two\n\nUse `code [00:02]` here.\nA second line."
REASONING = (
    Step(0, 1.0, 1.0, "At [00:01] a knock.", 0, 19),
    Step(1, 2.0, 4.0, "A tone from 00:02 to 00:04.", 20, 47),
)


@pytest.fixture
def themed(qapp):
    """Heron's light theme for the test, the app's look restored after it."""
    from ui.theme import apply_theme

    palette, sheet = qapp.palette(), qapp.styleSheet()
    apply_theme("light")
    yield apply_theme
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


@pytest.fixture
def chat(qtbot, themed) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


def answered(chat: ChatView, question: str, answer: str, steps=(), stats=None):
    turn = chat.add_turn(question)
    for step in steps:
        turn.add_step(step)
    turn.append_answer(answer)
    turn.finish(stats if stats is not None else {"finish": Finish.STOP, "new_tokens": 5})
    QApplication.processEvents()
    return turn


def links(answer) -> list[tuple[str, str, int]]:
    """(text, href, position) of every link in the answer as drawn."""
    found, block = [], answer.document().begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().isAnchor():
                found.append((fragment.text(), fragment.charFormat().anchorHref(), fragment.position()))
            fragments += 1
        block = block.next()
    return found


def click_at(qtbot, answer, position: int) -> None:
    """A real mouse click on the character at ``position`` of the answer."""
    cursor = QTextCursor(answer.document())
    cursor.setPosition(position + 1)
    qtbot.mouseClick(answer.viewport(), Qt.MouseButton.LeftButton, pos=answer.cursorRect(cursor).center())


def test_question_and_answer_read_as_two_roles_in_their_own_type_sizes(chat):
    turn = answered(chat, "And the <b>risks</b>?", "Two risks.")
    assert (
        turn.question.text() == "And the <b>risks</b>?"
        and turn.question.textFormat() == Qt.TextFormat.PlainText
    )
    labels = {label.text(): label for label in turn.findChildren(QLabel)}
    assert "You" in labels and "Heron" in labels and labels["You"].accessibleName() == "You said"
    sizes = {name: w.font().pointSizeF() for name, w in (("answer", turn.answer), ("status", turn.status))}
    assert sizes["answer"] > turn.question.font().pointSizeF() > labels["Heron"].font().pointSizeF()
    assert sizes["status"] < sizes["answer"] and labels["Heron"].font().bold()


def test_an_answer_is_markdown_with_selectable_text(chat):
    turn = answered(chat, "Plan?", MARKDOWN)
    document = turn.answer.document()
    blocks = [document.findBlockByNumber(i) for i in range(document.blockCount())]
    heading = next(b for b in blocks if b.text() == "Plan")
    assert heading.blockFormat().headingLevel() == 1
    items = [b.text() for b in blocks if b.textList() is not None]
    assert items == ["one item", "two"]
    assert "**" not in document.toPlainText() and "`" not in document.toPlainText()
    lines = {b.text() for b in blocks}
    assert {"Use code [00:02] here.", "A second line."} <= lines, "a newline breaks the line"
    flags = turn.answer.textInteractionFlags()
    assert (
        flags & Qt.TextInteractionFlag.TextSelectableByMouse
        and flags & Qt.TextInteractionFlag.LinksAccessibleByKeyboard
    )
    assert turn.copy.isVisible()


def test_a_table_reads_as_one(chat):
    turn = answered(chat, "Who?", "| Who | What |\n|---|---|\n| Ana | Budget |\n")
    (table,) = turn.answer.document().rootFrame().childFrames()
    header = table.cellAt(0, 0).firstCursorPosition()
    assert header.block().text() == "Who", "no empty paragraph above the first header"
    assert header.block().charFormat().fontWeight() == QFont.Weight.Bold


def test_a_long_question_wraps_inside_its_bubble(chat, qtbot):
    turn = answered(chat, "Tell me everything that happens, in order, and when. " * 4, "Fine.")
    inner = turn.bubble.layout().contentsMargins()

    def fits() -> bool:  # once laid out
        room = turn.bubble.width() - inner.left() - inner.right()
        return 100 < turn.question.width() <= room and turn.bubble.width() <= 0.8 * turn.width() + 1

    qtbot.waitUntil(fits, timeout=3000)


def test_an_answer_sits_in_the_chats_flow_with_one_scroll(chat, qtbot):
    long_word = "x" * 400
    turn = answered(chat, "Everything?", "\n\n".join([f"Paragraph {i}." for i in range(40)] + [long_word]))
    qtbot.waitUntil(lambda: chat.verticalScrollBar().maximum() > 0)  # laid out: the chat scrolls
    answer = turn.answer
    assert answer.verticalScrollBar().maximum() == 0 and answer.horizontalScrollBar().maximum() == 0
    assert answer.height() >= answer.document().size().height()
    image = chat.grab().toImage()
    background = image.pixelColor(chat.viewport().mapTo(chat, QPoint(2, 2)))
    edge = answer.mapTo(chat, QPoint(0, answer.visibleRegion().boundingRect().center().y()))
    assert image.pixelColor(edge) == background, "no frame or field around the answer"
    centre = QPointF(answer.viewport().rect().center())
    wheel = QWheelEvent(centre, answer.viewport().mapToGlobal(centre), QPoint(), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(answer.viewport(), wheel)
    assert not wheel.isAccepted(), "the wheel over an answer is the chat's (Qt passes it on)"


def test_each_cited_time_is_its_own_link_and_the_steps_selection_follows_it(chat, qtbot):
    (answer_step,) = parse_answer_anchors(TWO_TIMES, first_index=2)
    turn = answered(chat, "What happens?", TWO_TIMES, [*REASONING, answer_step])
    found = links(turn.answer)
    assert [(text, href) for text, href, _ in found] == [("[00:01]", "step:2"), ("00:03", "t:3.0")]
    activated, seeks = [], []
    turn.step_activated.connect(activated.append)
    turn.seek_requested.connect(seeks.append)
    qtbot.waitUntil(lambda: turn.answer.width() > 300)

    click_at(qtbot, turn.answer, found[1][2])
    assert seeks == [3.0] and turn.steps.currentRow() == 1  # the step from 00:02 to 00:04
    click_at(qtbot, turn.answer, found[0][2])
    assert activated == [answer_step] and turn.steps.currentRow() == 0
    click_at(qtbot, turn.answer, TWO_TIMES.index("tone"))  # a word, not a time
    assert len(seeks) == 1 and len(activated) == 1


def test_a_time_in_code_stays_text():
    from ui.markdown import linked_markdown

    text = "See `at 00:05` and 00:06."
    (step,) = parse_answer_anchors(text)
    assert linked_markdown(text, [step]).startswith("See `at 00:05` and [00:06](t:6.0 ")


def test_a_step_shows_its_time_once(chat):
    turn = chat.add_turn("What happens?")
    turn.append_reasoning("…")
    for step in (
        Step(0, 3.0, 3.0, "At [00:03] a dog barks.", 0, 23),
        Step(1, 63.0, 63.0, "At [00:03] of this part a door shuts.", 24, 60),  # a later window's time
        Step(2, None, None, "Nothing else happens.", 61, 80),
    ):
        turn.add_step(step)
    texts = [turn.steps.item(row).text() for row in range(turn.steps.count())]
    assert texts == [
        "At [00:03] a dog barks.",
        "[01:03] At [00:03] of this part a door shuts.",
        "Nothing else happens.",
    ]
    assert turn.reasoning_toggle.text() == "▾ Reasoning · 3 steps"


def test_every_state_of_a_turn_reads_clearly(chat):
    thinking = chat.add_turn("Think first", thinking=True)
    assert (thinking.state, thinking.status.text()) == ("thinking", "Thinking…")
    thinking.apply_event(ThinkDelta("Let me listen."))
    assert thinking.status.text() == "Thinking…"
    thinking.apply_event(TextDelta("It is"))
    assert (thinking.state, thinking.status.text()) == ("answering", "Answering…")
    assert not thinking.copy.isVisible()
    thinking.apply_event(Done({"finish": Finish.STOP, "new_tokens": 7, "tokens_per_s": 20.0, "ttft_s": 0.5}))
    assert thinking.status.text() == "Done · 7 tokens · 20 tokens/s · first token after 0.50 s"

    ends = {
        "stopped": ({"finish": Finish.CANCELLED, "new_tokens": 3}, "Stopped · 3 tokens"),
        "interrupted": ({"finish": Finish.INTERRUPTED}, "Interrupted"),
        "cut": ({"finish": Finish.LENGTH, "new_tokens": 12}, "Cut at the answer-length limit · 12 tokens"),
    }
    for state, (stats, text) in ends.items():
        turn = answered(chat, state, "Part of it", stats=stats)
        assert (turn.state, turn.status.text()) == (state, text)
    failed = chat.add_turn("Fail")
    failed.append_answer("Half")
    failed.fail("The model ran out of memory.")
    QApplication.processEvents()
    assert (failed.state, failed.status.text()) == ("failed", "⚠ The model ran out of memory.")
    assert failed.answer_text == "Half" and "Half" in failed.answer.toPlainText(), "the partial answer stays"
    assert reddish(failed.status) and not reddish(thinking.status), "a failure stands out in the error colour"


def reddish(label: QLabel) -> bool:
    image = label.grab().toImage()
    pixels = (image.pixelColor(x, y) for x in range(0, image.width(), 2) for y in range(image.height()))
    return any(c.red() > c.green() + 60 and c.red() > c.blue() + 60 for c in pixels)


def test_the_chat_keeps_the_reader_where_they_scrolled(chat):
    for i in range(6):
        answered(chat, f"Question {i}", "\n\n".join(f"Line {j}." for j in range(8)))
    bar = chat.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum(), "the newest answer is in view"
    streaming = chat.add_turn("One more")
    bar.setValue(0)  # the user scrolls up to read
    streaming.append_answer("\n\n".join(f"More {j}." for j in range(30)))
    streaming.finish({})
    QApplication.processEvents()
    assert bar.value() == 0
    chat.add_turn("Next")
    QApplication.processEvents()
    assert bar.value() == bar.maximum(), "a new question brings the chat back to the bottom"


def test_links_and_states_follow_a_theme_switch(chat, themed):
    (answer_step,) = parse_answer_anchors(TWO_TIMES)
    turn = answered(chat, "What happens?", TWO_TIMES, [answer_step])
    failed = chat.add_turn("Fail")
    failed.fail("Broken.")
    themed("dark")
    QApplication.processEvents()
    link = QApplication.palette().color(QPalette.ColorRole.Link)
    cursor = QTextCursor(turn.answer.document())
    cursor.setPosition(links(turn.answer)[0][2] + 1)
    assert cursor.charFormat().foreground().color() == link
    assert reddish(failed.status)


def test_the_empty_chat_names_controls_that_exist(chat):
    text = chat.empty.text()
    assert "Hold to talk" in text and "F2" in text and "Hands-free" in text
    assert "microphone button" not in text


# -- the whole window --------------------------------------------------------------------------
def test_the_status_says_answering_when_not_thinking(app, qtbot):
    window, controller = app
    controller.settings.think = False
    window.input.text.setText("What do you hear?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)
    assert window.chat.current.status.text() == "Answering…"
    qtbot.waitUntil(lambda: window.chat.current.state not in ("thinking", "answering"), timeout=60_000)
    assert window.chat.current.state in ("done", "cut") and "tokens" in window.chat.current.status.text()


def test_an_answer_time_click_plays_it_and_selects_its_step(app, qtbot, tmp_path: Path):
    from app import paths

    window, controller = app
    recording = media.write_wav(tmp_path / "tones.wav", media.tone(seconds=6.0), 16000)
    (answer_step,) = parse_answer_anchors(TWO_TIMES, first_index=2)
    with HistoryStore(paths.history_path()) as store:
        conversation = store.create_conversation("Tones", "tiny")
        turn = store.begin_turn(conversation, "What happens?", store.add_recording(recording, 6.0))
        store.finish_turn(turn, TWO_TIMES, " ".join(s.text for s in REASONING), [*REASONING, answer_step], {})
    controller.open_conversation(conversation)
    qtbot.waitUntil(lambda: controller.recording == str(recording), timeout=20_000)
    view = window.chat.current
    qtbot.waitUntil(lambda: view.answer.width() > 200)
    moves: list[float] = []
    controller.player.position_changed.connect(moves.append)
    click_at(qtbot, view.answer, links(view.answer)[1][2])
    assert moves and moves[0] == pytest.approx(3.0, abs=0.05) and controller.player.playing
    assert view.steps.currentRow() == 1
    controller.player.pause()


def test_a_spoken_question_cut_short_reads_failed(app):
    import numpy as np

    from engine.voice.events import Utterance

    window, controller = app
    controller.voice.on_event(Utterance(0.4, cut_short=True, samples=np.zeros(6400, np.float32)))
    turn = window.chat.current
    assert (turn.state, turn.status.text()) == ("failed", "⚠ Cut short: the microphone stopped")
