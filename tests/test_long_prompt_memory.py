"""A long clip's features and encoder run a few 30 s windows at a time, with the same results.

Feature extraction of 30 minutes in one batch and the encoder over 60 windows at once held about
1 GB each above the model (bench/long_memory.py); both now work on bounded groups of windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.inference import prompt
from engine.model.encoder_groups import ENCODER_GROUP
from engine.model.loading import load_model

WINDOW = 16000 * 30


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from engine.model.tiny import build_tiny_model

    return load_model(build_tiny_model(Path(tmp_path_factory.mktemp("tiny"))))


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """Ten and a third windows of noise: more than one group of either kind, and a short last piece."""
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(10 * WINDOW + WINDOW // 3)).astype(np.float32)


def test_features_are_extracted_a_few_pieces_at_a_time_and_match_the_whole_batch(loaded, clip, monkeypatch):
    processor = loaded.processor
    extractor_type = type(processor.feature_extractor)
    whole = processor(text=[processor.audio_token], audio=[clip])  # the processor's own single batch
    batches, call = [], extractor_type.__call__

    def counting(self, pieces, **kwargs):
        batches.append(len(pieces))
        return call(self, pieces, **kwargs)

    monkeypatch.setattr(extractor_type, "__call__", counting)
    inputs = prompt.encode(loaded, "a" + processor.audio_token + "b", [clip])
    assert max(batches) <= prompt.FEATURE_PIECES and sum(batches) == 11
    assert torch.equal(inputs["input_features"], whole["input_features"])
    assert torch.equal(inputs["input_features_mask"], whole["input_features_mask"])
    assert (inputs["input_ids"] == processor.audio_token_id).sum() == (
        whole["input_ids"] == processor.audio_token_id
    ).sum()
    assert processor.feature_extractor.__class__ is extractor_type  # put back after the clip


def test_the_encoder_takes_windows_in_groups_with_the_hidden_states_of_one_batch(loaded, clip):
    inputs = prompt.encode(loaded, loaded.processor.audio_token, [clip])
    tower = loaded.model.model.audio_tower
    sizes = []
    hook = tower.conv1.register_forward_hook(lambda module, args, out: sizes.append(args[0].shape[0]))
    try:
        with torch.inference_mode():
            grouped = tower(inputs["input_features"], input_features_mask=inputs["input_features_mask"])
            one_batch = type(tower).forward(
                tower, inputs["input_features"], input_features_mask=inputs["input_features_mask"]
            )
    finally:
        hook.remove()
    assert sizes[:2] == [ENCODER_GROUP, 11 - ENCODER_GROUP] and sizes[2] == 11  # grouped, then the reference
    assert torch.equal(grouped.last_hidden_state, one_batch.last_hidden_state)
