"""Load an AF-Next folder onto a device at a precision, or say in one line why not.

Everything that can be checked before spending minutes and gigabytes is checked first:
the folder and its files, the model type, safetensors weights, whether the model fits in
the free RAM or GPU memory (engine/model/fit.py; an unset precision or device is chosen
there), and bitsandbytes for the quantized precisions. Loading goes through the classes of
the checkpoint's type (engine/model/architecture.py) with ``use_safetensors=True`` and
``local_files_only=True``: never remote code, never the network.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import DeviceError, ModelError, ModelMissingError, OutOfMemoryError, RequestError
from engine.files import FileRefusedError, read_limited
from engine.model import cpu_attention, fast_paths, fit
from engine.model.architecture import MODEL_TYPES, Architecture, architecture_for, audio_limit_s
from engine.model.encoder_groups import encode_windows_in_groups
from engine.model.precision import PRECISIONS, QUANTIZED, compute_dtype_name
from engine.model.quantized_load import FROM_CHECKPOINT, load_quantized
from engine.model.weight_sizes import (
    SKIP_MODULES,
    TensorInfo,
    check_safetensors_file,
    estimate_tensors_bytes,
    read_safetensors_header,
    stored_bytes,
)

TOKENIZER_FILES = ("tokenizer.json", "vocab.json")
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
JSON_LIMIT = 16 * 2**20  # a config or index bigger than this is not one


@dataclass
class LoadedModel:
    model: Any  # MusicFlamingoForConditionalGeneration (or AudioFlamingoNext…)
    processor: Any  # MusicFlamingoProcessor (or AudioFlamingoNext…)
    path: Path
    precision: str
    device: str
    dtype: Any  # torch.dtype that input_features must be cast to
    load_seconds: float
    param_bytes: int
    max_audio_s: float  # the most audio one prompt holds (the processor's limit): longer is windowed
    source: str = FROM_CHECKPOINT  # FROM_COPY: read from the on-disk quantized copy


# --- device and precision ---------------------------------------------------------------


def choose_device(requested: str | None = None) -> str:
    """``cuda`` when a CUDA GPU is there (or asked for), else ``cpu``."""
    import torch

    wanted = (requested or "auto").strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "cuda" or wanted.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError("No CUDA GPU was found (or the installed torch has no CUDA): use --device cpu.")
        index = wanted.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise DeviceError(
                f"There is no GPU {wanted}: this machine has {torch.cuda.device_count()} CUDA GPU(s) "
                "(cuda:0 …); pick one of them or use --device cpu."
            )
        return wanted
    raise DeviceError(f"Unknown device '{requested}': use cpu, cuda or cuda:N.")


def compute_dtype(precision: str, device: str):
    """The dtype of the unquantized parts, hence of ``input_features``."""
    import torch

    return {"bf16": torch.bfloat16, "fp32": torch.float32}[compute_dtype_name(precision, device)]


def check_precision(precision: str) -> str:
    value = precision.strip().lower()
    if value not in PRECISIONS:
        raise RequestError(f"Unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    return value


# --- validating a folder ----------------------------------------------------------------


def validate_model_folder(path: Path) -> dict[str, Any]:
    """Check that ``path`` holds a loadable AF-Next model; return its config."""
    path = Path(path)
    if not path.exists():
        raise ModelMissingError(
            f"Model folder not found: {path}. Pass --model with an AF-Next folder, "
            "or run: heron models download instruct."
        )
    if not path.is_dir():
        raise ModelError(f"{path} is a file, not a model folder: pass the folder that holds config.json.")
    config = read_config(path)
    model_type = config.get("model_type")
    if model_type not in MODEL_TYPES:
        raise ModelError(
            f"{path} is a {model_type or 'untyped'} model, not AF-Next "
            f"(config.json model_type must be {' or '.join(map(repr, MODEL_TYPES))}): "
            "pass an AF-Next folder."
        )
    check_weight_files(path)
    check_processor_files(path)
    return config


def read_config(path: Path) -> dict[str, Any]:
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelError(
            f"{path} has no config.json, so it is not a transformers model folder: "
            "pass the folder that holds config.json, or download the model again."
        )
    try:
        config = json.loads(read_limited(config_path, JSON_LIMIT).decode("utf-8"))
    except FileRefusedError as exc:
        raise ModelError(exc.message) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"Cannot read {config_path} ({exc.__class__.__name__}): check its permissions."
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{config_path} is not valid JSON (line {exc.lineno}): the download may be incomplete; "
            "download the model again."
        ) from exc
    if not isinstance(config, dict):
        raise ModelError(f"{config_path} is not a JSON object: download the model again.")
    return config


def weight_files(path: Path) -> list[Path]:
    """The safetensors files of the model: the shards named in the index, or all of them."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(read_limited(index, JSON_LIMIT))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError, FileRefusedError) as exc:
            raise ModelError(f"{index} is damaged: download the model again.") from exc
        return [path / name for name in sorted(set(weight_map.values()))]
    return sorted(path.glob("*.safetensors"))


