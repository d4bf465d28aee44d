"""The Piper voice from the wheel, the voice order and its fallback, and added Piper voices."""

from __future__ import annotations

import http.server
import io
import json
import re
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from engine.errors import RequestError
from engine.model.download import DownloadError
from engine.model.registry import COMPLETE_MARKER
from engine.speech import piper, piper_voices
from engine.speech.piper_voices import added_voices
from engine.speech.tts import open_voice
from engine.speech.voice_download import add_piper_voice
from engine.speech.voices import installed_voices, list_voices, open_with_fallback
from tests.cli import heron


@pytest.fixture(scope="module")
def joe() -> piper.PiperVoice:
    return open_voice("piper")


def fake_voice(folder: Path, stem: str, model: bytes | None = None, card: str = "") -> Path:
    """A Piper voice folder: the real joe model (or ``model`` bytes), its config, a card."""
    builtin = piper.builtin_files()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.onnx"
    if model is None:
        target.symlink_to(builtin.model)
    else:
        target.write_bytes(model)
    shutil.copy(builtin.config, folder / f"{stem}.onnx.json")
    if card:
        (folder / "MODEL_CARD").write_text(card, encoding="utf-8")
    return folder


def test_piper_is_the_default_voice_and_needs_no_download(joe):
    assert open_voice.__defaults__[0] == "piper"
    assert joe.name == "piper" and joe.sample_rate == 22050
    audio = joe.synthesize("Heron heard a dog bark twice near the start of the recording.")
    seconds = len(audio) / joe.sample_rate
    assert audio.dtype == np.float32 and 2.0 < seconds < 6.0
    assert 0.2 < np.abs(audio).max() <= 1.0  # the fixed gain: loud enough, never clipped past full scale
    assert len(joe.synthesize("  ")) == 0


def test_piper_rate_changes_the_length(joe):
    text = "One two three four five six seven eight."
    fast = open_voice("piper", rate=1.6)
    assert len(fast.synthesize(text)) < 0.8 * len(joe.synthesize(text))


def test_the_voice_order_and_the_licences(tmp_path):
    voices = list_voices(tmp_path / "models", tmp_path / "voices")
    assert [v.name for v in voices] == ["piper", "kokoro", "espeak"]
    piper_info = voices[0]
    assert piper_info.installed and "GPL-3.0" in piper_info.licence and "CC0" in piper_info.licence
    assert not voices[1].installed and "heron models download kokoro" in voices[1].state
    assert [v.name for v in installed_voices(tmp_path / "models", tmp_path / "voices")] == ["piper", "espeak"]


def test_a_broken_voice_file_falls_back_with_a_notice_that_says_why(tmp_path):
    voices_dir = tmp_path / "voices"
    folder = fake_voice(voices_dir / "en_US-broken-medium", "en_US-broken-medium", model=b"not an onnx model")
    (folder / COMPLETE_MARKER).write_text("{}")
    assert "piper:en_US-broken-medium" in added_voices(voices_dir)
    voice, notices = open_with_fallback("piper:en_US-broken-medium", tmp_path / "models", 1.0, voices_dir)
    assert voice.name == "piper"
    assert len(notices) == 1
    assert (
        "en_US-broken-medium.onnx cannot be loaded" in notices[0]
        and "speaks with Piper instead" in notices[0]
    )


def test_when_piper_itself_fails_kokoro_is_skipped_and_espeak_speaks(tmp_path, monkeypatch):
    bad = fake_voice(tmp_path / "bad", "bad", model=b"\0" * 100)
    broken = piper.PiperFiles(bad / "bad.onnx", bad / "bad.onnx.json")
    monkeypatch.setattr(piper_voices, "builtin_files", lambda: broken)
    voice, notices = open_with_fallback("piper", tmp_path / "models")
    assert voice.name == "espeak"
    assert "cannot be loaded" in notices[0] and "eSpeak NG instead" in notices[0]
    assert "Kokoro" not in notices[0]  # not downloaded and not asked for: not tried


def test_an_asked_for_kokoro_that_is_missing_says_how_to_get_it(tmp_path):
    voice, notices = open_with_fallback("kokoro", tmp_path / "models")
    assert voice.name == "piper"
    assert "heron models download kokoro" in notices[0] or "heron[kokoro]" in notices[0]


def test_unknown_voices_and_rates_are_refused():
    with pytest.raises(RequestError, match="Unknown voice"):
        open_with_fallback("robot")
    with pytest.raises(RequestError, match="rate"):
        open_with_fallback("piper", rate=9)
    with pytest.raises(RequestError, match="not a Piper voice name"):
        open_with_fallback("piper:../x")


