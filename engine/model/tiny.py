"""A tiny randomly initialised AF-Next for tests, benchmarks and demos of the plumbing.

Same architecture as the real checkpoints (``MusicFlamingoForConditionalGeneration``:
AF-Whisper encoder, rotary time embedding, projector, Qwen2 language model), the real
chat template and system prompt, real feature extraction (128 mel bins, 30 s windows,
750 audio tokens per window), but 2 layers of width 64 and a 400-token byte-level BPE
trained here on generated text. Nothing is downloaded. Its text is random: never
assert meaning. ``build_tiny_model`` also writes the variants a published checkpoint may
come in: the ``audioflamingonext`` model type, another ``max_audio_len``, another RoTE theta.

    python -m engine.model.tiny DIR
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

# The real prompt format of the AF-Next checkpoints (transformers'
# convert_audioflamingonext_to_hf.py): keep these strings identical.
SYSTEM_PROMPT = (
    "You are Audio Flamingo-Next, a multimodal assistant for language and audio. "
    "On each turn you receive an optional audio clip which may contain speech, music, or ambient sounds "
    "and optional text, you will receive at least one or both; use your world knowledge and reasoning "
    "to help the user with any task. Interpret the entirety of the content of any input audio—regardless "
    "of whether the user calls it audio, speech, music, or sound."
)
TOKENIZER_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\n" + SYSTEM_PROMPT + "<|im_end|>\\n' }}"
    "{% endif %}"
    "{% for message in messages if message['content'] is not none %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% endif %}"
)
PROCESSOR_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "<|im_start|>system\n" + SYSTEM_PROMPT + "<|im_end|>\n"
    "{% endif %}"
    "{% for m in messages if m['content'] is not none %}"
    "<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}"
    "{{ m['content'] }}"
    "{% else %}"
    "{% set audio = namespace(found=False) %}"
    "{% set text_buf = namespace(v='') %}"
    "{% for c in m['content'] %}"
    "{% if c.get('type') == 'audio' or 'audio' in c %}"
    "{% set audio.found = True %}"
    "{% elif c.get('type') == 'text' or 'text' in c %}"
    "{% set text_buf.v = text_buf.v + c['text'] %}"
    "{% endif %}"
    "{% endfor %}"
    "{% if audio.found %}{{ '<sound>' }}{% endif %}{{ text_buf.v }}"
    "{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "<|im_start|>assistant\n"
    "{% endif %}"
)

PAD_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
AUDIO_TOKEN = "<sound>"
AUDIO_BOS_TOKEN = "<|sound_bos|>"
AUDIO_EOS_TOKEN = "<|sound_eos|>"
SPECIAL_TOKENS = [PAD_TOKEN, "<|im_start|>", EOS_TOKEN, AUDIO_TOKEN, AUDIO_BOS_TOKEN, AUDIO_EOS_TOKEN]
# Added but not special, so they survive skip_special_tokens and the reasoning parser sees them.
THINK_TOKENS = ["<think>", "</think>"]
VOCAB_SIZE = 400
MAX_AUDIO_SECONDS = 1800  # 60 windows of 30 s, as AF-Next
STAMP_FILE = ".tiny-seed"

# Qwen2's pre-tokenizer split: words, single digits, punctuation runs, whitespace.
_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
_WORD_LIST = """
the a an and or of to in on at for with from by is are was were be been it this that these those
i you he she we they what which who when where why how there here not no yes can could would should
audio sound speech music voice speaker noise song clip recording meeting lecture podcast talk
say says said hear heard listen question answer think reasoning step first then next finally
because so about time second seconds minute minutes start end begin beginning middle later
dog bird car rain wind door bell phone laugh cough applause guitar piano drum singer chorus
man woman child people room street loud quiet fast slow high low happy sad calm angry
describe caption transcribe summarize language english word words sentence assistant user system
"""
_WORDS = _WORD_LIST.split()


def training_corpus(seed: int = 0, lines: int = 3000) -> list[str]:
    """Deterministic text that looks enough like prompts, answers and timestamps to train a BPE."""
    rng = random.Random(seed)
    corpus = [SYSTEM_PROMPT]
    for _ in range(lines):
        words = rng.choices(_WORDS, k=rng.randint(4, 14))
        sentence = " ".join(words).capitalize() + rng.choice([".", "?", "!", ","])
        if rng.random() < 0.3:
            sentence = f"[{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 9)}] " + sentence
        if rng.random() < 0.2:
            sentence += f" {rng.randint(0, 9999)} {rng.random() * 100:.1f}s"
        corpus.append(sentence)
    return corpus


def build_tokenizer():
    """A byte-level BPE of VOCAB_SIZE tokens wrapped as a transformers fast tokenizer.

    The same for every seed: only the weights vary with the seed.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(THINK_TOKENS),
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=None,
        bos_token=None,
        model_max_length=131072,
        clean_up_tokenization_spaces=False,
        chat_template=TOKENIZER_CHAT_TEMPLATE,
    )
    tokenizer.add_tokens(THINK_TOKENS, special_tokens=False)
    return tokenizer


