"""A full-size AF-Next checkpoint with random weights, written shard by shard.

The real architecture at its real sizes (Qwen2.5-7B language model: 28 layers, hidden 3584,
28 heads, 4 KV heads, MLP 18944, vocab 152064, rope theta 1e6; AF-Whisper encoder: 32 layers,
1280 wide, 20 heads, MLP 5120): 8.27 B parameters, 16.5 GB in bf16. The model is built on
the meta device for its names and shapes only; each shard's tensors are drawn (normal, std
0.02, in bf16; norms 1, biases 0) and written before the next shard is drawn, so at most one
shard (~2 GB) is in RAM. The tiny model's tokenizer and processor go along (its token ids fit
the vocabulary); ``lm_head`` rows of tokens that are not readable text are zero, as in the
tiny model, and so is the end token's, so every answer runs to ``max_new_tokens``.

    .venv/bin/python bench/fullsize_checkpoint.py DIR
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.model import tiny  # noqa: E402

SHARD_BYTES = 2 * 2**30
NEEDED_BYTES = 16.5e9 + 2e9  # the checkpoint plus a margin
STD = 0.02
DONE_FILE = ".complete"


def full_config(tokenizer):
    """MusicFlamingoConfig at AF-Next's real sizes, with the tiny tokenizer's special ids."""
    from transformers import AudioFlamingo3EncoderConfig, MusicFlamingoConfig, Qwen2Config

    small = tiny.build_config(tokenizer)
    text = Qwen2Config(
        vocab_size=152064,
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        max_position_embeddings=65536,
        rope_theta=1e6,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=small.text_config.eos_token_id,
        pad_token_id=small.text_config.pad_token_id,
    )
    audio = AudioFlamingo3EncoderConfig(
        num_mel_bins=128,
        num_hidden_layers=32,
        num_attention_heads=20,
        intermediate_size=5120,
        hidden_size=1280,
        max_source_positions=1500,
    )
    return MusicFlamingoConfig(
        audio_config=audio,
        text_config=text,
        audio_token_id=small.audio_token_id,
        audio_bos_token_id=small.audio_bos_token_id,
        audio_eos_token_id=small.audio_eos_token_id,
    )


def checkpoint_name(model_key: str) -> str:
    """The published checkpoints' key layout (what ``save_pretrained`` writes for this class)."""
    if model_key == "lm_head.weight":
        return "language_model.lm_head.weight"
    if model_key.startswith("model.language_model."):
        return "language_model.model." + model_key.removeprefix("model.language_model.")
    return model_key.removeprefix("model.")


def planned_tensors(config) -> list[tuple[str, tuple[int, ...]]]:
    """(checkpoint name, shape) of every saved tensor, from a model built on the meta device."""
    from transformers import MusicFlamingoForConditionalGeneration

    with torch.device("meta"):
        model = MusicFlamingoForConditionalGeneration(config)
    return [(checkpoint_name(k), tuple(v.shape)) for k, v in model.state_dict().items()]


def draw(name: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    leaf = name.rsplit(".", 2)
    if name.endswith(".bias"):
        return torch.zeros(shape, dtype=torch.bfloat16)
    if len(shape) == 1 and "norm" in leaf[-2]:
        return torch.ones(shape, dtype=torch.bfloat16)
    return (torch.randn(shape, generator=generator, dtype=torch.float32) * STD).to(torch.bfloat16)


def readable_rows(tokenizer) -> torch.Tensor:
    """Ids of tokens that decode to printable ASCII (the end token excluded)."""
    special = set(tokenizer.all_special_ids)
    keep = [
        i
        for i in range(len(tokenizer))
        if i not in special and (t := tokenizer.decode([i])) and t.isascii() and t.isprintable()
    ]
    return torch.tensor(keep)


def shards(tensors: list[tuple[str, tuple[int, ...]]]) -> list[list[tuple[str, tuple[int, ...]]]]:
    groups, current, size = [], [], 0
    for name, shape in tensors:
        nbytes = 2 * torch.Size(shape).numel()
        if current and size + nbytes > SHARD_BYTES:
            groups.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += nbytes
    return [*groups, current] if current else groups


def write_checkpoint(dir: Path, seed: int = 0) -> Path:
    """Write the checkpoint into ``dir`` unless a finished one is there; return ``dir``."""
    from safetensors.torch import save_file

    dir = Path(dir)
    if (dir / DONE_FILE).is_file():
        return dir
    check_disk(dir)
    shutil.rmtree(dir, ignore_errors=True)  # a half-written one from a killed run
    dir.mkdir(parents=True)
    tokenizer = tiny.build_tokenizer()
    config = full_config(tokenizer)
    groups = shards(planned_tensors(config))
    generator = torch.Generator().manual_seed(seed)
    weight_map, total = {}, 0
    for index, group in enumerate(groups, start=1):
        file = f"model-{index:05d}-of-{len(groups):05d}.safetensors"
        tensors = {name: draw(name, shape, generator) for name, shape in group}
        if "language_model.lm_head.weight" in tensors:
            head = tensors["language_model.lm_head.weight"]
            keep = readable_rows(tokenizer)
            tensors["language_model.lm_head.weight"] = torch.zeros_like(head).index_copy_(0, keep, head[keep])
        save_file(tensors, dir / file, metadata={"format": "pt"})
        total += sum(t.numel() * 2 for t in tensors.values())
        weight_map.update(dict.fromkeys(tensors, file))
        print(f"  wrote {file} ({len(tensors)} tensors)", flush=True)
        del tensors
    index_json = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (dir / "model.safetensors.index.json").write_text(json.dumps(index_json, indent=2))
    config.architectures = ["MusicFlamingoForConditionalGeneration"]
    config.dtype = "bfloat16"
    config.save_pretrained(dir)
    tiny.build_processor(tokenizer).save_pretrained(dir)
    _generation_config(config).save_pretrained(dir)
    (dir / DONE_FILE).write_text(str(seed))
    return dir


def _generation_config(config):
    from transformers import GenerationConfig

    text = config.text_config
    return GenerationConfig(eos_token_id=text.eos_token_id, pad_token_id=text.pad_token_id, do_sample=False)


def check_disk(dir: Path) -> None:
    probe = dir if dir.exists() else dir.parent
    probe.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(probe).free
    if free < NEEDED_BYTES:
        raise SystemExit(
            f"The full-size checkpoint needs {NEEDED_BYTES / 1e9:.1f} GB of disk at {probe}, "
            f"only {free / 1e9:.1f} GB is free: free some space or pass --checkpoint elsewhere."
        )


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / ".fullsize"
    print(f"Full-size checkpoint at {write_checkpoint(out)}")
