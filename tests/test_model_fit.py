"""Choosing the precision and device by memory, in figures: the published AF-Next on machines
of a few sizes, the refusal and its ways out, the speed to expect, and the model manager's advice."""

from __future__ import annotations

import pytest

from engine.errors import OutOfMemoryError
from engine.model import fit
from engine.model.fit import Machine, choose, published_figures

GB = 10**9


def cpu(available_gb: float | None, bf16: bool = True) -> Machine:
    return Machine("cpu", None if available_gb is None else int(available_gb * GB), bf16, "RAM")


def gpu(free_gb: float, bf16: bool = True) -> Machine:
    return Machine("cuda", int(free_gb * GB), bf16, "GPU memory on Test GPU")


def af_next(*machines: Machine) -> list[tuple[Machine, fit.ModelFigures]]:
    return [(machine, published_figures(machine.kind, machine.bf16_native)) for machine in machines]


def test_the_kv_cache_of_30_minutes_is_the_published_figure():
    figures = published_figures("cuda")
    assert figures.kv_values_per_token * 2 == 56 * 1024  # 56 KiB a token in bf16
    fit_ = fit.assess(figures, gpu(80), "bf16")
    assert fit_.audio_s == 1800 and fit_.kv_cache == pytest.approx(2.6e9, rel=0.05)


@pytest.mark.parametrize(
    ("machine", "precision", "window_min"),
    [
        (cpu(40), "bf16", 30),  # the whole 30 min window: weights, its KV cache and its prefill
        (cpu(22.5), "bf16", 12.5),  # a 24 GB machine with AMX / AVX-512 BF16: bf16, 12.5 min at a time
        (cpu(22.5, bf16=False), "int8", 10.5),  # no bf16 in hardware: the quantized weights
        (cpu(18), "int8", 19),  # a quantized model's other parts in bf16 where the CPU computes it
        (cpu(14.5), "nf4", 18),  # a 16 GB machine
        (cpu(14.5, bf16=False), "nf4", 2.5),  # ... whose CPU lacks bf16: fp32 parts, short windows
        (gpu(79), "bf16", 30),
        (gpu(23.5), "bf16", 15.5),  # bf16 holding 10 min or more beats int8 holding 30
        (gpu(15), "int8", 11),
        (gpu(11), "nf4", 9),
    ],
)
def test_the_largest_precision_that_fits_is_chosen(machine: Machine, precision: str, window_min: float):
    chosen = choose(af_next(machine))
    assert (chosen.precision, chosen.device, chosen.audio_s) == (precision, machine.device, window_min * 60)
    assert chosen.needed <= machine.available
    assert chosen.shortened == (window_min < 30)


def test_a_prefill_and_a_quantizing_load_are_counted():
    figures = published_figures("cpu", bf16_native=False)
    whole = fit.assess(figures, cpu(40, bf16=False), "nf4")  # fp32 activations on a CPU without bf16
    assert whole.activations == pytest.approx(14.3e9, rel=0.01)  # 30 min and its text: 47,048 tokens × 4 rows
    in_bf16 = fit.assess(published_figures("cpu", bf16_native=True), cpu(40), "nf4")
    assert in_bf16.activations == pytest.approx(whole.activations / 2, rel=0.01)
    assert whole.needed == whole.weights + whole.margin + whole.kv_cache + whole.activations
    short = fit.assess(figures, cpu(40), "nf4", 30)
    assert short.kv_cache + short.activations < fit.LOAD_SPIKE  # loading is then the peak
    assert short.needed == short.weights + short.margin + fit.LOAD_SPIKE
    assert fit.assess(figures, cpu(40), "bf16", 30).load_spike == 0  # bf16 is not quantized on load
    small = fit.ModelFigures({"nf4": 10**8}, 512, 10**8, 1800.0, 2048, largest_tensor=50 * 10**6)
    assert fit.assess(small, cpu(40), "nf4").load_spike == 100 * 10**6  # twice the largest tensor


def test_a_shortened_window_is_said():
    chosen = choose(af_next(cpu(22.5)))
    assert chosen.note == (
        "Memory holds 12.5 min of audio at a time in bf16 on the CPU: "
        "longer recordings are answered 12.5 min at a time."
    )
    assert choose(af_next(cpu(40))).note == ""


def test_an_asked_precision_is_kept_with_a_shorter_window():
    chosen = choose(af_next(gpu(17)), precision="int8")
    assert (chosen.precision, chosen.audio_s) == ("int8", 17.5 * 60)


def test_never_fp32_for_a_7b_model_but_yes_for_a_small_one():
    assert choose(af_next(cpu(200))).precision == "bf16"
    small = fit.ModelFigures({"nf4": 10**6, "int8": 2 * 10**6, "bf16": 4 * 10**6, "fp32": 8 * 10**6}, 512,
                             5 * 10**6, 1800.0)  # fmt: skip
    assert choose([(cpu(4), small)]).precision == "fp32"