def build_config(tokenizer, rope_theta: float | None = None):
    """A MusicFlamingoConfig shaped like AF-Next, scaled down to 2 layers of width 64.

    ``rope_theta``: the rotary time embedding's theta (None: MusicFlamingo's default, 1200).
    """
    from transformers import AudioFlamingo3EncoderConfig, MusicFlamingoConfig, Qwen2Config

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in (PAD_TOKEN, EOS_TOKEN, *SPECIAL_TOKENS[3:])}
    text_config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=65536,  # room for 30 min of audio (45k tokens) in plumbing tests
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=ids[EOS_TOKEN],
        pad_token_id=ids[PAD_TOKEN],
    )
    audio_config = AudioFlamingo3EncoderConfig(
        num_mel_bins=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        hidden_size=64,
        max_source_positions=1500,  # 30 s windows of 3000 mel frames, as the real encoder
    )
    rote = {"rope_parameters": {"rope_type": "default", "rope_theta": rope_theta}} if rope_theta else {}
    return MusicFlamingoConfig(
        audio_config=audio_config,
        text_config=text_config,
        audio_token_id=ids[AUDIO_TOKEN],
        audio_bos_token_id=ids[AUDIO_BOS_TOKEN],
        audio_eos_token_id=ids[AUDIO_EOS_TOKEN],
        **rote,
    )


def build_processor(tokenizer, max_audio_len: int = MAX_AUDIO_SECONDS):
    from transformers import MusicFlamingoProcessor, WhisperFeatureExtractor

    feature_extractor = WhisperFeatureExtractor(feature_size=128, return_attention_mask=True)
    return MusicFlamingoProcessor(
        feature_extractor=feature_extractor,
        tokenizer=tokenizer,
        chat_template=PROCESSOR_CHAT_TEMPLATE,
        max_audio_len=max_audio_len,
    )


def _prefer_readable_tokens(model, tokenizer) -> None:
    """Zero the output rows of tokens that are not printable ASCII text (or the end token).

    A random ``lm_head`` gives logits of both signs near zero, so a token whose row is zero
    almost never wins a greedy step: the tiny model then writes readable (meaningless) text
    instead of stray bytes and never emits audio placeholders. The rows stay trainable.
    """
    import torch

    special = {tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS if t != EOS_TOKEN}
    drop = [
        token_id
        for token_id in range(len(tokenizer))
        if token_id in special or not _readable(tokenizer.decode([token_id]))
    ]
    drop = torch.tensor([i for i in drop if i != tokenizer.eos_token_id])
    with torch.no_grad():
        model.lm_head.weight[drop] = 0.0


def _readable(text: str) -> bool:
    return text == "\n" or (text != "" and text.isascii() and text.isprintable())


def build_tiny_model(
    dir: Path,
    seed: int = 0,
    model_type: str = "musicflamingo",
    max_audio_len: int = MAX_AUDIO_SECONDS,
    rope_theta: float | None = None,
) -> Path:
    """Write the tiny model, its processor and generation config into ``dir``; return ``dir``.

    ``model_type`` "audioflamingonext" writes the folder as transformers' AudioFlamingoNext
    classes would: the same files under that type's names.
    """
    import torch
    from transformers import GenerationConfig, MusicFlamingoForConditionalGeneration

    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    config = build_config(tokenizer, rope_theta)
    torch.manual_seed(seed)
    model = MusicFlamingoForConditionalGeneration(config).eval()
    _prefer_readable_tokens(model, tokenizer)
    model.generation_config = GenerationConfig(
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        bos_token_id=None,
        do_sample=False,
    )
    model.save_pretrained(dir, safe_serialization=True)
    build_processor(tokenizer, max_audio_len).save_pretrained(dir)
    if model_type == "audioflamingonext":
        _retype_as_audioflamingonext(dir)
    return dir


def _retype_as_audioflamingonext(dir: Path) -> None:
    """AudioFlamingoNext is MusicFlamingo under another name: rename the type and the classes."""
    _update_json(dir / "config.json", model_type="audioflamingonext",
                 architectures=["AudioFlamingoNextForConditionalGeneration"])  # fmt: skip
    _update_json(dir / "processor_config.json", processor_class="AudioFlamingoNextProcessor")


def _update_json(path: Path, **values) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **values}, indent=2), encoding="utf-8")


def ensure_tiny_model(dir: Path, seed: int = 0) -> Path:
    """Build the tiny model into ``dir`` unless a finished build for ``seed`` is already there.

    Lets several test modules share one build under pytest's session temp folder.
    """
    dir = Path(dir)
    stamp = dir / STAMP_FILE
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == str(seed):
        return dir
    build_tiny_model(dir, seed=seed)
    stamp.write_text(str(seed), encoding="utf-8")  # last: a killed build is rebuilt
    return dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.model.tiny", description=__doc__.split("\n")[0])
    parser.add_argument("dir", type=Path, help="folder to write the tiny model into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    start = time.perf_counter()
    path = build_tiny_model(args.dir, seed=args.seed)
    print(f"Tiny AF-Next model written to {path} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
