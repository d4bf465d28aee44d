"""Training on the tiny model: what the loss sees, that steps learn, LoRA and QLoRA, the loop's
schedule, evaluation, early stopping and cancel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.beeps import QUESTION, make_clip, write_dataset
from engine.events import Done, event_from_dict
from engine.model.loading import load_model
from engine.trainer import TrainConfig, train
from engine.trainer.collate import IGNORE, PromptBuilder, collate
from engine.trainer.config import LANGUAGE_MODEL_PROJECTIONS
from engine.trainer.dataset import Example
from engine.trainer.events import CheckpointSaved, TrainEval, TrainProgress, TrainStart
from engine.trainer.features import AudioEncoder
from engine.trainer.forward import loss_sum, shared_prefix_length
from engine.trainer.lora import attach_lora, trainable_parameters
from engine.trainer.schedule import lr_factor

TRAINABLE = {"train_projector": True, "modules_to_save": ["lm_head", "norm"]}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def beeps(tmp_path_factory) -> Path:
    """12 short beep clips (1–2 s) and their JSONL."""
    return write_dataset(tmp_path_factory.mktemp("beeps"), clips=12, seed=5, seconds=(1.0, 2.0))


@pytest.fixture
def loaded(tiny_model: Path):
    return load_model(tiny_model, precision="fp32", device="cpu")


def _clip(seed: int = 0, count: int = 2) -> np.ndarray:
    return make_clip(np.random.default_rng(seed), count).samples


def _example(answer: str = "two", reasoning: str | None = None) -> Example:
    return Example(line=1, audio=Path("x.wav"), question=QUESTION, answer=answer, reasoning=reasoning)


def _batch(loaded, answers=("one", "two", "three", "two")):
    encoder = AudioEncoder(loaded.model, loaded.processor, loaded.dtype, "cpu")
    builder = PromptBuilder(loaded.processor)
    items = [builder.encode(_example(a), encoder.encode(_clip(i))) for i, a in enumerate(answers)]
    return collate(items, loaded.processor.tokenizer.pad_token_id)


def test_prompt_matches_the_processor_and_labels_cover_only_the_answer(loaded):
    samples = _clip(1)
    rows = AudioEncoder(loaded.model, loaded.processor, loaded.dtype, "cpu").encode(samples)
    builder = PromptBuilder(loaded.processor)
    reference = loaded.processor.apply_chat_template(
        [
            {
                "role": "user",
                "content": [{"type": "audio", "audio": samples}, {"type": "text", "text": QUESTION}],
            }
        ],
        tokenize=True,
        add_generation_prompt=True,
        return_dict=True,
    )["input_ids"][0].tolist()
    encoded = builder.encode(_example("two"), rows)
    assert encoded.input_ids[: len(reference)] == reference
    tokenizer = loaded.processor.tokenizer
    labelled = [t for t in encoded.labels if t != IGNORE]
    assert encoded.labels[: len(reference)] == [IGNORE] * len(reference)
    assert tokenizer.decode(labelled) == "two<|im_end|>"
    thinking = builder.encode(_example("two", reasoning="Beeps at 0:01 and 0:03."), rows)
    text = tokenizer.decode([t for t in thinking.labels if t != IGNORE])
    assert text == "<think>\nBeeps at 0:01 and 0:03.\n</think>\n\ntwo<|im_end|>"


@pytest.mark.parametrize("seconds", [0.1, 2.37, 30.0, 31.5])
def test_fast_audio_rows_equal_the_models_own(loaded, seconds: float):
    encoder = AudioEncoder(loaded.model, loaded.processor, loaded.dtype, "cpu")
    samples = (np.random.default_rng(0).standard_normal(round(seconds * 16000)) * 0.1).astype(np.float32)
    reference = encoder.encode_reference(samples)
    if seconds <= 30:
        fast = encoder.encode_fast(samples)
        assert fast.shape == reference.shape
        assert torch.allclose(fast, reference, atol=1e-5)
    assert encoder.encode(samples).shape == reference.shape


def test_loss_equals_the_models_own_forward(loaded):
    """Cached rows + projector + shared prefix give the loss of the model's full forward with audio."""
    samples = [_clip(i) for i in range(3)]
    answers = ["one", "two", "three"]
    processor = loaded.processor
    texts = [
        processor.apply_chat_template(
            [
                {
                    "role": "user",
                    "content": [{"type": "audio", "audio": s}, {"type": "text", "text": QUESTION}],
                },
                {"role": "assistant", "content": [{"type": "text", "text": a}]},
            ],
            tokenize=False,
        )
        for s, a in zip(samples, answers, strict=True)
    ]
    with torch.no_grad():
        expected = 0.0
        for text, s, a in zip(texts, samples, answers, strict=True):
            inputs = processor(text=[text], audio=[s], return_tensors="pt")
            labels = torch.full_like(inputs["input_ids"], IGNORE)
            n = len(processor.tokenizer(a, add_special_tokens=False)["input_ids"]) + 1
            end = inputs["input_ids"].shape[1] - 1  # the template ends the turn with "\n"
            labels[0, end - n : end] = inputs["input_ids"][0, end - n : end]
            out = loaded.model(**inputs, labels=labels)
            expected += float(out.loss) * n
        batch = _batch(loaded, answers)
        ours = float(loss_sum(loaded.model, batch, "cpu", share_prefix=True))
        plain = float(loss_sum(loaded.model, batch, "cpu", share_prefix=False))
    assert ours == pytest.approx(expected, rel=1e-4)
    assert plain == pytest.approx(expected, rel=1e-4)
    assert shared_prefix_length(batch, loaded.model.config.audio_token_id) > 100