def test_a_gpu_without_room_passes_the_model_to_the_cpu():
    chosen = choose(af_next(gpu(6), cpu(22.5)))
    assert (chosen.device, chosen.precision) == ("cpu", "bf16")
    chosen = choose(af_next(gpu(11), cpu(22.5)))  # a GPU holding 9 min beats a CPU holding 12.5
    assert (chosen.device, chosen.precision, chosen.audio_s) == ("cuda", "nf4", 9 * 60)


def test_unknown_free_memory_refuses_nothing():
    assert choose(af_next(cpu(None))).precision == "bf16"


def test_a_16_gb_machine_is_told_what_it_would_need():
    assert choose(af_next(cpu(13))).precision == "nf4"  # bf16 parts: 3.5 GB less than fp32 ones
    with pytest.raises(OutOfMemoryError) as info:
        choose(af_next(cpu(13, bf16=False)))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("The model does not fit in memory: in nf4 on the CPU it needs about 13.3 GB")
    assert "(10.3 GB of weights, 1.5 GB to quantize while loading, 1.5 GB for the runtime)" in message
    assert "but 13.0 GB of RAM is available" in message
    assert message.endswith(
        "Close other programs, or run the model on a GPU machine with `heron serve` and connect with --server."
    )


def test_both_machines_are_in_the_refusal():
    with pytest.raises(OutOfMemoryError) as info:
        choose(af_next(gpu(6), cpu(13, bf16=False)))
    message = str(info.value)
    assert "in nf4 on the GPU it needs about 9.1 GB" in message
    assert "6.0 GB of GPU memory on Test GPU is available; in nf4 on the CPU" in message


def test_a_precision_asked_for_that_does_not_fit_names_the_one_that_does():
    with pytest.raises(OutOfMemoryError) as info:
        choose(af_next(gpu(15)), precision="bf16")
    message = str(info.value)
    assert "in bf16 on the GPU it needs about 18.8 GB" in message
    assert (
        "(16.5 GB of weights, 0.6 GB of KV cache and prefill for 30 s of audio, 1.7 GB for the runtime)"
        in message
    )
    assert (
        "Use --precision int8 (it fits recordings of up to 11 min at a time), close other programs" in message
    )
    assert choose(af_next(gpu(15)), precision="nf4").precision == "nf4"


def test_a_known_short_recording_needs_less_and_a_long_one_is_told_how_much_fits():
    machine = cpu(14, bf16=False)
    assert choose(af_next(machine), audio_s=60).precision == "nf4"
    with pytest.raises(
        OutOfMemoryError, match="for 30 min of audio.*Ask about at most 2 min of audio at a time"
    ):
        choose(af_next(machine), audio_s=3600)  # more than a window counts as a window
    assert choose(af_next(machine), audio_s=2 * 60).precision == "nf4"


@pytest.mark.parametrize(
    ("weight_gb", "device", "speed"),
    [
        (16.5, "cuda", "fast on this GPU"),
        (6.9, "cuda:1", "fast on this GPU"),
        (16.5, "cpu", "slow: under two tokens a second"),
        (10.4, "cpu", "slow: under two tokens a second"),
        (2.0, "cpu", "usable: a few tokens a second"),
        (0.005, "cpu", "fast on this CPU"),
    ],
)
def test_speed_class(weight_gb: float, device: str, speed: str):
    assert fit.speed_class(int(weight_gb * GB), device) == speed


def test_this_machine_can_be_read():
    machine = fit.cpu_machine()
    assert machine.device == "cpu" and isinstance(machine.bf16_native, bool)
    assert machine.available is None or machine.available > 0


# --- the model manager's advice ---------------------------------------------------------------


def test_the_model_manager_recommends_what_the_engine_would_load():
    from app.models_panel import recommend

    model, precision, advice = recommend([cpu(22.5)])
    assert (model, precision) == ("think", "bf16")
    assert advice.startswith("Recommended: AF-Next Think at bf16 on the CPU: it needs about 22.4 GB")
    assert advice.endswith(
        "with room for 12 minutes of audio. Expected speed: slow: under two tokens a second."
    )
    model, precision, advice = recommend([gpu(11), cpu(22.5)])
    assert precision == "nf4" and "on the GPU" in advice and advice.endswith("fast on this GPU.")


def test_the_model_manager_says_when_nothing_fits():
    from app.models_panel import recommend

    model, precision, advice = recommend([cpu(13, bf16=False)])
    assert (model, precision) == ("think", "")
    assert advice.startswith(
        "Recommended: AF-Next Think, but not on this machine as it is. The model does not fit"
    )
    assert "heron serve" in advice
