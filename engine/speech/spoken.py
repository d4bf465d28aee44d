"""Turn written answer text into the words a person would say.

The model writes markdown, timestamps such as ``[01:05]``, numbers, units and symbols; a speech
engine reading them literally says "open bracket zero one colon zero five". ``spoken_form``
rewrites one sentence (as the chunker emits them) into plain words; the TTS voices then only
have to pronounce ordinary English.
"""

from __future__ import annotations

import re
import unicodedata

from engine.speech import numbers as num

CODE_NOTICE = "The code is shown on screen."

# --- markdown -----------------------------------------------------------------------------------

_DOMAIN = r"[\w-]+(?:\.[\w-]+)+"
_URL_TAIL = r"(?:[/?#]\S*?)?(?=[.,;:!?)]*(?:\s|$))"
_TLDS = "com|org|net|dev|io|ai|edu|gov|app|info"


def _say_domain(domain: str) -> str:
    return domain.replace(".", " dot ")


_MARKDOWN = [
    (re.compile(r"```.*?(```|$)", re.S), f" {CODE_NOTICE} "),  # a whole fenced block in one sentence
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image: its alt text
    (re.compile(r"\[([^\]]+)\]\((?:https?://|/|#)[^)]*\)"), r"\1"),  # link: its text
    (re.compile(r"<[a-zA-Z/][^>]*>"), " "),  # html tags
    (re.compile(r"`([^`]*)`"), r"\1"),  # inline code
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?!\s)([^*]+?)(?<!\s)\*(?![\w*])"), r"\1"),  # italic *x*
    (re.compile(r"(?<![\w_])_(?!\s)([^_]+?)(?<!\s)_(?![\w_])"), r"\1"),  # italic _x_
    (re.compile(r"~~(.+?)~~"), r"\1"),  # strike-through: still said
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M), r"\1."),  # heading: a sentence of its own
    (re.compile(r"^\s*>\s?", re.M), ""),  # block quote
    (re.compile(r"^\s*[-*+•]\s+", re.M), ""),  # bullet
    (re.compile(r"^\s*(\d+)[.)]\s+", re.M), r"\1, "),  # numbered item: "1, first thing"
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M), ""),  # table rule
    (re.compile(r"^\s*([-*_]\s*){3,}$", re.M), ""),  # horizontal rule
    (re.compile(r"\s*\|\s*"), ", "),  # table cells
    # An address is said as a person says it: its site, "dot" for each dot; the path is for the screen.
    (re.compile(rf"(?:https?://|\bwww\.)(?:www\.)?({_DOMAIN}){_URL_TAIL}"), lambda m: _say_domain(m[1])),
    (re.compile(rf"(?<![\w.])((?:[a-z0-9-]+\.)+(?:{_TLDS})){_URL_TAIL}"), lambda m: _say_domain(m[1])),
]

# --- timestamps ---------------------------------------------------------------------------------

_TIME = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:\.\d+)?"
_RANGE = re.compile(rf"\[?\s*({_TIME})\s*\]?\s*(?:-|–|—|to)\s*\[?\s*({_TIME})\s*\]")
_RANGE_BARE = re.compile(rf"(?<![\d:])({_TIME})\s*(?:-|–|—)\s*({_TIME})(?![\d:])")
_BRACKETED = re.compile(rf"[\[(]\s*({_TIME})\s*[\])]")
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})\s*([aApP])\.?\s*[mM]\.?(?!\w)")
_HOUR = re.compile(r"(?<![\d:.])(1[0-2]|0?[1-9])\s*([aApP])\.?\s*[mM]\.?(?!\w)")  # "3 pm"
_BARE = re.compile(rf"(?<![\d:.])({_TIME})(?![\d:])")
_STAMP = rf"\[\s*{_TIME}\s*(?:(?:-|–|—|to)\s*{_TIME}\s*)?\]"  # a bracketed time or range
_LEADING_TIME = re.compile(
    rf"^(\s*(?:(?:then|and|but|so|later|next|finally)\s+)?(?:(?:at|from|between|around|after|before|until|by|step)\s+)?"
    rf"{_STAMP}(?:\s*(?:-|–|—|to|and)\s*{_STAMP})?)(?=\s+[A-Za-z])",
    re.I,
)
_BETWEEN = re.compile(r"\bbetween\s*\[?\s*$", re.I)