def test_shared_prefix_gives_the_same_gradients(loaded):
    peft = attach_lora(loaded.model, TrainConfig(data="d", out="o", lora_dropout=0.0, **TRAINABLE))
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    batch = _batch(loaded)
    grads = []
    for share in (True, False):
        peft.zero_grad()
        loss_sum(loaded.model, batch, "cpu", share_prefix=share).backward()
        grads.append({n: p.grad.clone() for n, p in trainable_parameters(peft).items()})
    for name, grad in grads[0].items():
        assert torch.allclose(grad, grads[1][name], rtol=1e-4, atol=1e-5), name


def test_lora_targets_only_the_language_model(loaded):
    peft = attach_lora(loaded.model, TrainConfig(data="d", out="o", **TRAINABLE))
    names = list(trainable_parameters(peft))
    assert not any("audio_tower" in n for n in names)
    lora = [n for n in names if "lora_" in n]
    assert lora and all(".language_model." in n for n in lora)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in lora} == set(LANGUAGE_MODEL_PROJECTIONS)
    assert any("lm_head" in n for n in names) and any("multi_modal_projector" in n for n in names)


def _train_events(config: TrainConfig, **kwargs) -> list:
    return list(train(config, **kwargs))


def _config(beeps: Path, out: Path, **overrides) -> TrainConfig:
    settings = dict(
        data=str(beeps),
        out=str(out),
        model=overrides.pop("model"),
        batch_size=4,
        grad_accum=1,
        learning_rate=1e-2,
        lora_dropout=0.0,
        eval_fraction=0.25,
        eval_every=2,
        checkpoint_every=0,
        seed=1,
        **TRAINABLE,
    )
    return TrainConfig(**{**settings, **overrides}).validate()


def test_training_steps_reduce_the_loss(beeps: Path, tiny_model: Path, tmp_path: Path):
    config = _config(
        beeps, tmp_path / "a", model=str(tiny_model), max_steps=8, eval_every=4, warmup_ratio=0.0
    )
    events = _train_events(config)
    start = next(e for e in events if isinstance(e, TrainStart))
    assert (start.train_examples, start.eval_examples, start.total_steps) == (9, 3, 8)
    losses = [e.loss for e in events if isinstance(e, TrainProgress)]
    assert len(losses) == 8 and losses[-1] < 0.5 * losses[0]
    evals = [e for e in events if isinstance(e, TrainEval)]
    assert [e.step for e in evals] == [4, 8] and evals[-1].eval_loss < 0.6 * evals[0].eval_loss * 2
    done = events[-1]
    assert isinstance(done, Done) and done.stats["finish"] == "completed" and done.stats["steps"] == 8
    for event in events:  # the trainer's events round-trip through JSON like the others
        assert event_from_dict(json.loads(event.to_json())) == event
    meta = json.loads((tmp_path / "a" / "heron-adapter.json").read_text())
    assert meta["metrics"]["steps"] == 8 and meta["settings"]["lora_r"] == 16
    assert not (tmp_path / "a" / "checkpoint").exists()


