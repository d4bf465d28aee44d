"""What the frozen audio encoder makes of a clip: one row per ``<sound>`` token, before the projector.

The trainer never trains the encoder, so a clip's rows are the same every epoch: computing
them once (``cache_audio_features``) turns the costliest part of a step into a lookup. Only
the projector and the language model, which may train, run on them at every step.

Speed-up, exact by construction: the encoder always attends over a whole 30 s window (1,500
positions) with the padding masked out, so for a clip shorter than one window the rows of
the clip do not depend on the masked tail. ``AudioEncoder`` runs the encoder on the clip's
frames plus a margin (features computed with a little zero padding, the positional table
narrowed to match) and gets the same rows several times faster (on a GPU, several clips per
call). The first clip is encoded both ways and compared; if they ever differ (a processor
with other settings, a different encoder), every clip takes the reference path, which is
exactly what ``generate`` does.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

log = logging.getLogger("heron.trainer")

# Zeros after the clip: more than the STFT half-window plus the frames kept past the end.
_MARGIN_SAMPLES = 1600
_EXTRA_FRAMES = 4  # mel frames kept past the clip: conv1 and the strided conv2 look 2 input frames ahead
# Short clips encoded together: on a GPU a batch costs little more than one clip; on a CPU the
# padding to the longest clip cost as much as batching saved (measured), so one at a time.
BATCH = {"cuda": 16, "cpu": 1}


class AudioEncoder:
    """Encodes clips with ``model``'s frozen audio tower (``model``: MusicFlamingoForConditionalGeneration)."""

    def __init__(self, model, processor, dtype: torch.dtype, device: str):
        self.model = model
        self.processor = processor
        self.dtype = dtype
        self.device = device
        self.fast: bool | None = None  # None until the first short clip has compared both paths

    @torch.no_grad()
    def encode(self, samples: np.ndarray) -> torch.Tensor:
        """Rows of shape (audio tokens, encoder width) on the CPU, in the model's dtype."""
        return self.encode_many([samples])[0]

    @torch.no_grad()
    def encode_many(self, clips: list[np.ndarray]) -> list[torch.Tensor]:
        """``encode`` for each clip; short clips go through the encoder in batches (see BATCH)."""
        clips = [np.asarray(c, dtype=np.float32) for c in clips]
        rows: list[torch.Tensor | None] = [None] * len(clips)
        batchable = []
        for i, samples in enumerate(clips):
            if not self._fits_one_window(samples) or self.fast is False:
                rows[i] = self.encode_reference(samples)
            elif self.fast is None:
                rows[i] = self.encode_reference(samples)
                self.fast = self._fast_matches(samples, rows[i])
            else:
                batchable.append(i)
        batchable.sort(key=lambda i: len(clips[i]))  # similar lengths together: less padding
        size = BATCH["cuda" if str(self.device).startswith("cuda") else "cpu"]
        for start in range(0, len(batchable), size):
            group = batchable[start : start + size]
            for i, encoded in zip(group, self._encode_fast([clips[i] for i in group]), strict=True):
                rows[i] = encoded
        return rows

    # --- the two paths ---------------------------------------------------------------------------

    def encode_reference(self, samples: np.ndarray) -> torch.Tensor:
        """Exactly what inference does: the processor's 30 s windows, the whole encoder."""
        inputs = self.processor(text=[self.processor.audio_token], audio=[samples], return_tensors="pt")
        windows = inputs["input_features"].shape[0]
        return self._rows(inputs["input_features"], inputs["input_features_mask"], [windows])[0]

    def encode_fast(self, samples: np.ndarray) -> torch.Tensor:
        """The same rows for a clip of one window or less, from its own frames only."""
        return self._encode_fast([np.asarray(samples, dtype=np.float32)])[0]

    def _encode_fast(self, clips: list[np.ndarray]) -> list[torch.Tensor]:
        fe = self.processor.feature_extractor
        frames = [max(1, math.ceil(len(c) / fe.hop_length)) for c in clips]  # the processor's mask lengths
        width = min(fe.nb_max_frames, max(frames) + _EXTRA_FRAMES)
        padded = [np.concatenate([c, np.zeros(_MARGIN_SAMPLES, np.float32)]) for c in clips]
        features = fe(
            padded,
            sampling_rate=fe.sampling_rate,
            padding="longest",  # zeros after each clip, like the processor's padding to 30 s
            return_attention_mask=False,
            return_tensors="pt",
        )["input_features"][..., :width]
        mask = (torch.arange(width)[None, :] < torch.tensor(frames)[:, None]).to(torch.int32)
        with _narrowed_positions(self.model.model.audio_tower, width):
            return self._rows(features, mask, [1] * len(clips))

    @torch.no_grad()
    def _rows(self, features: torch.Tensor, mask: torch.Tensor, windows: list[int]) -> list[torch.Tensor]:
        """Rows per clip from ``features``/``mask`` (one row per 30 s window; clip i has windows[i])."""
        inner = self.model.model
        tower = inner.audio_tower
        _, post_lengths = tower._get_feat_extract_output_lengths(mask.sum(-1).to(torch.long))
        if int(post_lengths.min()) == 0:
            raise ValueError("clip too short for one audio token")
        per_clip = [int(part.sum()) for part in torch.split(post_lengths, windows)]
        with _projector_input(inner.multi_modal_projector) as captured, _eval_mode(tower):
            inner.get_audio_features(
                features.to(self.device, self.dtype),
                mask.to(self.device),
                input_ids=self._placeholders(per_clip),
            )
        hidden = captured[0]
        valid = torch.arange(hidden.shape[1], device=hidden.device)[None, :] < post_lengths[:, None].to(
            hidden.device
        )
        flat = hidden[valid].to("cpu", self.dtype)  # windows in order, each cut to its length
        return [part.contiguous() for part in torch.split(flat, per_clip)]

    def _placeholders(self, per_clip: list[int]) -> torch.Tensor:
        """Token ids as the processor lays them out: one run of placeholders per clip, runs apart.

        The model rebuilds each row's timestamp from these runs (``_build_audio_timestamps``).
        """
        config = self.model.config
        ids: list[int] = []
        for n in per_clip:
            ids += [config.audio_token_id] * n + [config.audio_eos_token_id]
        return torch.tensor([ids], device=self.device)

    # --- choosing ----------------------------------------------------------------------------

    def _fits_one_window(self, samples: np.ndarray) -> bool:
        return len(samples) <= self.processor.feature_extractor.n_samples

    def _fast_matches(self, samples: np.ndarray, reference: torch.Tensor) -> bool:
        try:
            fast = self.encode_fast(samples)
        except Exception as exc:  # an encoder unlike AF-Next's: fall back, never fail on a speed-up
            log.warning("fast audio encoding unavailable (%s); using the full 30 s windows", exc)
            return False
        tolerance = 1e-4 if self.dtype == torch.float32 else 3e-2
        scale = float(reference.abs().max()) + 1.0
        same = fast.shape == reference.shape and float((fast - reference).abs().max()) <= tolerance * scale
        if not same:
            log.warning("fast audio encoding differs from the reference; using the full 30 s windows")
        return same


@contextlib.contextmanager
def _narrowed_positions(tower, width: int) -> Iterator[None]:
    """The encoder adds its whole positional table to the conv output: narrow it to ``width`` frames."""
    table = tower.embed_positions
    positions = (width - 1) // 2 + 1  # after the stride-2 conv
    tower.embed_positions = nn.Embedding.from_pretrained(table.weight[:positions], freeze=True)
    try:
        yield
    finally:
        tower.embed_positions = table


@contextlib.contextmanager
def _projector_input(projector) -> Iterator[list[torch.Tensor]]:
    captured: list[torch.Tensor] = []
    handle = projector.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
