"""Split a reasoning chain (or an answer) into steps, whole or as it streams.

How a chain splits (every rule is local, so a step is final as soon as what follows it is):

- A list item ("1." "2)" "(3)" "-" "*" "+" "•") or a heading ("Step 3:", "**Step 3:**",
  "### ...") starts a step at the start of a line. The lines below it belong to it (as in
  Markdown) until a blank line or the next marker. A title heading ("### Timing", "Step 2:",
  one ending in ":" or "**") also takes the paragraph after a blank line as its body.
- Other text is prose, in paragraphs separated by blank lines. A paragraph is one step unless it
  cites times in more than one sentence: then a new step starts at each sentence that cites a
  time when the step so far already cites one, and sentences that cite none stay with the step
  they follow. "Listen first. At 0:05 a dog barks. It stops." is one step; "At 0:05 a dog
  barks. At 0:09 a car passes." is two. A newline ends a sentence too.
- A step's text is its span stripped of its marker and surrounding whitespace, exactly
  ``source[char_start:char_end]``; a step with no text is dropped.

``parse_steps`` is the stream fed once, so streaming and whole parsing cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import Step
from engine.reasoning.anchors import has_anchor
from engine.reasoning.buffer import TextBuffer
from engine.reasoning.lines import Kind, Line, classify, is_title
from engine.reasoning.sentences import LOOK_BEHIND, sentence_ends
from engine.reasoning.steps import make_step


@dataclass
class _Open:
    """The step under way. Positions here and below are absolute offsets in the source text."""

    prose: bool
    start: int
    absorbing: bool = False  # a title waiting for its body across blank lines
    anchored: bool = False  # prose: a sentence in it cites a time


class StepStream:
    """Feed a chain in pieces of any size; get each step once nothing can change it."""

    def __init__(self, audio_duration: float | None = None, source: str = "reasoning"):
        self.audio_duration = audio_duration
        self.source = source
        self._text = TextBuffer()
        self._line = 0  # where the current line starts
        self._newline_from = 0  # no newline in the current line before this
        self._kind: Line | None = None  # the current line, once it can be told
        self._open: _Open | None = None
        self._sentence = 0  # prose: where the sentence under way starts
        self._scan = 0  # prose: where to look for the next sentence end
        self._index = 0
        self._ready: list[Step] = []
        self._finished = False

    def feed(self, delta: str) -> list[Step]:
        """Add text; return the steps completed by it, in order."""
        if self._finished:
            raise RuntimeError("StepStream.feed() after finish()")
        self._text.append(delta)
        self._run(final=False)
        self._release()
        return self._take()

    def finish(self) -> list[Step]:
        """The text is complete: return the remaining steps."""
        if not self._finished:
            self._finished = True
            self._run(final=True)
            self._close(self._text.end)
        return self._take()

    def _take(self) -> list[Step]:
        ready, self._ready = self._ready, []
        return ready

    def _run(self, final: bool) -> None:
        """Consume lines as far as the text allows."""
        buf, base = self._text.recent, self._text.base
        while True:
            newline = buf.find("\n", self._newline_from - base)
            end = newline + base if newline >= 0 else self._text.end
            complete = newline >= 0 or final
            self._newline_from = end
            if self._kind is None:
                line = classify(buf, self._line - base, end - base, complete)
                if line is None:
                    return
                self._kind = Line(line.kind, line.content + base, line.markdown)  # absolute
                self._begin_line(self._kind)
            if self._in_prose():
                self._scan_sentences(end)
            if not complete:
                return
            self._end_line(end)
            if newline < 0:
                return
            self._line = self._newline_from = end + 1
            self._kind = None

    def _in_prose(self) -> bool:
        line, step = self._kind, self._open
        return line is not None and line.kind is Kind.PLAIN and step is not None and step.prose

    def _begin_line(self, line: Line) -> None:
        if line.kind is Kind.BLANK:
            if not (self._open and self._open.absorbing):
                self._close(self._line)
        elif line.kind in (Kind.ITEM, Kind.HEADING):
            self._close(self._line)
            self._open = _Open(prose=False, start=line.content)
        elif self._open and not self._open.prose:
            self._open.absorbing = False  # a continuation line of an item or a heading's body
        else:
            self._open = self._open or _Open(prose=True, start=self._line)
            self._sentence = self._scan = self._line

    def _end_line(self, end: int) -> None:
        assert self._kind is not None
        if self._in_prose():
            self._end_sentence(end)
        elif self._kind.kind is Kind.HEADING and self._open:
            self._open.absorbing = is_title(self._kind, self._text.text(self._open.start, end))

    def _scan_sentences(self, end: int) -> None:
        base = self._text.base
        sentence = max(self._sentence, base) - base  # an older start is beyond any look-behind
        ends, resume = sentence_ends(self._text.recent, self._scan - base, end - base, sentence)
        for sentence_end in ends:
            self._end_sentence(sentence_end + base)
        self._scan = resume + base

    def _end_sentence(self, end: int) -> None:
        """A prose sentence ends: it opens a new step if it cites a time and the step does too."""
        start, stop = self._strip(self._sentence, end)
        self._sentence = end
        if start == stop or self._open is None:
            return
        if has_anchor(self._text.text(start, stop)):
            if self._open.anchored:
                self._close(start)
                self._open = _Open(prose=True, start=start)
            self._open.anchored = True

    def _close(self, boundary: int) -> None:
        """End the step under way at ``boundary`` and queue it unless it has no text."""
        if self._open is None:
            return
        start, stop = self._strip(self._open.start, boundary)
        self._open = None
        if start < stop:
            text = self._text.text(start, stop)
            step = make_step(text, start, self._index, source=self.source, audio_duration=self.audio_duration)
            self._ready.append(step)
            self._index += 1
        self._text.forget_before(boundary)

    def _strip(self, start: int, stop: int) -> tuple[int, int]:
        """``start``/``stop`` moved inward past whitespace."""
        span = self._text.text(start, stop)
        text = span.strip()
        if not text:
            return start, start
        lead = len(span) - len(span.lstrip())
        return start + lead, start + lead + len(text)

    def _release(self) -> None:
        """Let the buffer move out text that no search reads again."""
        if not self._text.crowded:
            return
        keep = self._line if self._kind is None else self._newline_from
        if self._in_prose():
            keep = min(keep, max(self._sentence, self._scan - LOOK_BEHIND))
        self._text.release(keep, self._open.start if self._open else None)


def parse_steps(text: str, *, audio_duration: float | None = None, source: str = "reasoning") -> list[Step]:
    """Split a chain (the text inside ``<think>``, or an answer) into steps with their anchors.

    Spans index into ``text``; ``audio_duration`` (seconds) lets anchors past the end be flagged.
    """
    stream = StepStream(audio_duration, source)
    return stream.feed(text) + stream.finish()