def timestamp_words(stamp: str) -> str:
    """ "01:05" → "one minute five", "1:02:03" → "one hour two minutes three seconds", "00:07" → "seven seconds"."""
    parts = stamp.split(":")
    seconds_text = parts[-1]
    hours = int(parts[0]) if len(parts) == 3 else 0
    minutes = int(parts[-2])
    sec_words = num.decimal(seconds_text) if "." in seconds_text else num.cardinal(int(seconds_text))
    seconds_zero = float(seconds_text) == 0
    words = []
    if hours:
        words.append(num.plural(num.cardinal(hours), "hour"))
    if minutes:
        words.append(num.plural(num.cardinal(minutes), "minute"))
    if not seconds_zero or not words:
        if hours or not minutes:
            words.append(num.plural(sec_words, "second"))
        else:
            words.append(sec_words)  # "one minute five": how people read mm:ss
    return " ".join(words)


def clock_words(hour: int, minute: int, meridiem: str = "") -> str:
    """12:05 → "twelve oh five", 3:00 → "three o'clock", 3:00 pm → "three p m"."""
    suffix = f" {meridiem[0].lower()} m" if meridiem else ""
    if minute == 0:
        return num.cardinal(hour) + (suffix or " o'clock")
    minute_words = f"oh {num.cardinal(minute)}" if minute < 10 else num.cardinal(minute)
    return f"{num.cardinal(hour)} {minute_words}{suffix}"


def _bare_time(match: re.Match) -> str:
    stamp = match.group(1)
    parts = stamp.split(":")
    # "01:05", "0:45", "1:02:03" and fractional seconds are positions in a recording; "12:05"
    # and "3:30" read like clock times, which is also how people say them for recordings.
    if len(parts) == 3 or parts[0].startswith("0") or "." in stamp or int(parts[0]) > 23:
        return timestamp_words(stamp)
    return clock_words(int(parts[0]), int(parts[1]))


def range_word(match: re.Match) -> str:
    """ "to" joins a range, but after "between" a person says "and"."""
    return "and" if _BETWEEN.search(match.string, 0, match.start()) else "to"


def _period(match: re.Match) -> str:
    """The "." of "p.m." also ends the sentence when nothing, or a new sentence, follows it."""
    ends = match[0].endswith(".") and re.match(r"\s*(?:$|[A-Z])", match.string[match.end() :])
    return "." if ends else ""


def speak_timestamps(text: str) -> str:
    # A time that opens the sentence is followed by a pause, as a person reading it pauses:
    # "At [01:05] a dog barks" → "At one minute five, a dog barks" (heard as one phrase otherwise).
    text = _LEADING_TIME.sub(r"\1,", text)
    text = _RANGE.sub(lambda m: f"{timestamp_words(m[1])} {range_word(m)} {timestamp_words(m[2])}", text)
    text = _RANGE_BARE.sub(lambda m: f"{timestamp_words(m[1])} {range_word(m)} {timestamp_words(m[2])}", text)
    text = _BRACKETED.sub(lambda m: timestamp_words(m[1]), text)
    text = _CLOCK.sub(lambda m: clock_words(int(m[1]), int(m[2]), m[3]) + _period(m), text)
    text = _HOUR.sub(lambda m: f"{num.cardinal(int(m[1]))} {m[2].lower()} m" + _period(m), text)
    return _BARE.sub(_bare_time, text)


# --- numbers, units, symbols --------------------------------------------------------------------

_UNITS = {
    "khz": ("kilohertz", "kilohertz"),
    "mhz": ("megahertz", "megahertz"),
    "hz": ("hertz", "hertz"),
    "db": ("decibel", "decibels"),
    "dbfs": ("decibel full scale", "decibels full scale"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "bpm": ("beat per minute", "beats per minute"),
    "kbps": ("kilobit per second", "kilobits per second"),
    "kb": ("kilobyte", "kilobytes"),
    "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"),
    "tb": ("terabyte", "terabytes"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"),
    "°c": ("degree Celsius", "degrees Celsius"),
    "°f": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "%": ("percent", "percent"),
    "x": ("times", "times"),
}
_NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_UNIT_RE = re.compile(
    rf"(?<![\w.])({_NUMBER})\s?({'|'.join(sorted(map(re.escape, _UNITS), key=len, reverse=True))})(?![\w])",
    re.I,
)
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence")}  # fmt: skip
_MONEY_RE = re.compile(
    r"([$€£])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s?(k|K|million|billion|trillion)\b)?(?!\.?\d)"
)
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.I)
_FRACTIONS = {"1/2": "one half", "1/3": "one third", "2/3": "two thirds", "1/4": "one quarter",
              "3/4": "three quarters"}  # fmt: skip
