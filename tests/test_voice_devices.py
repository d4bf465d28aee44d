"""Sound devices on the virtual PulseAudio server: listing, choosing, remembering, falling back."""

from __future__ import annotations

import pytest

from engine.errors import DeviceError
from engine.voice import devices
from engine.voice.devices import DeviceMemory, choose_device, list_devices, resolve_devices
from tests.virtual_sound import sound_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("sound_server")


def test_inputs_and_outputs_are_listed():
    inputs, outputs = list_devices("input"), list_devices("output")
    assert any(d.name == "pulse" for d in inputs)
    assert any(d.name == "pulse" for d in outputs)
    assert all(d.max_inputs > 0 for d in inputs) and all(d.max_outputs > 0 for d in outputs)
    assert sum(d.is_default for d in inputs) == 1
    assert all(d.default_rate > 0 for d in inputs + outputs)


def test_choose_by_name_part_of_a_name_or_index():
    pulse = next(d for d in list_devices("input") if d.name == "pulse")
    assert choose_device("input", "pulse").device == pulse
    assert choose_device("input", "PULS").device == pulse
    assert choose_device("input", pulse.index).device == pulse
    assert choose_device("input", str(pulse.index)).device == pulse


def test_no_choice_is_the_default():
    choice = choose_device("output")
    assert choice.device.is_default and choice.notice is None


def test_a_device_asked_for_but_absent_is_an_error_naming_the_available_ones():
    with pytest.raises(DeviceError, match="No microphone 'USB Headset' is connected. Available: .*pulse"):
        choose_device("input", "USB Headset")
    with pytest.raises(DeviceError, match="No speaker"):
        choose_device("output", 999)


def test_an_ambiguous_name_is_an_error():
    if sum("ul" in d.name for d in list_devices("input")) < 2:
        pytest.skip("needs two devices whose names share a part")  # pragma: no cover
    with pytest.raises(DeviceError, match="matches several"):
        choose_device("input", "ul")


def test_the_choice_is_remembered_and_a_vanished_one_falls_back_with_a_notice(tmp_path):
    mic, speaker = resolve_devices(tmp_path, "pulse", "pulse")
    memory = DeviceMemory(tmp_path)
    assert memory.load() == {"input": "pulse", "output": "pulse"}
    again, _ = resolve_devices(tmp_path)  # nothing asked: the remembered one
    assert again.device == mic.device and again.notice is None
    memory.path.write_text('{"input": "Studio Mic 3000", "output": "pulse"}', encoding="utf-8")
    fallback, out = resolve_devices(tmp_path)
    assert fallback.device.is_default
    assert "Studio Mic 3000" in fallback.notice and "not connected" in fallback.notice
    assert out.notice is None


def test_a_damaged_settings_file_is_ignored(tmp_path):
    (tmp_path / devices.SETTINGS_FILE).write_text("{not json", encoding="utf-8")
    assert DeviceMemory(tmp_path).load() == {}
    choice, _ = resolve_devices(tmp_path)
    assert choice.device.is_default


def test_no_device_at_all_says_what_to_connect(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", lambda kind=None: [])
    with pytest.raises(DeviceError, match="No microphone found: connect one"):
        choose_device("input")
    with pytest.raises(DeviceError, match="No speaker or headphones found"):
        choose_device("output")
