"""Grounding: a cited time snapped to the start of the event it names.

``snap(audio, sample_rate, start_s, end_s, text)`` answers for one anchor; a ``Grounder`` snaps
many on one recording (``ArrayAudio`` in memory, ``engine.grounding.file_audio.FileAudio`` from
a file), analysing each part of it once. ``ground_step`` fills a ``Step``'s snapped fields (a
``StepSnapper`` does it for a recording's steps, once each, or not at all when snapping is off)
and ``play_start`` says where a click on it plays from. Nothing here imports torch (silero-vad runs
on onnxruntime), so the window can snap without a frozen frame.
"""

from engine.grounding.snap import Grounder, Snapped, snap
from engine.grounding.snapper import StepSnapper
from engine.grounding.source import ArrayAudio, AudioSource
from engine.grounding.steps import PRE_ROLL_S, ground_step, play_start, unsnapped

__all__ = [
    "PRE_ROLL_S",
    "ArrayAudio",
    "AudioSource",
    "Grounder",
    "Snapped",
    "StepSnapper",
    "ground_step",
    "play_start",
    "snap",
    "unsnapped",
]