_FRACTION_RE = re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])")
_NUM_RANGE_RE = re.compile(rf"(?<![\w.])({_NUMBER})\s?(?:-|–|—)\s?({_NUMBER})(?!\w|\.\d)")
_YEAR_CONTEXT = re.compile(
    r"\b(in|since|by|until|from|year|of|around|circa)\s+(1[1-9]\d\d|20[1-9]\d)\b", re.I
)
_PLAIN_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER}(?![\w])")
_ABBREVIATIONS = [
    (re.compile(r"\be\.g\.,?", re.I), "for example,"),
    (re.compile(r"\bi\.e\.,?", re.I), "that is,"),
    (re.compile(r"\betc\.", re.I), "et cetera."),
    (re.compile(r"\bvs\.?(?=\s)", re.I), "versus"),
    (re.compile(r"\bapprox\.", re.I), "approximately"),
    (re.compile(r"\bMr\."), "Mister"),
    (re.compile(r"\bMrs\."), "Missus"),
    (re.compile(r"\bDr\."), "Doctor"),
    (re.compile(r"\bNo\.(?=\s*\d)"), "number"),
]
_APPROX = re.compile(r"\s*(?:≈|~)\s*(?=[$€£]?\d)")
_SYMBOLS = [
    (re.compile(r"\s*(?:->|→|=>)\s*"), " to "),
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*\+\s*(?=\d)"), " plus "),
    (re.compile(r"(?<=\d)\s*[×x*]\s*(?=\d)"), " times "),
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"\s*≤\s*"), " at most "),
    (re.compile(r"\s*≥\s*"), " at least "),
    (re.compile(r"(?<=\s)<(?=\s)"), "less than"),
    (re.compile(r"(?<=\s)>(?=\s)"), "greater than"),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#(?=\d)"), "number "),
    (re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z])"), " or "),
    (re.compile(r"\s*[—–]\s*"), ", "),
    (re.compile(r"[*_#^\\{}\[\]<>|~`]"), " "),
]


def _money(match: re.Match) -> str:
    one, many, cent, cents = _CURRENCY[match[1]]
    whole = int(match[2].replace(",", ""))
    scale = match[4]
    if scale:
        scale_word = "thousand" if scale.lower() == "k" else scale
        amount = num.decimal(match[2] + (f".{match[3]}" if match[3] else ""))
        return f"{amount} {scale_word} {many}"
    words = num.plural(num.cardinal(whole), one, many)
    if match[3] and len(match[3]) != 2:  # "$2.5" is not two dollars and five cents
        return f"{num.decimal(match[2] + '.' + match[3])} {many}"
    if match[3] and int(match[3]):
        words += " and " + num.plural(num.cardinal(int(match[3])), cent, cents)
    return words


def _unit(match: re.Match) -> str:
    value, unit = match[1], match[2].lower()
    one, many = _UNITS[unit]
    if unit == "x":
        return f"{num.decimal(value)} times"
    words = num.decimal(value)
    return f"{words} {one if words == 'one' else many}"


def _fraction(match: re.Match) -> str:
    text = f"{match[1]}/{match[2]}"
    if text in _FRACTIONS:
        return _FRACTIONS[text]
    return f"{num.cardinal(int(match[1]))} over {num.cardinal(int(match[2]))}"


def _plain_number(match: re.Match) -> str:
    text = match[0]
    if re.fullmatch(r"0\d+", text):  # "007", a code or an id
        return num.digits(text)
    return num.decimal(text)


def speak_numbers(text: str) -> str:
    text = _MONEY_RE.sub(_money, text)
    text = _UNIT_RE.sub(_unit, text)
    text = _ORDINAL_RE.sub(lambda m: num.ordinal(int(m[1])), text)
    text = _FRACTION_RE.sub(_fraction, text)
    text = _YEAR_CONTEXT.sub(lambda m: f"{m[1]} {num.year(int(m[2]))}", text)
    text = _NUM_RANGE_RE.sub(lambda m: f"{num.decimal(m[1])} {range_word(m)} {num.decimal(m[2])}", text)
    return _PLAIN_NUMBER.sub(_plain_number, text)


def _strip_markdown(text: str) -> str:
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text


def _drop_pictographs(text: str) -> str:
    """Emoji and other pictographs: a person reading aloud skips them."""
    return "".join(c for c in text if unicodedata.category(c) not in ("So", "Cs", "Co"))


def spoken_form(text: str) -> str:
    """One sentence of answer text as plain words for a speech engine; "" when nothing is left to say."""
    text = unicodedata.normalize("NFC", text)
    text = _strip_markdown(text)
    text = speak_timestamps(text)
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    text = _APPROX.sub(" about ", text)
    text = speak_numbers(text)
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    text = _drop_pictographs(text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    return text if re.search(r"\w", text) else ""
