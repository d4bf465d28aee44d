"""AF-Next models: the registry of checkpoints, downloading, loading, and a tiny stand-in.

Importing this package is cheap: torch, transformers and huggingface_hub are imported
only by the functions that need them.
"""

from engine.model.download import (
    DownloadError,
    DownloadPlan,
    check_disk_space,
    download_model,
    fetch_file_sizes,
    plan_download,
)
from engine.model.loading import (
    LoadedModel,
    choose_device,
    estimate_weight_bytes,
    load_model,
    validate_model_folder,
)
from engine.model.precision import PRECISIONS
from engine.model.registry import (
    MODELS,
    InstalledModel,
    ModelSpec,
    ResolvedModel,
    get_spec,
    installed_models,
    resolve_model,
)

__all__ = [
    "MODELS",
    "PRECISIONS",
    "DownloadError",
    "DownloadPlan",
    "InstalledModel",
    "LoadedModel",
    "ModelSpec",
    "ResolvedModel",
    "check_disk_space",
    "choose_device",
    "download_model",
    "estimate_weight_bytes",
    "fetch_file_sizes",
    "get_spec",
    "installed_models",
    "load_model",
    "plan_download",
    "resolve_model",
    "validate_model_folder",
]
