"""The AF-Next checkpoints Heron knows, and where a model named on the command line lives.

``models_dir`` is always given by the caller: the app owns the paths. A downloaded model
lives in ``models_dir/<name>`` and counts as installed only once the downloader has
written the completeness marker, so a half-finished download is never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelError, ModelMissingError

COMPLETE_MARKER = ".heron-complete"
LICENSE = "NVIDIA research / non-commercial licence — see the model card"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    repo_id: str
    title: str
    summary: str
    size_gb: float  # approximate download size, bf16 safetensors
    license: str
    thinks: bool  # writes <think> … </think> reasoning before the answer

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}"


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="instruct",
            repo_id="nvidia/audio-flamingo-next-hf",
            title="AF-Next Instruct",
            summary="Questions, chat and transcription about speech, sound and music.",
            size_gb=16.5,
            license=LICENSE,
            thinks=False,
        ),
        ModelSpec(
            name="think",
            repo_id="nvidia/audio-flamingo-next-think-hf",
            title="AF-Next Think",
            summary="Step-by-step <think> reasoning, each step anchored to a time in the audio.",
            size_gb=16.5,
            license=LICENSE,
            thinks=True,
        ),
        ModelSpec(
            name="captioner",
            repo_id="nvidia/audio-flamingo-next-captioner-hf",
            title="AF-Next Captioner",
            summary="Long, dense captions of a whole recording.",
            size_gb=16.5,
            license=LICENSE,
            thinks=False,
        ),
    )
}
DEFAULT_MODEL = "instruct"


@dataclass(frozen=True)
class ResolvedModel:
    path: Path
    spec: ModelSpec | None  # None for a folder given by path


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    spec: ModelSpec | None  # None for a folder Heron did not download
    size_bytes: int
    complete: bool


def find_spec(name_or_repo: str) -> ModelSpec | None:
    """The registry entry for a short name or a repo id (case-insensitive), else None."""
    key = name_or_repo.strip().lower()
    for spec in MODELS.values():
        if key in (spec.name, spec.repo_id.lower()):
            return spec
    return None


def get_spec(name_or_repo: str) -> ModelSpec:
    spec = find_spec(name_or_repo)
    if spec is None:
        raise ModelError(f"Unknown model '{name_or_repo}': use one of {_valid_names()}, or a folder path.")
    return spec


def model_dir(spec: ModelSpec, models_dir: Path) -> Path:
    return Path(models_dir) / spec.name


def is_complete(folder: Path) -> bool:
    return (Path(folder) / COMPLETE_MARKER).is_file()


def resolve_model(name_or_path: str, models_dir: Path) -> ResolvedModel:
    """Turn a ``--model`` value (folder, registry name or repo id) into a folder to load."""
    as_path = Path(name_or_path).expanduser()
    spec = None if _looks_like_path(name_or_path) else find_spec(name_or_path)
    if spec is None and as_path.is_dir():
        # A folder named like a registry entry (models_dir/think) keeps its spec: it knows it thinks.
        return ResolvedModel(path=as_path.resolve(), spec=find_spec(as_path.name))
    if spec is None:
        if _looks_like_path(name_or_path):
            raise ModelMissingError(
                f"No model folder at {as_path}: pass --model with an existing folder, "
                f"or one of {_valid_names()}."
            )
        raise ModelError(f"Unknown model '{name_or_path}': use one of {_valid_names()}, or a folder path.")
    folder = model_dir(spec, models_dir)
    if not is_complete(folder):
        raise ModelMissingError(
            f"Model '{spec.name}' is not downloaded (about {spec.size_gb:g} GB). "
            f"Run: heron models download {spec.name} — or pass --model with a folder."
        )
    return ResolvedModel(path=folder, spec=spec)


VOICE_FOLDER = "kokoro"  # the Kokoro voice's weights share the models folder but are no AF-Next model


def installed_models(models_dir: Path) -> list[InstalledModel]:
    """Every model folder under ``models_dir``, registry ones first, with its size on disk."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    found = [
        InstalledModel(
            name=folder.name,
            path=folder,
            spec=MODELS.get(folder.name),
            size_bytes=folder_size(folder),
            complete=is_complete(folder),
        )
        for folder in sorted(root.iterdir())
        if folder.is_dir() and not folder.name.startswith(".") and folder.name != VOICE_FOLDER
    ]
    order = list(MODELS)
    return sorted(found, key=lambda m: (order.index(m.name) if m.name in MODELS else len(order), m.name))


def folder_size(folder: Path) -> int:
    """Bytes on disk under ``folder``, partial downloads included (they take space too)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def _valid_names() -> str:
    return ", ".join(MODELS)


def _looks_like_path(value: str) -> bool:
    # A repo id also has one '/', so only treat explicit path forms as paths.
    return value.startswith((".", "~", "/")) or "\\" in value or value.count("/") > 1