def test_qlora_trains_the_adapter_and_leaves_4bit_weights_alone(
    beeps: Path, tiny_model: Path, tmp_path: Path
):
    import bitsandbytes as bnb

    loaded = load_model(tiny_model, precision="nf4", device="cpu")
    quantized = {
        n: m.weight.data.clone() for n, m in loaded.model.named_modules() if isinstance(m, bnb.nn.Linear4bit)
    }
    assert quantized, "nf4 loading quantizes the language model's layers"
    config = _config(beeps, tmp_path / "q", model=str(tiny_model), precision="nf4", max_steps=2)
    peft = attach_lora(loaded.model, config)
    before = {n: p.detach().clone() for n, p in trainable_parameters(peft).items()}
    optimizer = torch.optim.AdamW(list(trainable_parameters(peft).values()), lr=1e-2)
    batch = _batch(loaded)
    for _ in range(2):
        loss_sum(loaded.model, batch, "cpu").backward()
        optimizer.step()
        optimizer.zero_grad()
    after = trainable_parameters(peft)
    changed = [n for n in before if "lora_B" in n and not torch.equal(before[n], after[n].detach())]
    assert changed, "LoRA weights moved"
    for name, module in loaded.model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            original = name.replace(".base_layer", "")
            assert torch.equal(module.weight.data, quantized[original]), name


def test_qlora_end_to_end(beeps: Path, tiny_model: Path, tmp_path: Path):
    config = _config(beeps, tmp_path / "q", model=str(tiny_model), precision="nf4", max_steps=3, eval_every=3)
    events = _train_events(config)
    assert events[-1].stats["finish"] == "completed"
    meta = json.loads((tmp_path / "q" / "heron-adapter.json").read_text())
    assert meta["trained_precision"] == "nf4"


def test_early_stop_keeps_the_best_adapter(beeps: Path, tiny_model: Path, tmp_path: Path):
    # A learning rate far too high makes the eval loss worse after the first evaluation.
    config = _config(
        beeps,
        tmp_path / "e",
        model=str(tiny_model),
        max_steps=30,
        eval_every=1,
        early_stop_patience=2,
        learning_rate=0.5,
        warmup_ratio=0.0,
        schedule="constant",
    )
    events = _train_events(config)
    evals = [e for e in events if isinstance(e, TrainEval)]
    done = events[-1]
    assert done.stats["finish"] == "early_stop" and done.stats["steps"] < 30
    assert evals[-1].patience_left == 0
    assert done.stats["best_eval_loss"] == min(e.eval_loss for e in evals)


def test_cancel_between_steps_writes_a_checkpoint(beeps: Path, tiny_model: Path, tmp_path: Path):
    config = _config(beeps, tmp_path / "c", model=str(tiny_model), max_steps=10)
    steps = []

    def should_cancel() -> bool:
        return len(steps) >= 3

    events = []
    for event in train(config, should_cancel=should_cancel):
        events.append(event)
        if isinstance(event, TrainProgress):
            steps.append(event.step)
    assert steps == [1, 2, 3]
    assert isinstance(events[-2], CheckpointSaved) and events[-2].step == 3
    assert events[-1].stats["finish"] == "cancelled"
    assert (tmp_path / "c" / "checkpoint" / "trainer_state.pt").is_file()
    assert not (tmp_path / "c" / "heron-adapter.json").exists()


def test_warmup_then_cosine():
    factors = [lr_factor(s, total=10, warmup=2, kind="cosine", floor=0.1) for s in range(10)]
    assert factors[:2] == [0.5, 1.0] and factors[2] == 1.0
    assert all(a >= b for a, b in zip(factors[2:], factors[3:], strict=False))
    assert factors[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * 7 / 8)))
    assert lr_factor(5, 10, 0, "constant", 0.0) == 1.0
    assert lr_factor(9, 10, 0, "linear", 0.0) == pytest.approx(0.1)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_gradient_checkpointing_gives_the_same_loss(tiny_model: Path, precision: str):
    loaded = load_model(tiny_model, precision=precision, device="cpu")
    config = TrainConfig(data="d", out="o", lora_dropout=0.0, gradient_checkpointing=True, **TRAINABLE)
    peft = attach_lora(loaded.model, config)
    peft.train()
    batch = _batch(loaded)
    checkpointed = loss_sum(loaded.model, batch, "cpu", share_prefix=False)
    checkpointed.backward()
    assert all(p.grad is not None for p in trainable_parameters(peft).values())
    loaded.model.activation_checkpointing_disable()
    with torch.no_grad():
        plain = loss_sum(loaded.model, batch, "cpu", share_prefix=True)
    tolerance = 1e-4 if precision == "fp32" else 2e-2
    assert float(checkpointed.detach()) == pytest.approx(float(plain), rel=tolerance)


def test_without_the_feature_cache_training_is_the_same(beeps: Path, tiny_model: Path, tmp_path: Path):
    losses = []
    for cache in (True, False):
        config = _config(
            beeps, tmp_path / str(cache), model=str(tiny_model), max_steps=2, cache_audio_features=cache
        )
        losses.append([e.loss for e in train(config) if isinstance(e, TrainProgress)])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
