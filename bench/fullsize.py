"""The real-size AF-Next through the real engine, one precision and path at a time.

Writes the full-size random checkpoint once (bench/fullsize_checkpoint.py, under
bench/.fullsize/), measures this machine's memory read bandwidth, then runs each path in a
child process of its own (so its peak memory is its own), under ``flock
/tmp/heron-fullsize.lock`` (no two full-size runs at once on a shared machine), with its
anonymous memory capped (RLIMIT_DATA) and a watchdog that stops it before the machine runs
out of memory. Per path: load time in a fresh process (``load_s``; a quantized path reads or
writes its on-disk quantized copy), load time again (``warm_load_s``), peak RSS (GPU memory
on CUDA), time to first token on 30 s of assets/sample-meeting.ogg, decode tokens/s, and the
bandwidth share: tokens/s × the bytes a decoded token reads (the language model's weights
and its KV cache) ÷ the measured bandwidth. Each path's last-token logits on a fixed prompt
are compared with the bf16 path's and, for a fast path, with its stock kernels' in the same
process (max abs difference, cosine). Prints a table and one JSON line:
{"bench": "fullsize", "device": …, "paths": {name: {"load_s": …, "warm_load_s": …, "peak_gb": …,
"ttft_s": …, "decode_tok_s": …, "bandwidth_share": …}}}.

    .venv/bin/python bench/fullsize.py [--device cpu|cuda] [--paths bf16,nf4-fused,…] [--max-new-tokens 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fullsize_child import FLOOR_BYTES, PATHS, available_bytes, child_main  # noqa: E402

LOCK = "/tmp/heron-fullsize.lock"
CPU_PATHS = ("bf16", "nf4-stock", "nf4-fused", "nf4-dequant", "int8-stock", "int8-fast")
CUDA_PATHS = ("bf16", "nf4-stock", "int8-stock", "nf4-compiled")
WIDTHS = (7, 7, 8, 7, 7, 6, 6, 6, 7, 9)  # the table's number columns


def measure_bandwidth(device: str) -> float:
    """Bytes/s of memory read with all threads: the best of summing a 2 GiB tensor and copying it
    (a copy reads and writes: counted twice), best of 5 each."""
    import torch

    data = torch.ones(2**29, dtype=torch.float32, device=device)  # 2 GiB
    copy = torch.empty_like(data)
    kernels = {"sum": (lambda: data.sum().item(), 1), "copy": (lambda: copy.copy_(data), 2)}
    best = 0.0
    for run, passes in kernels.values():
        for _ in range(5):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            run()
            if device == "cuda":
                torch.cuda.synchronize()
            best = max(best, passes * data.numel() * 4 / (time.perf_counter() - start))
    return best


def run_child(args, name: str, phase: str, out: Path) -> dict:
    """One path's phase in its own process, under the lock; its JSON result or an error."""
    result_file = out / f"{name}-{phase}.json"
    command = ["flock", LOCK, sys.executable, __file__, "--child", name, "--phase", phase,
               "--device", args.device, "--checkpoint", str(args.checkpoint), "--out", str(out),
               "--max-new-tokens", str(args.max_new_tokens), "--patience", str(args.patience)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    stopped = watch(process)
    if stopped or process.returncode != 0 or not result_file.is_file():
        why = stopped or f"exit status {process.returncode}"
        if (out / f"{name}-{phase}.error").is_file():
            why = (out / f"{name}-{phase}.error").read_text()
        return {"error": why, "wall_s": round(time.perf_counter() - started, 1)}
    return json.loads(result_file.read_text())


def watch(process: subprocess.Popen) -> str | None:
    """Wait for the child; stop it if the machine's available memory falls below the floor."""
    while process.poll() is None:
        if available_bytes() < FLOOR_BYTES:
            process.kill()
            process.wait()
            return f"stopped: the machine had under {FLOOR_BYTES >> 20} MiB available"
        time.sleep(0.2)
    return None


def run_path(args, name: str, out: Path) -> dict:
    first = run_child(args, name, "full", out)
    if "error" in first or args.no_warm:
        return first
    warm = run_child(args, name, "load", out)
    first["warm_load_s"] = warm.get("load_s")
    first["warm_source"] = warm.get("source")
    return first


def compare_logits(rows: dict, out: Path) -> None:
    import torch

    reference = out / "bf16-logits.pt"
    if not reference.is_file():
        return
    for name, row in rows.items():
        mine = out / f"{name}-logits.pt"
        if name == "bf16" or not mine.is_file():
            continue
        logits = torch.load(mine)
        row["vs_bf16"] = _difference(logits, torch.load(reference))
        stock = out / f"{PATHS[name]['precision']}-stock-logits.pt"
        if not name.endswith("-stock") and stock.is_file():
            row["vs_stock_path"] = _difference(logits, torch.load(stock))


def _difference(logits, reference) -> dict:
    import torch

    cos = torch.nn.functional.cosine_similarity(logits, reference, dim=0)
    return {"max_abs": round(float((logits - reference).abs().max()), 4), "cos": round(float(cos), 5)}


def add_bandwidth_share(rows: dict, bandwidth: float) -> None:
    for row in rows.values():
        if row.get("decode_tok_s") and row.get("bytes_per_token"):
            limit = bandwidth / row["bytes_per_token"]
            row["limit_tok_s"] = round(limit, 2)
            row["bandwidth_share"] = round(row["decode_tok_s"] / limit, 3)


def print_table(rows: dict, device: str, bandwidth: float) -> None:
    print(f"device {device}, read bandwidth {bandwidth / 1e9:.1f} GB/s")
    head = (
        "path",
        "load s",
        "warm s",
        "peak GB",
        "TTFT s",
        "again s",
        "tok/s",
        "limit",
        "share",
        "GB/tok",
        "cos bf16",
    )
    print("{:<12} {:>7} {:>7} {:>8} {:>7} {:>7} {:>6} {:>6} {:>6} {:>7} {:>9}".format(*head))
    for name, row in rows.items():
        if "error" in row:
            print(f"{name:<12} {row['error']}")
            continue
        cells = [row.get(k) for k in ("load_s", "warm_load_s", "peak_gb", "ttft_s", "ttft_again_s", "decode_tok_s",
                                      "limit_tok_s", "bandwidth_share")]  # fmt: skip
        cells += [row["bytes_per_token"] / 1e9 if row.get("bytes_per_token") else None,
                  row.get("vs_bf16", {}).get("cos")]  # fmt: skip
        print(f"{name:<12} " + " ".join(f"{_cell(c):>{w}}" for c, w in zip(cells, WIDTHS, strict=True)))


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and value < 10 else f"{value:.1f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--paths", help=f"comma-separated, from {', '.join(PATHS)}")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "bench" / ".fullsize")
    parser.add_argument("--no-warm", action="store_true", help="skip the second (warm) load")
    parser.add_argument("--patience", type=float, default=600, help="seconds to wait for enough free memory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("full", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    from fullsize_checkpoint import write_checkpoint

    if not (args.checkpoint / "config.json").is_file():  # written last: a half-written one is rewritten
        write_checkpoint(args.checkpoint)
    names = args.paths.split(",") if args.paths else list(CPU_PATHS if args.device == "cpu" else CUDA_PATHS)
    unknown = [n for n in names if n not in PATHS]
    if unknown:
        raise SystemExit(f"Unknown path(s) {', '.join(unknown)}: choose from {', '.join(PATHS)}.")
    bandwidth = measure_bandwidth(args.device)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="heron-fullsize-") as tmp:
        for name in names:
            print(f"-- {name} (load average {os.getloadavg()[0]:.1f})", flush=True)
            rows[name] = run_path(args, name, Path(tmp))
            print(json.dumps({name: rows[name]}), flush=True)
        compare_logits(rows, Path(tmp))
    add_bandwidth_share(rows, bandwidth)
    print_table(rows, args.device, bandwidth)
    keys = ("load_s", "warm_load_s", "peak_gb", "ttft_s", "ttft_again_s", "decode_tok_s", "bandwidth_share")
    summary = {
        n: ({k: r.get(k) for k in keys} if "error" not in r else {"error": r["error"]})
        for n, r in rows.items()
    }
    print(json.dumps({"bench": "fullsize", "device": args.device, "bandwidth_gb_s": round(bandwidth / 1e9, 1),
                      "paths": summary, "details": rows}))  # fmt: skip
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "fullsize"
    sys.exit(main())
