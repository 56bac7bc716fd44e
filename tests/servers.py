"""Running `exchange` as a real process for HTTP tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from connectors.tansu import free_port

__all__ = ["EXCHANGE", "clean_env", "free_port", "running"]

EXCHANGE = [sys.executable, "-m", "exchange"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the developer's EXCHANGE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(extra)
    return env


@contextmanager
def running(args: list[str], cwd: Path, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``exchange *args`` until its /healthz answers; yield its base URL; stop it afterwards."""
    log = cwd / f"exchange-{port}.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen([*EXCHANGE, *args], cwd=cwd, env=env or clean_env(),
                                  stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, f"exchange {' '.join(args)} did not start serving"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def demo_township(folder: Path, residents: int, seed: int) -> Path:
    """Run `exchange demo --no-serve` into ``folder/town`` and return that data folder."""
    town = folder / "town"
    demo = subprocess.run([*EXCHANGE, "demo", "--residents", str(residents), "--seed", str(seed), "--data-dir",
                           str(town), "--no-serve"], cwd=folder, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr
    return town


@contextmanager
def served_demo(folder: Path, residents: int, seed: int) -> Iterator[tuple[str, Path]]:
    """A demo township's state served by `exchange serve`: its base URL and the data folder."""
    town = demo_township(folder, residents, seed)
    port = free_port()
    with running(["serve", "--port", str(port), "--data-dir", str(town)], folder, port) as base:
        yield base, town
