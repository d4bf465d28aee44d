"""The registry (names, folders, the completeness marker) and the download logic.

Nothing here touches the network: the two network calls of engine.model.download
(fetch_file_sizes, fetch_file) are replaced by local fakes where a whole download runs.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from engine.errors import CancelledError, DiskSpaceError, ModelError, ModelMissingError
from engine.model import download, registry
from engine.model.download import DownloadError, DownloadPlan, check_disk_space, plan_download
from engine.model.registry import COMPLETE_MARKER, MODELS, resolve_model


def make_complete(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {"config.json": b"{}"}).items():
        (folder / name).write_bytes(data)
    (folder / COMPLETE_MARKER).write_text("{}")
    return folder


# --- registry ------------------------------------------------------------------------------


def test_registry_holds_the_three_checkpoints():
    assert list(MODELS) == ["instruct", "think", "captioner"]
    assert MODELS["instruct"].repo_id == "nvidia/audio-flamingo-next-hf"
    assert MODELS["think"].repo_id == "nvidia/audio-flamingo-next-think-hf"
    assert MODELS["captioner"].repo_id == "nvidia/audio-flamingo-next-captioner-hf"
    assert [s.name for s in MODELS.values() if s.thinks] == ["think"]
    for spec in MODELS.values():
        assert spec.size_gb == pytest.approx(16.5)
        assert "non-commercial" in spec.license
    with pytest.raises(dataclasses.FrozenInstanceError):
        MODELS["think"].name = "other"  # type: ignore[misc]


def test_resolve_a_folder_path(tmp_path: Path):
    folder = tmp_path / "my model"
    folder.mkdir()
    resolved = resolve_model(str(folder), tmp_path / "models")
    assert resolved.path == folder.resolve() and resolved.spec is None
    # A folder named like a registry entry keeps its spec (so Heron knows it thinks).
    think = make_complete(tmp_path / "models" / "think")
    assert resolve_model(str(think), tmp_path / "elsewhere").spec is MODELS["think"]


def test_resolve_names_and_repo_ids(tmp_path: Path):
    models = tmp_path / "models"
    folder = make_complete(models / "think")
    for value in ("think", "THINK", "nvidia/audio-flamingo-next-think-hf"):
        resolved = resolve_model(value, models)
        assert resolved.path == folder and resolved.spec is MODELS["think"]


def test_name_wins_over_a_same_named_folder_in_the_working_directory(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instruct").mkdir()
    with pytest.raises(ModelMissingError):
        resolve_model("instruct", tmp_path / "models")
    assert resolve_model("./instruct", tmp_path / "models").path == (tmp_path / "instruct").resolve()


def test_missing_model_says_how_to_get_it(tmp_path: Path):
    with pytest.raises(ModelMissingError) as info:
        resolve_model("think", tmp_path / "models")
    assert str(info.value) == (
        "Model 'think' is not downloaded (about 16.5 GB). "
        "Run: heron models download think — or pass --model with a folder."
    )


def test_half_downloaded_model_is_missing(tmp_path: Path):
    folder = tmp_path / "models" / "captioner"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelMissingError, match="heron models download captioner"):
        resolve_model("nvidia/audio-flamingo-next-captioner-hf", tmp_path / "models")


def test_unknown_name_lists_valid_names(tmp_path: Path):
    with pytest.raises(ModelError) as info:
        resolve_model("flamingo-9000", tmp_path)
    assert type(info.value) is ModelError
    assert "instruct, think, captioner" in str(info.value)
    with pytest.raises(ModelMissingError, match="No model folder at"):
        resolve_model(str(tmp_path / "not" / "there"), tmp_path)
    with pytest.raises(ModelError, match="Unknown model"):
        registry.get_spec("nvidia/other-model")


def test_installed_models_with_sizes(tmp_path: Path):
    models = tmp_path / "models"
    assert registry.installed_models(models) == []
    make_complete(models / "think", {"model.safetensors": b"x" * 1000, "config.json": b"{}"})
    partial = models / "instruct"
    partial.mkdir()
    (partial / "config.json").write_bytes(b"y" * 10)
    make_complete(models / "my-finetune", {"model.safetensors": b"z" * 5})
    (models / ".cache").mkdir()
    found = registry.installed_models(models)
    assert [m.name for m in found] == ["instruct", "think", "my-finetune"]
    by_name = {m.name: m for m in found}
    assert by_name["think"].complete and not by_name["instruct"].complete
    assert by_name["think"].size_bytes == 1000 + 2 + len("{}")
    assert by_name["instruct"].size_bytes == 10
    assert by_name["my-finetune"].spec is None and by_name["think"].spec is MODELS["think"]


# --- planning --------------------------------------------------------------------------------

SIZES = {
    "config.json": 100,
    "generation_config.json": 50,
    "model-00001-of-00002.safetensors": 5000,
    "model-00002-of-00002.safetensors": 3000,
    "model.safetensors.index.json": 200,
    "tokenizer.json": 400,
    "merges.txt": 70,
    "chat_template.jinja": 30,
    "pytorch_model.bin": 8000,
    "training_args.pt": 10,
    "original/model.safetensors": 9000,
    "README.md": 10,
}


def test_only_safe_top_level_files_are_wanted():
    plan = plan_download("r", Path("/nonexistent"), SIZES)
    assert "pytorch_model.bin" not in plan.files and "training_args.pt" not in plan.files
    assert "original/model.safetensors" not in plan.files and "README.md" not in plan.files
    assert {"merges.txt", "chat_template.jinja", "model.safetensors.index.json"} <= set(plan.files)
    assert plan.total_bytes == 100 + 50 + 5000 + 3000 + 200 + 400 + 70 + 30
    assert plan.missing_bytes == plan.total_bytes and plan.done_bytes == 0
    assert plan.missing[0] == "chat_template.jinja"  # small files first, the big shards last


def test_plan_with_partial_files(tmp_path: Path):
    (tmp_path / "config.json").write_bytes(b"c" * 100)  # complete
    (tmp_path / "tokenizer.json").write_bytes(b"t" * 400)  # complete
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"w" * 1234)  # cut short
    (tmp_path / "generation_config.json").write_bytes(b"g" * 60)  # wrong size: the repo changed
    plan = plan_download("r", tmp_path, SIZES)
    assert "config.json" not in plan.missing and "tokenizer.json" not in plan.missing
    assert "model-00001-of-00002.safetensors" in plan.missing
    assert "generation_config.json" in plan.missing
    assert plan.done_bytes == 500
    assert plan.missing_bytes == plan.total_bytes - 500


# --- disk space ---------------------------------------------------------------------------------


def test_disk_space_error_with_both_figures(tmp_path: Path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(DiskSpaceError) as info:
        check_disk_space(tmp_path / "models" / "think", free + 10**9)
    message = str(info.value)
    assert f"needs {(free + 10**9) / 1e9:.1f} GB" in message
    assert f"only {free / 1e9:.1f} GB is free" in message
    assert "free up" in message and "another models folder" in message
    assert "\n" not in message


def test_disk_space_enough(tmp_path: Path):
    check_disk_space(tmp_path / "not" / "yet" / "made", 1000)
    check_disk_space(tmp_path, 0)


def test_disk_space_keeps_a_margin(tmp_path: Path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(DiskSpaceError, match="to spare"):
        check_disk_space(tmp_path, max(free - download.MIN_MARGIN_BYTES // 2, 1))


# --- completeness marker ----------------------------------------------------------------------


def test_marker_written_only_when_every_file_is_there(tmp_path: Path):
    models = tmp_path / "models"
    dest = models / "instruct"
    dest.mkdir(parents=True)
    sizes = {"config.json": 3, "model.safetensors": 5}
    (dest / "config.json").write_bytes(b"abc")
    plan = plan_download("nvidia/audio-flamingo-next-hf", dest, sizes)
    with pytest.raises(DownloadError, match="incomplete.*model.safetensors"):
        download.mark_complete(dest, plan)
    assert not registry.is_complete(dest)
    (dest / "model.safetensors").write_bytes(b"12345")
    download.mark_complete(dest, plan)
    assert registry.is_complete(dest)
    assert resolve_model("instruct", models).path == dest


# --- a whole download, with the network replaced by local files -------------------------------


class FakeHub:
    """Serves files from memory through the same two calls download_model uses."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.fetched: list[str] = []

    def sizes(self, repo_id: str, token=None) -> dict[str, int]:
        return {name: len(data) for name, data in self.files.items()}

    def fetch(self, repo_id: str, filename: str, dest: Path, on_bytes, token=None) -> Path:
        self.fetched.append(filename)
        data = self.files[filename]
        for end in range(0, len(data) + 1, max(1, len(data) // 4)):
            on_bytes(end)
        (dest / filename).write_bytes(data)
        return dest / filename


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    fake = FakeHub(
        {
            "config.json": b"{}" * 10,
            "tokenizer.json": b"t" * 300,
            "model.safetensors": b"w" * 4000,
            "x.bin": b"b",
        }
    )
    monkeypatch.setattr(download, "fetch_file_sizes", fake.sizes)
    monkeypatch.setattr(download, "fetch_file", fake.fetch)
    return fake


def test_download_reports_progress_and_marks_complete(tmp_path: Path, hub: FakeHub):
    events: list[tuple[int, int, str]] = []
    dest = download.download_model(MODELS["think"], tmp_path, on_progress=lambda *e: events.append(e))
    assert dest == tmp_path / "think" and registry.is_complete(dest)
    assert sorted(hub.fetched) == ["config.json", "model.safetensors", "tokenizer.json"]  # no .bin
    done = [e[0] for e in events]
    assert done == sorted(done) and events[-1][:2] == (4320, 4320)
    assert {e[1] for e in events} == {4320}
    assert resolve_model("think", tmp_path).path == dest


def test_interrupted_download_resumes(tmp_path: Path, hub: FakeHub):
    def cancel_in_the_big_file(done: int, total: int, name: str) -> None:
        if name == "model.safetensors":
            raise CancelledError("Download cancelled.")

    with pytest.raises(CancelledError):
        download.download_model(MODELS["think"], tmp_path, on_progress=cancel_in_the_big_file)
    assert not registry.is_complete(tmp_path / "think")
    with pytest.raises(ModelMissingError):
        resolve_model("think", tmp_path)
    hub.fetched.clear()
    download.download_model(MODELS["think"], tmp_path)
    assert hub.fetched == ["model.safetensors"]  # the small files were already there
    assert registry.is_complete(tmp_path / "think")
    hub.fetched.clear()
    download.download_model(MODELS["think"], tmp_path)  # complete: nothing to do
    assert hub.fetched == []


def test_download_checks_disk_space_first(tmp_path: Path, hub: FakeHub, monkeypatch):
    huge = shutil.disk_usage(tmp_path).free + 10**9
    monkeypatch.setattr(download, "fetch_file_sizes", lambda repo_id, token=None: {"model.safetensors": huge})
    with pytest.raises(DiskSpaceError):
        download.download_model(MODELS["instruct"], tmp_path)
    assert hub.fetched == [] and not (tmp_path / "instruct").exists()


def test_progress_class_forwards_bytes():
    seen: list[int] = []
    bar = download._progress_class(seen.append)(total=100, unit="B", desc="x", name="hf-name")
    bar.update(40)
    bar.update(60)
    bar.close()
    assert seen == [40, 100]


# --- network failures become one actionable line ------------------------------------------------


def hub_error(cls, status: int):
    import httpx2
    from huggingface_hub import errors as hf

    response = httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/x"))
    return getattr(hf, cls)("server said no", response=response)


@pytest.mark.parametrize(
    ("make_error", "message"),
    [
        (lambda: hub_error("GatedRepoError", 403), "is gated.*hf auth login"),
        (lambda: hub_error("RepositoryNotFoundError", 404), "was not found on the Hugging Face Hub"),
        (lambda: hub_error("HfHubHTTPError", 401), "refused.*hf auth login"),
        (lambda: hub_error("HfHubHTTPError", 500), r"answered with an error \(500\)"),
        (lambda: ConnectionError("down"), "No connection to the Hugging Face Hub"),
        (lambda: __import__("httpx2").ConnectError("dns"), "No connection to the Hugging Face Hub"),
        (lambda: __import__("httpx2").ReadTimeout("slow"), "No connection to the Hugging Face Hub"),
    ],
)
def test_hub_errors_become_download_errors(make_error, message: str):
    with (
        pytest.raises(DownloadError, match=message) as info,
        download.hub_errors("nvidia/audio-flamingo-next-hf"),
    ):
        raise make_error()
    assert "\n" not in str(info.value)


def test_disk_full_during_download_is_a_disk_space_error():
    with pytest.raises(DiskSpaceError, match="disk filled up"), download.hub_errors("r"):
        raise OSError(28, "No space left on device")


def test_other_errors_pass_through():
    with pytest.raises(KeyError), download.hub_errors("r"):
        raise KeyError("a bug")


def test_plan_is_a_frozen_value():
    plan = DownloadPlan("r", Path("."), {"a.json": 1}, ("a.json",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.repo_id = "s"  # type: ignore[misc]
