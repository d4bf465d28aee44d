"""``heron serve`` and the remote engine: a real server process on localhost, the tiny model."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.engines.remote import RemoteEngine
from engine.events import Done, Error, TextDelta
from engine.requests import AskRequest, ModelChoice, TurnSpec
from engine.runtime.host import ModelHost
from engine.runtime.process import handle
from engine.runtime.protocol import Ask
from tests import media
from tests.cli import heron

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-token-1234"


class Server:
    """``heron serve`` in a child process, on a free port of 127.0.0.1."""

    def __init__(self, model: Path, home: Path, *options: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--device", "cpu",
                   "--precision", "fp32", "--port", str(self.port), "--token", TOKEN, *options]  # fmt: skip
        env = {**os.environ, "HERON_HOME": str(home)}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not self._healthy():
            assert self.process.poll() is None, f"heron serve exited: {self.process.stderr.read()}"
            assert time.monotonic() < deadline, "heron serve did not come up"
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return self.health().status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.url}/health", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2)

    def engine(self) -> RemoteEngine:
        return RemoteEngine(self.url, TOKEN)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    running = Server(
        tiny_model, tmp_path_factory.mktemp("serve-home"), "--queue-depth", "2", "--max-request-mb", "16"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    samples = media.speech("The bell rang twice and then the dog barked.")
    return media.write_wav(tmp_path_factory.mktemp("rec") / "talk.wav", samples, 16000)


def choice(model: Path) -> ModelChoice:
    return ModelChoice(str(model), "/nonexistent", "fp32", "cpu")


def ask(engine, turns, model: Path, tokens: int = 16) -> list:
    return list(engine.ask(AskRequest(tuple(turns), choice(model), tokens)))


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_an_answer_through_the_server_is_the_local_answer(server, tiny_model, recording):
    turns = [TurnSpec("What happens?", str(recording))]
    local = list(handle(ModelHost(), Ask(1, AskRequest(tuple(turns), choice(tiny_model), 16)), lambda: False))
    remote = ask(server.engine(), turns, tiny_model)
    assert not [e for e in remote if isinstance(e, Error)], remote
    assert sum(isinstance(e, TextDelta) for e in remote) > 1, "the answer streams in pieces"
    assert text_of(remote) == text_of(local)
    done = remote[-1]
    assert isinstance(done, Done) and done.stats["ttft_s"] > 0 and done.stats["new_tokens"] == 16


def test_a_follow_up_reuses_what_the_server_prefilled(server, tiny_model, recording):
    engine = server.engine()
    first = ask(engine, [TurnSpec("Who speaks?", str(recording))], tiny_model)
    follow_up = ask(
        engine, [TurnSpec("Who speaks?", str(recording), text_of(first)), TurnSpec("Why?")], tiny_model
    )
    assert follow_up[-1].stats["reused_tokens"] > 0, "the resent conversation was recognised"


def test_cancel_closes_the_stream_and_frees_the_server(server, tiny_model, recording):
    engine = server.engine()
    events, started = [], time.monotonic()
    for event in engine.ask(
        AskRequest((TurnSpec("Tell me all.", str(recording)),), choice(tiny_model), 4000)
    ):
        events.append(event)
        if isinstance(event, TextDelta) and len(events) == 3:
            engine.cancel()
    assert events[-1] == Done.cancelled() and time.monotonic() - started < 30
    deadline = time.monotonic() + 5
    while server.health().json()["queue"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.health().json()["queue"] == 0, "the disconnect ended the answer on the server"
    assert isinstance(ask(engine, [TurnSpec("Still there?")], tiny_model)[-1], Done)


def test_refusals_are_one_clear_line_each(server, tmp_path):
    url = f"{server.url}/v1/chat/completions"
    noise = base64.b64encode(b"this is not audio at all" * 10).decode()
    question = {
        "role": "user",
        "content": [{"type": "input_audio", "input_audio": {"data": noise, "format": "wav"}}],
    }
    body = {"messages": [question]}
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bad = httpx.post(url, json=body, headers=auth)
    assert bad.status_code == 400 and "uploaded audio" in bad.json()["error"]["message"]
    assert "Traceback" not in bad.text and TOKEN not in bad.text
    huge = {"messages": [{"role": "user", "content": "x" * (17 * 2**20)}]}
    too_big = httpx.post(url, json=huge, headers=auth)
    assert too_big.status_code == 413 and "16 MB" in too_big.json()["error"]["message"]
    unknown = httpx.post(
        url, json={"model": "gpt-9", "messages": [{"role": "user", "content": "Hi"}]}, headers=auth
    )
    assert unknown.status_code == 404 and "/v1/models" in unknown.json()["error"]["message"]


def test_concurrent_clients_are_answered_or_refused_with_503(server, tiny_model):
    outcomes: list = []

    def client() -> None:
        events = ask(server.engine(), [TurnSpec("Count to ten.")], tiny_model, tokens=200)
        outcomes.append(events[-1])

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 8
    answered = [o for o in outcomes if isinstance(o, Done)]
    refused = [o for o in outcomes if isinstance(o, Error)]
    assert answered and all(o.kind == "busy" and "HTTP 503" in o.message for o in refused)
    assert server.health().json() == {**server.health().json(), "queue": 0, "engine": "ready"}


def test_a_server_killed_mid_answer_gives_a_clear_error(tiny_model, tmp_path, recording):
    doomed = Server(tiny_model, tmp_path / "home")
    engine, events = doomed.engine(), []
    try:
        for event in engine.ask(
            AskRequest((TurnSpec("Tell me all.", str(recording)),), choice(tiny_model), 4000)
        ):
            events.append(event)
            if len(events) == 3:
                os.kill(doomed.process.pid, signal.SIGKILL)
    finally:
        doomed.stop()
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "server" and "ask again" in error.message
    again = ask(engine, [TurnSpec("Hello?")], tiny_model)
    assert isinstance(again[-1], Error) and "cannot be reached" in again[-1].message


def test_the_window_answers_through_the_server_as_it_does_locally(app, qtbot, server, tiny_model, recording):
    from app.engine_choice import check_server

    window, controller = app
    status = check_server(server.url, TOKEN)
    assert status.startswith("✓") and tiny_model.name in status
    assert check_server(server.url, "wrong").startswith("✗")
    controller.apply_settings({"engine": "server", "server_url": server.url, "server_token": TOKEN})
    assert isinstance(controller.engine, RemoteEngine) and controller.shared.engine is controller.engine
    panel = controller.open_models()  # the model manager lists what the server serves
    qtbot.waitUntil(lambda: [row.name for row in panel.dialog.rows()] == [tiny_model.name], timeout=10_000)
    assert all(row.installed and not row.importable for row in panel.dialog.rows())
    panel.dialog.close()
    window.recording_chosen.emit(str(recording))
    qtbot.waitUntil(lambda: controller.recording == str(recording), timeout=20_000)
    controller.ask("What happens?")
    qtbot.waitUntil(lambda: not controller.bridge.busy and controller.turn_view is None, timeout=60_000)
    question = AskRequest((TurnSpec("What happens?", str(recording)),), choice(tiny_model), 12)
    local = text_of(handle(ModelHost(), Ask(1, question), lambda: False))
    assert window.chat.current.answer_text == local
    (turn,) = controller.store.get_conversation(controller.conversation_id).turns
    assert turn.state.value == "done" and turn.answer == local


@pytest.mark.slow
def test_eight_clients_for_a_minute_leave_the_server_healthy_and_its_memory_bounded(server, tiny_model):
    def rss_mb() -> float:
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024

    outcomes: list = []
    stop_at = time.monotonic() + 60

    def client(n: int) -> None:
        engine = server.engine()
        while time.monotonic() < stop_at:
            outcomes.append(ask(engine, [TurnSpec(f"Client {n}: count to ten.")], tiny_model, tokens=32)[-1])
            time.sleep(0.05)

    ask(server.engine(), [TurnSpec("Warm up.")], tiny_model)
    before = rss_mb()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    answered = sum(isinstance(o, Done) for o in outcomes)
    refused = [o for o in outcomes if isinstance(o, Error)]
    assert answered > 8 and all(o.kind == "busy" for o in refused), {o.message for o in refused}
    assert server.health().json()["queue"] == 0
    assert rss_mb() - before < 150, f"the server grew from {before:.0f} to {rss_mb():.0f} MB"


@pytest.mark.slow
def test_a_three_hour_recording_goes_up_window_by_window(server, tmp_path):
    from tests.test_longform_cli import HOURS, write_three_hours

    recording = write_three_hours(tmp_path / "meeting.wav")
    result = heron("ask", str(recording), "What is discussed?", "--think", "--json", "--server", server.url,
                   "--max-new-tokens", "8", timeout=1500, env={"HERON_SERVER_TOKEN": TOKEN,
                                                               "HERON_HOME": str(tmp_path)})  # fmt: skip
    assert result.status == 0, result.stderr
    done = result.events[-1]
    assert done["type"] == "done" and done["stats"]["windows"] >= 6  # each window within the server's limit
    stages = {e["stage"] for e in result.events if e["type"] == "progress"}
    assert {"plan_windows", "windows"} <= stages
    window_steps = [e for e in result.events if e["type"] == "step" and e["text"].startswith("Part ")]
    assert [round(e["start_s"]) for e in window_steps][:1] == [0]
    assert max(e["end_s"] for e in window_steps) == pytest.approx(HOURS * 3600, abs=1)
