"""The trainer learns a real (if small) audio task: counting 1–3 beeps in 2–8 s clips.

Runs bench/train_demo.py with its defaults and a fixed seed: a random model of the AF-Next
architecture, LoRA through ``engine.trainer.train``, greedy answers through ``generate`` on
200 held-out clips. About 7 minutes on a quiet 2-core CPU (6 of them training), longer on a
busy one.
"""

from __future__ import annotations

import pytest

from bench import train_demo


@pytest.mark.slow
def test_counting_beeps_reaches_90_percent(tmp_path):
    result = train_demo.main(["--seed", "0", "--work", str(tmp_path)])
    assert result["accuracy_before"] < 0.5  # chance is 1/3
    assert result["accuracy_after"] >= 0.90
