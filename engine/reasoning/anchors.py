"""Read the moments of the audio that a piece of text cites ("time anchors").

Lenient on form, strict on meaning. Accepted forms: ``[01:02:03]``, ``12:05``, ``12:05.5``,
``1:02:03``, ``12.5s``, ``12 s``, ``83 seconds``, ``1 min 5 s``, ``1m05s``, ``2 minutes and 5
seconds``, ``2 min 30`` and ``2 min. 30 s.`` (the bare number after minutes is seconds, 0-59),
``minute 3`` or ``second 12`` after a preposition or at the start of a line (``at minute 3``,
``Minute 3: …``), a bare number after ``timestamp`` or ``t =``, and ranges of two of these joined by ``-``, ``–``, ``—``, ``~``, ``to``, ``until``,
``till``, ``through`` or (after "between") ``and``; the left side of a range may be a bare number
that takes the unit of the right side (``12.5–20 s``, ``between 10 and 20 seconds``).

Rules for what is *not* a moment of the audio (decided here, tested in tests/test_reasoning.py):

- A number needs a colon form or a time unit: counts, years, versions, percentages, Hz and BPM
  never read as anchors. Bare ``m`` and ``h`` count only inside a compound (``1m05s``), so
  "5 m away" is a distance; ``ms`` is never a unit here.
- A colon pair reads as mm:ss (or h:mm:ss) when its seconds part has exactly two digits, 00-59:
  "3:1" and "16:9" are ratios, "3:10" reads as 190 s. Clock times of day are told apart only by a
  marker after them (am, pm, a.m., o'clock, h, hrs, UTC, GMT): "at 10:30 am" is no anchor,
  "at 10:30" is 630 s into the audio (the model speaks in audio time).
- Durations are not moments: a time after "for", "lasted", "takes", "every", "within", "over",
  "first", "a"/"an" and the like (optionally through "about", "around", "nearly"...), a
  hyphenated unit ("a 5-minute talk"), or a time followed by "long", "later", "earlier",
  "apart", "ago", "in length" or "of silence/music/...". A following "mark" or "point" ("the
  12-second mark") always makes it a moment.
- Numbers longer than six digits, or glued to letters, dots or colons ("v2.1", "x12s",
  "99999999:99"), are not read at all, so no value is ever huge or infinite.
- A unit word before its number counts only after a preposition or at a line's start: "the
  second 2 beeps" and "a minute 5 people" are not times. Primes (``1'05"``) are not read: they
  are as often feet and inches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    """A moment (``start_s == end_s``) or a range cited in a text, and where it is written."""

    start_s: float
    end_s: float
    char_start: int
    char_end: int


@dataclass(frozen=True)
class _Time:
    """One time value as written, before it is judged a moment of the audio or not."""

    start: int
    end: int
    seconds: float
    kind: str  # "clock" (12:05), "unit" (12 s, 1 min 5 s) or "bare" (a number alone)
    scale: float = 1.0  # seconds per unit of the first part: lets "12.5–20 s" share the unit
    last_scale: float = 1.0  # seconds per unit of the last part: "1 min 5 s" can take no more
    hyphen: bool = False  # written as an adjective: "a 5-minute talk"
    letters_only: bool = False  # unit is a lone "m" or "h": a time only inside a compound


_NUMBER = r"[0-9]{1,6}(?:\.[0-9]{1,3})?"  # bounded: no float ever overflows

# One regex for the three shapes a time value takes; the order of the alternatives matters
# (a clock wins over a number followed by a colon). What precedes a token is checked in code,
# because a compound ("1m05s") legitimately glues a number to a unit letter.
_TOKEN = re.compile(
    rf"""
    (?P<clock>
        (?: (?P<h>[0-9]{{1,3}}) : (?P<m>[0-5][0-9]) | (?P<mm>[0-9]{{1,3}}) )
        : (?P<s>[0-5][0-9]) (?P<frac>\.[0-9]{{1,3}})?
        (?! [0-9] | :[0-9] | \.[0-9] )          # not a longer number or a four-part clock
    )
    | (?P<unit>
        (?P<n>{_NUMBER}) [ \t\u00a0]{{0,2}} (?P<hy>-[ \t]?)?
        (?P<u>hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)
        (?![^\W\d_])                            # a whole word: "3 speakers" has no unit
    )
    | (?P<bare> {_NUMBER} ) (?! [0-9] | :[0-9] | \.[0-9] )
    """,
    re.VERBOSE | re.IGNORECASE,
)

_SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0}

# "minute 3", "at sec 45": a unit word before a bare number, after a preposition or at a line's start.
_UNIT_FIRST = re.compile(
    rf"\b(?P<u>minute|min|second|sec)\.?[ \t\u00a0]+(?={_NUMBER}(?![0-9:]|\.[0-9]))", re.IGNORECASE
)
_UNIT_FIRST_BEFORE = re.compile(
    r"(?:^|\n|[\[(]|\b(?:at|from|to|until|till|around|about|near|by|after|before|in|on|through)\s+(?:the\s+)?)\s*$",
    re.IGNORECASE,
)
# A bare number right after these is seconds: "timestamp 12.5", "t = 12".
_SECONDS_WORD_BEFORE = re.compile(r"(?:\btime\s*stamp|\btime\s*code|\bt\s*=)\s*[\[(]?\s*$", re.IGNORECASE)
# After "2 min 30": the bare seconds end there (not "2 min 30 people").
_SECONDS_END = re.compile(r"\s*(?:$|[,.;:!?)\]–—~-]|(?:and|to|until|till|through)\b)", re.IGNORECASE)
_ABBREVIATED = re.compile(r"(?:min|sec|hr)s?$", re.IGNORECASE)  # "2 min. 30 s." joins across the dot
_HAS_DIGIT = re.compile(r"[0-9]")  # the fast path: most sentences cite no time at all

# Between two parts of one compound time: "1 min 5 s", "1m05s", "2 minutes, 5 seconds".
_COMPOUND_GAP = re.compile(r"[ \t\u00a0]*(?:,|and)?[ \t\u00a0]*", re.IGNORECASE)
# Between the two ends of a range; brackets may close and reopen: "[00:12] – [00:45]".
_RANGE_GAP = re.compile(
    r"\s*[\])]?\s*(?P<word>-|–|—|‒|~|to|until|till|through|and)\s*[\[(]?\s*", re.IGNORECASE
)
_BETWEEN_BEFORE = re.compile(r"\bbetween\s*[\[(]?\s*$", re.IGNORECASE)

# A duration word right before the time, optionally through hedges: "takes about 10 s".
_DURATION_BEFORE = re.compile(
    r"""
    (?:^|[^\w])
    (?: for | last(?:s|ed|ing)? | tak(?:e|es|ing) | took | span(?:s|ned|ning)? | every | each
      | per | within | over | under | duration(?:\s+of)? | length(?:\s+of)?
      | (?:more|less|longer|shorter)\s+than
      | first | next | another | a | an | few | several | whole | entire | full )
    \s+
    (?: (?: about | around | roughly | approximately | approx\.? | nearly | almost | just | only
          | some | the | over | under | ~ | at\s+least | at\s+most | up\s+to ) \s+ )*
    [\[(]? \s* $
    """,
    re.VERBOSE | re.IGNORECASE,
)
_DURATION_AFTER = re.compile(
    r"""\s*[\])]?\s*
    (?: long | later | earlier | apart | ago | in\s+(?:length|duration|total)
      | of\s+(?:silence|music|speech|audio|sound|noise|talk(?:ing)?|pause|quiet) ) \b
    """,
    re.VERBOSE | re.IGNORECASE,
)
_MARK_AFTER = re.compile(r"\s*[\])]?\s*(?:mark|point|timestamp|time\s*code)\b", re.IGNORECASE)
_TIME_OF_DAY_AFTER = re.compile(r"\s*(?:[ap]\.?\s?m\b\.?|o'?clock\b|hrs?\b|h\b|utc\b|gmt\b)", re.IGNORECASE)
_CONTEXT = 60  # characters of context read on either side of a time


def find_anchors(text: str, *, offset_s: float = 0.0) -> list[Anchor]:
    """Every moment or range of the audio cited in ``text``, in order of writing.

    ``offset_s`` is added to every time (for a window that starts late in a long recording).
    """
    if not _HAS_DIGIT.search(text):
        return []
    values = _compounds(text, _tokens(text))
    anchors: list[Anchor] = []
    i = 0
    while i < len(values):
        pair = _range(text, values[i], values[i + 1]) if i + 1 < len(values) else None
        if pair is not None:
            start, end = pair
            i += 2
        elif values[i].kind != "bare":
            start = end = values[i]
            i += 1
        else:
            i += 1
            continue
        if _is_moment(text, start, end):
            lo, hi = sorted((start.seconds, end.seconds))
            anchors.append(Anchor(lo + offset_s, hi + offset_s, start.start, end.end))
    return anchors


def has_anchor(text: str) -> bool:
    """Whether ``text`` cites any moment of the audio (cheap when it has no digit)."""
    return bool(_HAS_DIGIT.search(text)) and bool(find_anchors(text))


def _tokens(text: str) -> list[_Time]:
    """Time values as written, without those glued to a word, a dot or a colon before them."""
    tokens: list[_Time] = []
    for match in _TOKEN.finditer(text):
        token = _token(match)
        before = text[match.start() - 1] if match.start() else " "
        glued = before.isalnum() or before in ".:"
        joins = tokens and tokens[-1].end == token.start and tokens[-1].kind == token.kind == "unit"
        if glued and not joins:
            continue
        tokens.append(token)
    return [_with_unit_before(text, t) if t.kind == "bare" else t for t in tokens]


def _with_unit_before(text: str, token: _Time) -> _Time:
    """A bare number given its unit by the word before it ("minute 3", "timestamp 12.5"), if any."""
    window = max(0, token.start - _CONTEXT)
    if _SECONDS_WORD_BEFORE.search(text, window, token.start):
        return _Time(token.start, token.end, token.seconds, "unit")
    word = next((m for m in _UNIT_FIRST.finditer(text, window, token.end) if m.end() == token.start), None)
    if word is None or not _UNIT_FIRST_BEFORE.search(text, max(0, word.start() - _CONTEXT), word.start()):
        return token
    scale = _SCALE[word["u"][0].lower()]
    return _Time(word.start(), token.end, token.seconds * scale, "unit", scale, scale)


def _token(match: re.Match[str]) -> _Time:
    start, end = match.span()
    if match["clock"]:
        hours = int(match["h"] or 0)
        minutes = int(match["m"] or match["mm"])
        seconds = hours * 3600 + minutes * 60 + int(match["s"]) + float(match["frac"] or 0)
        return _Time(start, end, seconds, "clock")
    if match["unit"]:
        unit = match["u"].lower()
        scale = _SCALE[unit[0]]
        letters_only = unit in ("m", "h")
        value = float(match["n"]) * scale
        return _Time(start, end, value, "unit", scale, scale, bool(match["hy"]), letters_only)
    return _Time(start, end, float(match["bare"]), "bare")


def _compounds(text: str, tokens: list[_Time]) -> list[_Time]:
    """Join "1 min" + "5 s" into one value; drop a lone "5m" or "2h" (metres, hours?)."""
    values: list[_Time] = []
    for token in tokens:
        last = values[-1] if values else None
        if last is not None and (_joins(text, last, token) or _bare_seconds(text, last, token)):
            seconds = last.seconds + token.seconds
            values[-1] = _Time(last.start, token.end, seconds, "unit", last.scale, token.last_scale)
        else:
            values.append(token)
    return [v for v in values if not v.letters_only]


def _bare_seconds(text: str, left: _Time, right: _Time) -> bool:
    """ "2 min 30": whole seconds 0-59 after minutes, where the seconds' unit was left out."""
    return (
        left.kind == "unit"
        and left.last_scale == 60.0
        and right.kind == "bare"
        and right.seconds.is_integer()
        and right.seconds < 60
        and _gap(text, left, right)
        and _SECONDS_END.match(text, right.end) is not None
    )


