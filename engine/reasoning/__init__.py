"""Turn AF-Next-Think's reasoning (and the answer's timestamps) into steps a person can click.

``parse_steps`` splits a whole chain, ``StepStream`` does the same as tokens arrive,
``StepEvents`` wires it into the engine's event stream, ``find_anchors`` lists every time a
text cites (for making each one clickable), and ``shift_steps`` makes window times absolute.
"""

from engine.reasoning.anchors import Anchor, find_anchors, has_anchor
from engine.reasoning.steps import is_past_end, shift_steps
from engine.reasoning.stream import StepStream, parse_steps
from engine.reasoning.tracker import StepEvents, parse_answer_anchors, steps_from_output, with_steps

__all__ = [
    "Anchor",
    "StepEvents",
    "StepStream",
    "find_anchors",
    "has_anchor",
    "is_past_end",
    "parse_answer_anchors",
    "parse_steps",
    "shift_steps",
    "steps_from_output",
    "with_steps",
]
