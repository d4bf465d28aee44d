"""The precisions a model loads at, by name; no torch here, so the UI and the CLI can offer them."""

QUANTIZED = ("nf4", "int8")  # 4 and 8 bits, through bitsandbytes
UNQUANTIZED = ("bf16", "fp32")
PRECISIONS = (*QUANTIZED, *UNQUANTIZED)  # smallest weights first: loading suggests the one before
LABELS = {"nf4": "nf4 (4-bit)", "int8": "int8", "bf16": "bf16", "fp32": "fp32"}
COMPUTE_BYTES = {"bf16": 2, "fp32": 4}  # bytes a value of each compute dtype takes


def compute_dtype_name(precision: str, device: str) -> str:
    """The dtype of the unquantized parts (and of the KV cache): ``bf16`` or ``fp32``."""
    if precision in UNQUANTIZED:
        return precision
    # Quantized: bf16 on the GPU; on the CPU fp32, which is what its kernels run fastest.
    return "bf16" if device.startswith("cuda") else "fp32"
