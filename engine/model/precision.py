"""The precisions a model loads at, by name; no torch here, so the UI and the CLI can offer them."""

QUANTIZED = ("nf4", "int8")  # 4 and 8 bits, through bitsandbytes
UNQUANTIZED = ("bf16", "fp32")
PRECISIONS = (*QUANTIZED, *UNQUANTIZED)  # smallest weights first: loading suggests the one before
LABELS = {"nf4": "nf4 (4-bit)", "int8": "int8", "bf16": "bf16", "fp32": "fp32"}