def _gap(text: str, left: _Time, right: _Time) -> bool:
    """Only spacing, a comma or "and" (and a dot after an abbreviation) between two parts of a time."""
    start = left.end
    if text.startswith(".", start) and _ABBREVIATED.search(text, left.start, left.end):
        start += 1
    return _COMPOUND_GAP.fullmatch(text, start, right.start) is not None


def _joins(text: str, left: _Time, right: _Time) -> bool:
    return (
        left.kind == right.kind == "unit"
        and not left.hyphen
        and not right.hyphen
        and left.last_scale > right.scale
        and _gap(text, left, right)
    )


def _range(text: str, left: _Time, right: _Time) -> tuple[_Time, _Time] | None:
    """The two ends if ``left`` and ``right`` are written as one range, else None."""
    gap = _RANGE_GAP.fullmatch(text, left.end, right.start)
    if gap is None or right.kind == "bare":
        return None
    if gap["word"].lower() == "and" and not _BETWEEN_BEFORE.search(text, max(0, left.start - 20), left.start):
        return None
    if left.kind == "bare":
        if right.kind != "unit":
            return None
        left = _Time(left.start, left.end, left.seconds * right.scale, "unit", right.scale, right.scale)
    return left, right


def _is_moment(text: str, first: _Time, last: _Time) -> bool:
    """False for durations and clock times of day; "the 12-second mark" is always a moment."""
    after = last.end
    if _MARK_AFTER.match(text, after, after + _CONTEXT):
        return True
    if last.kind == "clock" and _TIME_OF_DAY_AFTER.match(text, after, after + _CONTEXT):
        return False
    if first is last and first.hyphen:
        return False
    if _DURATION_AFTER.match(text, after, after + _CONTEXT):
        return False
    return _DURATION_BEFORE.search(text, max(0, first.start - _CONTEXT), first.start) is None
