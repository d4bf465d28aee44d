"""heron doctor on a machine with an NVIDIA driver but a CPU-only PyTorch: it names the CUDA build."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime import doctor


def cuda_check(monkeypatch: pytest.MonkeyPatch, *, driver: bool, torch_cuda: str | None) -> doctor.Check:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", torch_cuda)
    monkeypatch.setattr(doctor, "nvidia_driver_present", lambda: driver)
    return next(c for c in doctor.run_checks(Path("/nonexistent")) if c.name == "CUDA GPU")


def test_a_driver_with_a_cpu_torch_points_to_the_cuda_build(monkeypatch: pytest.MonkeyPatch):
    check = cuda_check(monkeypatch, driver=True, torch_cuda=None)
    assert check.status == doctor.WARN and "CPU-only build" in check.detail
    assert "pipx install heron" in check.fix and "cuda bundle" in check.fix


def test_no_driver_says_the_cpu_is_used(monkeypatch: pytest.MonkeyPatch):
    check = cuda_check(monkeypatch, driver=False, torch_cuda=None)
    assert "none found" in check.detail
