"""Speech out: the espeak voice, the Kokoro voice's loading and synthesis path, and the interface."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelMissingError, RequestError
from engine.speech import kokoro
from engine.speech.espeak import EspeakVoice
from engine.speech.tts import CLAUSE_PAUSE_S, SENTENCE_PAUSE_S, open_voice, pause_after

# The phoneme vocabulary of hexgrad/Kokoro-82M's published config.json.
KOKORO_VOCAB_SYMBOLS = ';:,.!?—…"()“” \u0303ʣʥʦʨᵝꭧAIOQSTWYᵊabcdefhijklmnopqrstuvwxyzɑɐɒæβɔɕçɖðʤəɚɛɜɟɡɥɨɪʝɯɰŋɳɲɴøɸθœɹɾɻʁɽʂʃʈʧʊʋʌɣɤχʎʒʔˈˌːʰʲ↓→↗↘ᵻ'
KOKORO_VOCAB_IDS = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 31, 33,
                    35, 36, 39, 41, 42, *range(43, 49), *range(50, 69), 69, 70, 71, 72, 75, 76, 77, 78, 80, 81,
                    82, 83, 85, 86, 87, 90, 92, 99, 101, 102, 103, 110, 111, 112, 113, 114, 115, 116, 118, 119,
                    120, 123, 125, 126, 128, 129, 130, 131, 132, 133, 135, 136, 138, 139, 140, 142, 143, 147,
                    148, 156, 157, 158, 162, 164, 169, 171, 172, 173, 177)  # fmt: skip
KOKORO_VOCAB = dict(zip(KOKORO_VOCAB_SYMBOLS, KOKORO_VOCAB_IDS, strict=True))
PUBLISHED_CONFIG = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_initial_channel": 512,
    },
    "dim_in": 64,
    "dropout": 0.2,
    "hidden_dim": 512,
    "max_conv_dim": 512,
    "max_dur": 50,
    "multispeaker": True,
    "n_layer": 3,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 2048,
        "max_position_embeddings": 512,
        "num_hidden_layers": 12,
        "dropout": 0.1,
    },
    "vocab": KOKORO_VOCAB,
}


# --- espeak ---------------------------------------------------------------------------------------


def test_espeak_speaks_a_sentence_of_sensible_length():
    voice = EspeakVoice()
    audio = voice.synthesize("Heron heard a dog bark twice near the start of the recording.")
    seconds = len(audio) / voice.sample_rate
    assert voice.sample_rate == 22050
    assert audio.dtype == np.float32
    assert 2.0 < seconds < 6.0  # twelve words at about 175 words a minute
    assert 0.05 < np.abs(audio).max() <= 1.0
    assert np.sqrt(np.mean(audio**2)) > 0.01


def test_espeak_rate_changes_the_length():
    text = "One two three four five six seven eight."
    normal = len(EspeakVoice(rate=1.0).synthesize(text))
    fast = len(EspeakVoice(rate=2.0).synthesize(text))
    assert fast < 0.7 * normal


def test_espeak_adds_no_trailing_pause_and_says_nothing_for_nothing():
    voice = EspeakVoice()
    audio = voice.synthesize("Hello there.")
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    assert (len(audio) - loud[-1]) / voice.sample_rate < 0.05
    assert len(voice.synthesize("   ")) == 0


def test_open_voice_and_pauses():
    assert open_voice("espeak").name == "espeak"
    with pytest.raises(RequestError, match="Unknown voice"):
        open_voice("robot")
    with pytest.raises(RequestError, match="rate"):
        open_voice("espeak", rate=9)
    assert pause_after("A sentence.") == SENTENCE_PAUSE_S
    assert pause_after("A clause,") == CLAUSE_PAUSE_S


# --- kokoro ---------------------------------------------------------------------------------------


def test_kokoro_missing_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelMissingError, match="heron models download kokoro"):
        open_voice("kokoro", tmp_path)
    with pytest.raises(ModelMissingError, match="missing"):
        kokoro.KokoroVoice(tmp_path / "kokoro")


def test_kokoro_download_fetches_config_weights_and_voice_then_marks_complete(tmp_path, monkeypatch):
    import engine.model.download as download

    fetched: list[str] = []

    def fake_fetch(repo_id, filename, dest, on_bytes, token=None):
        assert repo_id == kokoro.REPO_ID
        fetched.append(filename)
        path = Path(dest) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        return path

    monkeypatch.setattr(download, "fetch_file", fake_fetch)
    monkeypatch.setattr(download, "check_disk_space", lambda dest, needed: None)
    progress: list[tuple] = []
    folder = kokoro.download_kokoro(tmp_path, on_progress=lambda *a: progress.append(a))
    assert fetched == ["config.json", "kokoro-v1_0.pth", "voices/af_heart.pt"]
    assert folder == tmp_path / "kokoro" and kokoro.is_installed(tmp_path)
    assert progress[-1][0] == progress[-1][1] == 3
    kokoro.download_kokoro(tmp_path)  # complete: nothing fetched again
    assert len(fetched) == 3


def test_espeak_phonemes_fit_kokoros_vocabulary():
    phonemize = kokoro.espeak_phonemizer()
    phonemes = phonemize("At one minute five, a dog barks loudly. Really?")
    assert phonemes
    known = sum(ch in KOKORO_VOCAB for ch in phonemes)
    assert known / len(phonemes) > 0.97, phonemes


def test_long_phoneme_strings_are_split_at_word_boundaries():
    text = " ".join(["həlˈO"] * 200)
    parts = kokoro._split_phonemes(text, 50)
    assert all(len(p) <= 50 for p in parts)
    assert " ".join(parts) == text


def _random_kokoro(folder: Path, config: dict) -> Path:
    """A Kokoro folder (config.json, weights in the release's format, one voice pack) of random weights."""
    import torch
    from kokoro.model import KModel

    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.pth"
    torch.save({}, empty)
    torch.manual_seed(0)
    model = KModel(repo_id=kokoro.REPO_ID, config=config, model=str(empty))
    parts = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")
    torch.save({name: getattr(model, name).state_dict() for name in parts}, folder / kokoro.WEIGHTS_FILE)
    (folder / kokoro.CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    (folder / "voices").mkdir(exist_ok=True)
    torch.save(torch.randn(510, 1, 256) * 0.3, folder / "voices" / f"{kokoro.DEFAULT_VOICE}.pt")
    (folder / kokoro.COMPLETE_MARKER).write_text("{}", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_kokoro_loads_release_format_weights_and_synthesises(tmp_path):
    """The real architecture and file format with random weights (the decoder and vocoder widths are
    fixed by the architecture; the PL-BERT and the prosody layers are shrunk, and durations are
    capped so that random weights give short audio)."""
    config = json.loads(json.dumps(PUBLISHED_CONFIG))
    config["plbert"].update(hidden_size=64, num_attention_heads=2, intermediate_size=128, num_hidden_layers=2)
    config.update(n_layer=1, max_dur=4)
    _random_kokoro(tmp_path / "kokoro", config)
    voice = open_voice("kokoro", tmp_path, rate=1.0)
    assert voice.name == "kokoro" and voice.sample_rate == 24000
    audio = voice.synthesize("Hello there, a dog barks.")
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 0.1 < len(audio) / 24000 < 10
    assert np.isfinite(audio).all()


@pytest.mark.slow
def test_kokoro_published_configuration_builds_the_82m_model(tmp_path):
    import torch
    from kokoro.model import KModel

    torch.save({}, tmp_path / "empty.pth")
    model = KModel(repo_id=kokoro.REPO_ID, config=PUBLISHED_CONFIG, model=str(tmp_path / "empty.pth"))
    params = sum(p.numel() for p in model.parameters())
    assert 81_000_000 < params < 83_000_000
    assert model.vocab == KOKORO_VOCAB