def check_weight_files(path: Path) -> None:
    files = weight_files(path)
    if not files:
        if any(path.glob("*.bin")) or any(path.glob("*.pt")) or any(path.glob("*.pth")):
            raise ModelError(
                f"{path} has only PyTorch .bin/.pt weights, which can run code when loaded, so Heron "
                "loads safetensors only; convert it once where you trust the files, e.g. "
                f'python -c "from transformers import AutoModelForSeq2SeqLM as M; '
                f"M.from_pretrained('{path}').save_pretrained('{path}-safetensors')\" "
                "and copy the processor files along, or download the model again."
            )
        raise ModelError(f"{path} has no *.safetensors weights: download the model again.")
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ModelError(
            f"{path} is missing weight file(s) {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}: the download is incomplete; download the model again."
        )
    for file in files:
        check_safetensors_file(file)


def check_processor_files(path: Path) -> None:
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(
            f"{path} has no tokenizer (tokenizer.json): copy the tokenizer files from the model's "
            "repository into it, or download the model again."
        )
    if not any((path / name).is_file() for name in PROCESSOR_FILES):
        raise ModelError(
            f"{path} has no processor_config.json / preprocessor_config.json (audio feature settings): "
            "copy them from the model's repository, or download the model again."
        )


class _DropMessages(logging.Filter):
    """Drops known-harmless library log lines that would otherwise reach the user."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def quiet_bitsandbytes() -> None:
    """Drop two harmless bitsandbytes log lines; safe to call any number of times."""
    # Once per int8 matmul: the CPU path casts inputs to fp16, as expected.
    _drop_log_line("bitsandbytes.autograd._functions", "MatMul8bitLt: inputs will be cast")
    # At import: the optional `kernels` package (which would fetch from the hub) is absent.
    _drop_log_line("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward")


def _drop_log_line(logger_name: str, prefix: str) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _DropMessages) and f.prefixes == (prefix,) for f in logger.filters):
        logger.addFilter(_DropMessages(prefix))


def check_bitsandbytes(precision: str) -> None:
    if precision not in QUANTIZED:
        return
    quiet_bitsandbytes()
    try:
        importlib.import_module("bitsandbytes")
    except Exception as exc:  # ImportError, or a broken native library
        raise ModelError(
            f"Precision {precision} needs the bitsandbytes package, which cannot be imported "
            f"({exc.__class__.__name__}): pip install bitsandbytes==0.50.2, or use --precision bf16 or fp32."
        ) from exc


# --- estimating memory -------------------------------------------------------------------


def model_tensors(path: Path) -> list[TensorInfo]:
    return [t for file in weight_files(Path(path)) for t in read_safetensors_header(file)]


def estimate_weight_bytes(path: Path, precision: str, device: str = "cuda") -> int:
    """Bytes the weights take once loaded at ``precision`` on ``device`` (from the safetensors headers)."""
    return estimate_tensors_bytes(model_tensors(Path(path)), check_precision(precision), device)


def model_figures(path: Path, config: dict[str, Any], max_audio_s: float, device: str) -> fit.ModelFigures:
    """What the checkpoint in ``path`` needs on ``device``, from its safetensors headers and config."""
    tensors = model_tensors(path)
    return fit.ModelFigures(
        weights={p: estimate_tensors_bytes(tensors, p, device) for p in PRECISIONS},
        kv_values_per_token=fit.kv_values_per_token(config["text_config"]),
        prefill_values_per_token=fit.prefill_values_per_token(config["text_config"]),
        largest_tensor=max(stored_bytes(t) for t in tensors),
        params=sum(math.prod(t.shape) for t in tensors),
        max_audio_s=max_audio_s,
    )


def place(
    path: Path, config: dict[str, Any], max_audio_s: float, precision: str | None, device: str | None
) -> fit.Fit:
    """The device and precision to load at: those asked for, once they fit, or the best that fits.

    The audio of a request is not known at load time: room is left for the KV cache of the
    longest prompt the processor makes (``max_audio_s``; a longer recording is answered
    window by window), so every request fits once the model is loaded.
    """
    first = choose_device(device)
    automatic = (device or "auto").strip().lower() == "auto"
    devices = [first, "cpu"] if automatic and first != "cpu" else [first]  # no room on the GPU: the CPU
    candidates = [(_machine(d), model_figures(path, config, max_audio_s, d)) for d in devices]
    return fit.choose(candidates, precision)


def _machine(device: str) -> fit.Machine:
    return fit.cuda_machine(device) if device.startswith("cuda") else fit.cpu_machine()


# --- loading -----------------------------------------------------------------------------


def quantization_config(precision: str, device: str):
    from transformers import BitsAndBytesConfig

    if precision == "nf4":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype(precision, device),
            llm_int8_skip_modules=SKIP_MODULES,
        )
    if precision == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=SKIP_MODULES)
    return None


def load_model(
    path: Path, precision: str | None = None, device: str | None = None, cache_dir: Path | None = None
) -> LoadedModel:
    """Validate, then load the model and its processor; raise a HeronError on any known failure.

    ``cache_dir``: where quantized copies are kept (engine/model/quantized_cache.py), so a
    quantized model loads from its copy after the first time; None: quantize every time.
    """
    start = time.perf_counter()
    path = Path(path).expanduser()
    precision = check_precision(precision) if precision else None
    config = validate_model_folder(path)
    architecture = architecture_for(config)
    processor = _load_processor(path, architecture)
    max_audio_s = audio_limit_s(processor)
    placed = place(path, config, max_audio_s, precision, device)
    check_bitsandbytes(placed.precision)
    if placed.shortened:
        logging.getLogger(__name__).info(placed.note)
    model, source = _load_weights(path, architecture, placed, cache_dir)
    model.eval()
    encode_windows_in_groups(model)  # a long clip's windows a few at a time: bounded memory
    fast_paths.install(model, placed.precision, placed.device)  # quantized layers' fast kernels
    cpu_attention.install(model, placed.device)  # decoding's attention, heads grouped
    return LoadedModel(
        model=model,
        processor=processor,
        path=path,
        precision=placed.precision,
        device=placed.device,
        dtype=compute_dtype(placed.precision, placed.device),
        load_seconds=time.perf_counter() - start,
        param_bytes=int(model.get_memory_footprint()),
        max_audio_s=placed.audio_s,  # the processor's window, or less where memory holds less
        source=source,
    )


def _load_processor(path: Path, architecture: Architecture):
    if architecture.config is not None:  # its tokenizer warns that the folder's type is not MusicFlamingo's
        _drop_log_line(
            "transformers.configuration_utils", "You are using a model of type `audioflamingonext`"
        )
    try:
        return architecture.processor_class.from_pretrained(
            path, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"The processor/tokenizer files in {path} could not be loaded ({_first_line(exc)}): "
            "download the model again."
        ) from exc


def _load_weights(path: Path, architecture: Architecture, placed: fit.Fit, cache_dir: Path | None):
    """The model and where its weights came from: quantized models stream in (or come from
    their on-disk copy), unquantized ones load as transformers loads them."""
    import torch
    from safetensors import SafetensorError

    precision, device = placed.precision, placed.device
    kwargs: dict[str, Any] = {"dtype": compute_dtype(precision, device)}
    if device.startswith("cuda"):
        kwargs["device_map"] = {"": _cuda_index_device(device)}
    try:
        if precision not in QUANTIZED:
            model = architecture.model_class.from_pretrained(
                path, config=architecture.config, use_safetensors=True, local_files_only=True,
                trust_remote_code=False, **kwargs,
            )  # fmt: skip
            return model, FROM_CHECKPOINT
        kwargs["quantization_config"] = quantization_config(precision, device)
        kwargs["generation_config"] = _generation_config(path)
        model, source = load_quantized(
            architecture, path, weight_files(path), precision, device, kwargs, cache_dir, placed.weights
        )
        model.config.name_or_path = str(path)
        return model, source
    except torch.cuda.OutOfMemoryError as exc:
        raise _oom(precision, device) from exc
    except MemoryError as exc:
        raise _oom(precision, device) from exc
    except RuntimeError as exc:
        if _is_oom(exc):
            raise _oom(precision, device) from exc
        raise ModelError(f"Could not load the weights in {path}: {_first_line(exc)}") from exc
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(
            f"Could not load the weights in {path} ({_first_line(exc)}): download the model again."
        ) from exc


def _generation_config(path: Path):
    """The folder's generation settings (end tokens …), which ``from_pretrained`` reads by itself
    only when it reads the folder."""
    from transformers import GenerationConfig

    if not (path / "generation_config.json").is_file():
        return None
    return GenerationConfig.from_pretrained(path, local_files_only=True)


def _cuda_index_device(device: str) -> str:
    import torch

    return device if ":" in device else f"cuda:{torch.cuda.current_device()}"


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text


def _oom(precision: str, device: str) -> OutOfMemoryError:
    where = "GPU memory" if device.startswith("cuda") else "RAM"
    index = PRECISIONS.index(precision)
    smaller = PRECISIONS[index - 1] if index > 0 else None
    advice = f"try --precision {smaller}" if smaller else "close other programs"
    if device.startswith("cuda") and not smaller:
        advice += " or use --device cpu"
    return OutOfMemoryError(f"Ran out of {where} loading the model in {precision}: {advice}.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