def test_a_piper_voice_is_added_from_a_folder_with_progress_and_its_licence(tmp_path):
    source = fake_voice(tmp_path / "src", "en_US-test-medium", card="# Model card\n* License: CC-BY 4.0\n")
    progress: list[tuple] = []
    files = add_piper_voice(str(source), tmp_path / "voices", on_progress=lambda *a: progress.append(a))
    assert files.model == tmp_path / "voices" / "en_US-test-medium" / "en_US-test-medium.onnx"
    assert (files.model.parent / COMPLETE_MARKER).is_file()
    assert progress[-1][0] == progress[-1][1] > 60_000_000
    info = next(v for v in list_voices(None, tmp_path / "voices") if v.name == "piper:en_US-test-medium")
    assert info.removable and "CC-BY 4.0" in info.licence and "GPL-3.0" in info.licence
    voice = open_voice("piper:en_US-test-medium", voices_dir=tmp_path / "voices")
    assert len(voice.synthesize("Hello.")) > 0
    again: list[tuple] = []
    add_piper_voice(str(source / "en_US-test-medium.onnx"), tmp_path / "voices", lambda *a: again.append(a))
    assert len(again) == 1  # complete: nothing copied again


def test_a_voice_that_does_not_load_is_never_added(tmp_path):
    source = fake_voice(tmp_path / "src", "en_US-junk-low", model=b"junk" * 100)
    with pytest.raises(DownloadError, match="does not work"):
        add_piper_voice(str(source), tmp_path / "voices")
    assert added_voices(tmp_path / "voices") == {}


def test_a_folder_without_exactly_one_voice_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DownloadError, match="no .onnx voice"):
        add_piper_voice(str(tmp_path / "empty"), tmp_path / "voices")
    source = fake_voice(tmp_path / "src", "a")
    (source / "a.onnx.json").unlink()
    with pytest.raises(DownloadError, match=r"a\.onnx\.json is missing"):
        add_piper_voice(str(source), tmp_path / "voices")


def test_the_piper_config_is_checked(tmp_path):
    folder = fake_voice(tmp_path / "v", "v")
    (folder / "v.onnx.json").write_text(json.dumps({"audio": {}}))
    with pytest.raises(Exception, match="not a Piper voice config"):
        piper.PiperVoice(piper.PiperFiles(folder / "v.onnx", folder / "v.onnx.json"))


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that resumes (Range → 206), as the Hugging Face CDN does."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if not path.is_file() or not wanted:
            return super().send_head()
        data = path.read_bytes()[int(wanted[1]) :]
        self.send_response(206)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_piper_voice_is_downloaded_from_a_url_and_resumes(tmp_path, web):
    root, base = web
    source = fake_voice(root / "en" / "alan", "en_GB-alan-low", card="* License: CC0\n")
    (source / "en_GB-alan-low.onnx").unlink()
    shutil.copy(piper.builtin_files().model, source / "en_GB-alan-low.onnx")
    dest = tmp_path / "voices" / "en_GB-alan-low"
    dest.mkdir(parents=True)
    (dest / "en_GB-alan-low.onnx.part").write_bytes((source / "en_GB-alan-low.onnx").read_bytes()[:5_000_000])
    progress: list[tuple] = []
    files = add_piper_voice(
        f"{base}/en/alan/en_GB-alan-low.onnx", tmp_path / "voices", lambda *a: progress.append(a)
    )
    assert files.model.read_bytes() == (source / "en_GB-alan-low.onnx").read_bytes()
    assert files.card is not None and "CC0" in files.card.read_text()
    resumed = [done for done, _, name in progress if name == "en_GB-alan-low.onnx"]
    assert resumed and resumed[0] > 5_000_000  # the partial file was kept, not fetched again
    assert "piper:en_GB-alan-low" in added_voices(tmp_path / "voices")


def test_a_missing_url_says_so_in_one_line(tmp_path, web):
    _, base = web
    with pytest.raises(DownloadError, match="answered 404"):
        add_piper_voice(f"{base}/nothing/en_US-none-low.onnx", tmp_path / "voices")
    with pytest.raises(DownloadError, match="not a Piper voice"):
        add_piper_voice(f"{base}/model.bin", tmp_path / "voices")
    with pytest.raises(DownloadError, match="Cannot reach"):
        add_piper_voice("http://127.0.0.1:9/en_US-none-low.onnx", tmp_path / "voices")


def test_heron_models_download_piper_adds_a_voice_and_lists_it(tmp_path, heron_home):
    source = fake_voice(tmp_path / "src", "en_US-cli-medium", card="* License: CC0\n")
    result = heron("models", "download", "piper", str(source))
    assert result.status == 0, result.stderr
    assert "GPL-3.0" in result.stderr and "--voice piper:en_US-cli-medium" in result.stderr
    assert result.stdout.strip() == str(heron_home / "data" / "voices" / "en_US-cli-medium")
    listing = heron("models", "list").stdout
    assert "piper:en_US-cli-medium" in listing and "local folder" not in listing
    missing = heron("models", "download", "piper")
    assert missing.status == 2 and "heron models download piper URL|FOLDER" in missing.stderr


def test_without_kokoros_optional_packages_the_voice_says_how_to_add_them(tmp_path, monkeypatch):
    import importlib.util

    from engine.speech import voices

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "kokoro" else real(name, *a)
    )
    info = voices.kokoro_info(tmp_path / "models")
    assert not info.installed and 'pip install "heron[kokoro]"' in info.state
    voice, notices = open_with_fallback("kokoro", tmp_path / "models")
    assert voice.name == "piper" and "heron[kokoro]" in notices[0]
