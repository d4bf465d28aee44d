"""Numbers as words, the way a person reads them aloud (American English, no "and")."""

from __future__ import annotations

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _under_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def cardinal(n: int) -> str:
    """123 → "one hundred twenty-three"; beyond the trillions the digits are read one by one."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= 10**15:
        return digits(str(n))
    words = []
    for scale, name in _SCALES:
        if n >= scale:
            words.append(f"{_under_thousand(n // scale)} {name}")
            n %= scale
    if n or not words:
        words.append(_under_thousand(n))
    return " ".join(words)


def ordinal(n: int) -> str:
    """21 → "twenty-first"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    stem, dash, unit = last.rpartition("-")
    if unit in _ORDINAL_IRREGULAR:
        unit = _ORDINAL_IRREGULAR[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head}{sep}{stem}{dash}{unit}"


def digits(text: str) -> str:
    """ "0457" → "zero four five seven"."""
    return " ".join(_ONES[int(c)] for c in text if c.isdigit())


def year(n: int) -> str:
    """1999 → "nineteen ninety-nine", 1900 → "nineteen hundred", 2005 → "two thousand five"."""
    if not 1100 <= n <= 2099 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + cardinal(low) if low < 10 else cardinal(low)}"


def decimal(text: str) -> str:
    """ "3.14" → "three point one four"; "1,234.5" → "one thousand two hundred thirty-four point five"."""
    whole, _, frac = text.replace(",", "").partition(".")
    sign = "minus " if whole.startswith("-") else ""
    whole = whole.lstrip("-+")
    spoken = cardinal(int(whole)) if whole else "zero"
    return sign + spoken + (f" point {digits(frac)}" if frac else "")


def plural(count_words: str, unit: str, plural_unit: str | None = None) -> str:
    """ "one" + "second" → "one second"; anything else takes the plural."""
    if count_words == "one":
        return f"one {unit}"
    return f"{count_words} {plural_unit or unit + 's'}"
