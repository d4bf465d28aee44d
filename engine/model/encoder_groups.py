"""Run the audio encoder over a long prompt's 30 s windows a few at a time.

A 30-minute clip is 60 windows, and the encoder's attention mask alone is 60 × 1500 × 1500
values; the whole batch at once peaked at about 1 GB above the model on the tiny CPU model. Each
window is encoded on its own anyway (the windows never attend to each other), so encoding them
in groups and joining the outputs gives the same hidden states with a bounded peak.
"""

from __future__ import annotations

from typing import Any

ENCODER_GROUP = 8  # windows per encoder call: 4 minutes of audio
_MARK = "_heron_grouped"


def encode_windows_in_groups(model: Any, group: int = ENCODER_GROUP) -> None:
    """Make ``model``'s audio tower take its batch of windows ``group`` at a time (idempotent)."""
    tower = getattr(getattr(model, "model", model), "audio_tower", None)
    if tower is None or getattr(tower, _MARK, False):
        return
    whole = tower.forward

    def forward(input_features, input_features_mask=None, **kwargs):
        plain = not kwargs.get("output_hidden_states") and not kwargs.get("output_attentions")
        if input_features.shape[0] <= group or input_features_mask is None or not plain:
            return whole(input_features, input_features_mask=input_features_mask, **kwargs)
        outputs = [
            whole(
                input_features[i : i + group],
                input_features_mask=input_features_mask[i : i + group],
                **kwargs,
            )
            for i in range(0, input_features.shape[0], group)
        ]
        return _joined(outputs)

    tower.forward = forward
    setattr(tower, _MARK, True)


def _joined(outputs: list) -> Any:
    import torch

    first = outputs[0]
    first.last_hidden_state = torch.cat([o.last_hidden_state for o in outputs])
    if getattr(first, "pooler_output", None) is not None:
        first.pooler_output = torch.cat([o.pooler_output for o in outputs])
    return first
