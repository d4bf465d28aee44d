"""What kind of event a step's text names: someone speaking, a knock-like hit, a tone, or another sound.

Only clear cues count: a quotation or a verb of speech means speech; words for hits (knock, clap,
slam) mean a sound that dies away at once; words for tones (bell, beep, note, chord) one that
rings on; other sound sources (a dog, an engine) mean a sound of either sort. Cues of two kinds,
or none, say nothing: the audio decides alone.
"""

from __future__ import annotations

import re

SPEECH = "speech"
HIT = "hit"  # dies away within a tenth of a second or so
TONE = "tone"  # rings on
SOUND = "sound"  # any sound but speech

_QUOTE = re.compile(r"[\"“”«»„]|(?:^|\s)'[^']{2,}'")
_SPEECH_WORDS = re.compile(
    r"\b(?:says?|said|saying|speak(?:s|ing|er)?|spoke|talk(?:s|ing|ed)?|voice|asks?|asked|answers?"
    r"|answered|repl(?:y|ies|ied)|announc(?:es?|ed|ing)|mentions?|mentioned|words?|sentence|phrase"
    r"|greets?|greeted|explains?|explained|introduces?|introduced|whispers?|shouts?|calls? out"
    r"|narrat(?:or|es|ion)|speech)\b",
    re.IGNORECASE,
)
_HIT_WORDS = re.compile(
    r"\b(?:knock(?:s|ing|ed)?|clap(?:s|ping|ped)?|slam(?:s|med|ming)?|bang(?:s|ed|ing)?|thuds?|thumps?"
    r"|footsteps?|clicks?|crash(?:es|ed)?|gunshots?|explosions?|snaps?|taps?|tapping|pops?|clatter)\b",
    re.IGNORECASE,
)
_TONE_WORDS = re.compile(
    r"\b(?:bells?|chimes?|ring(?:s|ing)?|beeps?|beeping|tones?|notes?|chords?|piano|guitar|melody"
    r"|music|whistles?|sirens?|alarms?|ding|buzz(?:er|ing)?|hum(?:s|ming)?|sings?|singing)\b",
    re.IGNORECASE,
)
_SOUND_WORDS = re.compile(
    r"\b(?:sounds?|noises?|barks?|barking|dogs?|woof|meows?|horns?|engines?|glass|drums?|plays?|played"
    r"|door)\b",
    re.IGNORECASE,
)


def event_kind(text: str) -> str | None:
    """``SPEECH``, ``HIT``, ``TONE``, ``SOUND`` or None (no cue, or cues that disagree)."""
    speech = bool(_QUOTE.search(text) or _SPEECH_WORDS.search(text))
    hit, tone = bool(_HIT_WORDS.search(text)), bool(_TONE_WORDS.search(text))
    sound = hit or tone or bool(_SOUND_WORDS.search(text))
    if speech == sound:
        return None
    if speech:
        return SPEECH
    if hit != tone:
        return HIT if hit else TONE
    return SOUND
