"""``duress mqtt-config``, and a real Mosquitto run on the files it writes."""

from __future__ import annotations

import contextlib
import shutil
import socket
import stat
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
import typer
import yaml
from typer.testing import CliRunner

from duress.cli.mqtt import register

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test harness."""

    register(app)
    return app


def generate(out: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        cli(), ["mqtt-config", "--site", str(SITE), "--out", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    return yaml.safe_load((out / "credentials.yaml").read_text())


def test_it_writes_the_four_files_and_keeps_secrets_secret(tmp_path: Path) -> None:
    credentials = generate(tmp_path)
    assert stat.S_IMODE((tmp_path / "credentials.yaml").stat().st_mode) == 0o600
    assert (
        set(credentials["gateways"])
        == {
            "gw-f1-1",
            "gw-f1-2",
            "gw-f1-3",
            "gw-f2-1",
            "gw-f2-2",
            "gw-f2-3",
            "gw-f3-1",
            "gw-f3-2",
            "gw-f3-3",
        }
        or len(credentials["gateways"]) == 9
    )
    passwd = (tmp_path / "passwd").read_text()
    assert "duress-mercy-general:$7$101$" in passwd
    for gateway in credentials["gateways"].values():
        assert gateway["password"] not in passwd
    assert "allow_anonymous false" in (tmp_path / "mosquitto.conf").read_text()
    again = generate(tmp_path)
    assert again["gateways"] == credentials["gateways"]


def test_a_site_that_does_not_load_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli(), ["mqtt-config", "--site", str(tmp_path / "none.yaml"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mosquitto(config: Path) -> Iterator[None]:
    """Mosquitto on the generated configuration, until the test ends."""
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.PIPE, text=True)
    listening = threading.Event()
    lines: list[str] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "Opening ipv4 listen socket" in line:
                listening.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert listening.wait(10), "".join(lines)
        yield
    finally:
        process.terminate()
        process.wait(10)
        watcher.join(10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[int, dict]]:
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    port = free_port()
    # Run as root: pytest's temporary folders are not readable by the `mosquitto` account.
    credentials = generate(tmp_path, "--port", str(port), "--bind", "127.0.0.1", "--run-as", "root")
    with mosquitto(tmp_path / "mosquitto.conf"):
        yield port, credentials


@contextlib.asynccontextmanager
async def login(port: int, username: str, password: str) -> AsyncIterator[aiomqtt.Client]:
    client = aiomqtt.Client(
        "127.0.0.1", port, username=username, password=password, identifier=uuid.uuid4().hex
    )
    async with client:
        yield client


@pytest.mark.mqtt
async def test_gateways_publish_only_with_their_password_and_only_under_their_topics(
    broker: tuple[int, dict],
) -> None:
    port, credentials = broker
    server = credentials["server"]
    gw1, gw2 = credentials["gateways"]["gw-f1-1"], credentials["gateways"]["gw-f1-2"]
    root = "duress/mercy-general/gw"
    async with login(port, server["username"], server["password"]) as listener:
        await listener.subscribe(f"{root}/#", qos=1)
        async with login(port, gw1["username"], gw1["password"]) as gateway:
            await gateway.publish(f"{root}/gw-f1-2/buttons", b"forged", qos=1)
            await gateway.publish(f"{root}/gw-f1-1/buttons", b"mine", qos=1)
        async with login(port, gw2["username"], gw2["password"]) as gateway:
            await gateway.publish(f"{root}/gw-f1-2/buttons", b"theirs", qos=1)
        received = []
        async for message in listener.messages:
            received.append((message.topic.value, message.payload))
            if len(received) == 2:
                break
    # The forged message was published first on the same connection: had it passed, it would
    # have arrived before "mine".
    assert received == [
        (f"{root}/gw-f1-1/buttons", b"mine"),
        (f"{root}/gw-f1-2/buttons", b"theirs"),
    ]
    with pytest.raises(
        aiomqtt.MqttError, match=r"[Nn]ot authori[sz]ed|[Bb]ad user name or password"
    ):
        async with login(port, gw1["username"], "wrong password"):
            pass
