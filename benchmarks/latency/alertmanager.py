"""Prometheus Alertmanager beside Duress: found on the PATH, configured, started and stopped here.

The Debian package ``prometheus-alertmanager`` (``make bench`` installs it when it can) ships the binary
as ``prometheus-alertmanager``; upstream builds call it ``alertmanager``. The configuration pages
one webhook at once for every new group: ``group_by: [bench_id]`` (each benchmark alert has its own
``bench_id``, so each is a new group), ``group_wait: 0s``, ``group_interval: 1s``, and a webhook
receiver (``send_resolved: false``) pointing at the benchmark's receiver. Clustering is off
(``--cluster.listen-address=``), it listens on 127.0.0.1 only, and keeps its state in a temporary
folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

BINARIES = ("prometheus-alertmanager", "alertmanager")

CONFIG = """\
route:
  receiver: bench
  group_by: [bench_id]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: bench
    webhook_configs:
      - url: {url}
        send_resolved: false
"""


def find_binary() -> str | None:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Alertmanager:
    def __init__(self, binary: str, folder: Path, webhook_url: str) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        (folder / "alertmanager.yml").write_text(CONFIG.format(url=webhook_url))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "alertmanager.log", "wb"),  # noqa: SIM115  # closed with the process
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "alertmanager.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"alertmanager exited with {self.process.returncode}: {log}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"alertmanager was not ready within {timeout_s:g} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None
