"""The training forward pass: summed cross-entropy over a batch's labelled tokens.

The encoder rows in the batch go through the projector (which may train) and replace the
``<sound>`` placeholders, as the model's own forward does with fresh encoder output. The
output head runs only where there is a label.

Shared prompt prefix, exact: every example starts with the same tokens (system prompt, user
turn opening, up to the first audio placeholder), and a causal model's states for those
tokens do not depend on what follows. So the prefix runs once per batch, its key/value cache
is repeated for each example, and only the rest of each sequence runs per example. The
loss and its gradients are those of the plain forward (dropout aside, which then draws one
mask for the shared prefix instead of one per example).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.trainer.collate import IGNORE, Batch

MIN_SHARED_PREFIX = 8  # shorter than this, sharing saves less than it costs


def loss_sum(model, batch: Batch, device: str, share_prefix: bool = True) -> torch.Tensor:
    """``model``: the MusicFlamingo model (adapter layers injected). ``share_prefix`` must be off
    with gradient checkpointing, which turns the key/value cache off in training."""
    return loss_and_exact(model, batch, device, share_prefix)[0]


def loss_and_exact(
    model, batch: Batch, device: str, share_prefix: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The summed loss, and per example whether greedy decoding would write its target exactly
    (the most likely token is the target's at every labelled position)."""
    embeds = input_embeds(model, batch, device)
    attention = batch.attention_mask.to(device)
    prefix = shared_prefix_length(batch, model.config.audio_token_id) if share_prefix else 0
    if prefix >= MIN_SHARED_PREFIX and batch.input_ids.shape[0] > 1:
        hidden = _hidden_with_shared_prefix(model, embeds, attention, prefix)
    else:
        hidden = model.model(
            inputs_embeds=embeds, attention_mask=attention, use_cache=False
        ).last_hidden_state
    targets = batch.labels[:, 1:].to(device)
    chosen = targets != IGNORE
    logits = model.lm_head(hidden[:, :-1][chosen])
    loss = F.cross_entropy(logits.float(), targets[chosen], reduction="sum")
    wrong_rows = chosen.nonzero()[:, 0][logits.argmax(-1) != targets[chosen]]
    exact = torch.ones(batch.input_ids.shape[0], dtype=torch.bool, device=logits.device)
    exact[wrong_rows] = False
    return loss, exact


def input_embeds(model, batch: Batch, device: str) -> torch.Tensor:
    input_ids = batch.input_ids.to(device)
    embeds = model.get_input_embeddings()(input_ids)
    projector = model.model.multi_modal_projector
    audio = projector(batch.audio.to(device, _dtype_of(projector)))
    slots = (input_ids == model.config.audio_token_id).unsqueeze(-1).expand_as(embeds)
    return embeds.masked_scatter(slots, audio.to(embeds.dtype))


def shared_prefix_length(batch: Batch, audio_token_id: int) -> int:
    """Tokens every row starts with, stopping before the first audio placeholder (its rows differ)."""
    ids = batch.input_ids
    same = (ids == ids[:1]).all(dim=0) & (ids[0] != audio_token_id) & batch.attention_mask.bool().all(dim=0)
    differs = (~same).nonzero()
    return int(differs[0]) if len(differs) else ids.shape[1] - 1


def _hidden_with_shared_prefix(
    model, embeds: torch.Tensor, attention: torch.Tensor, prefix: int
) -> torch.Tensor:
    language_model = model.model.language_model
    rows, width = embeds.shape[:2]
    head = language_model(inputs_embeds=embeds[:1, :prefix], use_cache=True)
    cache = head.cache
    cache.batch_repeat_interleave(rows)
    positions = torch.arange(prefix, width, device=embeds.device)[None, :]
    tail = language_model(
        inputs_embeds=embeds[:, prefix:],
        attention_mask=attention,
        cache=cache,
        use_cache=True,
        position_ids=positions,
    )
    return torch.cat([head.last_hidden_state.expand(rows, -1, -1), tail.last_hidden_state], dim=1)


def _dtype_of(module: torch.nn.Module) -> torch.dtype:
    for param in module.parameters():
        if param.is_floating_point():
            return param.dtype
    return torch.float32
