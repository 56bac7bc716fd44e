"""The mediator's peak memory as the township grows: state lives in SQL, so RSS should stay flat.

``python -m bench.mediator_memory [--residents 100000 1000000] [--seed 7] [--work-dir DIR]``

For each size: generate a township, publish every source on a fresh embedded bus (in this process),
then run ``exchange run mediator`` as a child process until the group has no lag and no entity waits
for evaluation, stop it with SIGTERM, and read its peak resident set size (``VmHWM`` from
``/proc/<pid>/status``, sampled while it runs; the kernel keeps the maximum). Results go to
``bench/results/mediator-memory-<UTC timestamp>.json`` with a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.machine import describe
from exchange.bus import transport_for
from exchange.cli.pipeline import Progress, open_state_and_bus, run_adapters
from exchange.clock import today_local
from exchange.mediator import GROUP
from exchange.settings import Settings, load_settings
from exchange.state import StateStore
from exchange.state.tables import entity_facts, forms, pending_evaluations
from exchange.topics import load_topics
from exchange.township import generate_township

RESULTS_DIR = Path(__file__).parent / "results"


def vm_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def lag(settings: Settings) -> int:
    total = 0
    with transport_for(settings) as transport:
        for name, spec in load_topics().items():
            if spec.entity is None or name not in transport.topics():
                continue
            committed = transport.committed_offsets(GROUP, name)
            total += sum(end - committed.get(p, 0) for p, end in transport.end_offsets(name).items())
    return total


def counts(settings: Settings) -> dict[str, int]:
    store = StateStore(settings.state_url)
    try:
        with store.engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (entity_facts, forms, pending_evaluations)}
    finally:
        store.close()


def measure(residents: int, seed: int, work_dir: Path) -> dict[str, Any]:
    data_dir = work_dir / f"town-{residents}"
    shutil.rmtree(data_dir, ignore_errors=True)
    started = time.monotonic()
    generate_township(data_dir, residents=residents, seed=seed, as_of=today_local())
    generated = time.monotonic()
    settings = load_settings(data_dir=data_dir, bus_url=f"embedded:///{data_dir / 'bus.db'}",
                             state_url=f"sqlite:///{data_dir / 'state.db'}")
    store, bus = open_state_and_bus(settings)
    try:
        published = sum(run.published for run in run_adapters(bus, store, data_dir, Progress()))
    finally:
        bus.close()
        store.close()
    adapters_done = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    child = subprocess.Popen([sys.executable, "-m", "exchange", "run", "mediator", "--data-dir", str(data_dir)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    samples: list[tuple[float, int]] = []  # (seconds, VmRSS KiB): RSS over time shows whether it is flat
    peak = 0
    try:
        while True:
            time.sleep(1.0)
            if child.poll() is not None:
                raise RuntimeError(f"the mediator exited with {child.returncode}: {child.stdout.read()[-2000:]!r}")
            rss, hwm = vm_kib(child.pid, "VmRSS"), vm_kib(child.pid, "VmHWM")
            peak = max(peak, hwm or 0)
            samples.append((round(time.monotonic() - adapters_done, 1), rss or 0))
            if lag(settings) == 0 and counts(settings)["pending_evaluations"] == 0:
                break
        peak = max(peak, vm_kib(child.pid, "VmHWM") or 0)
    finally:
        child.send_signal(signal.SIGTERM)
        output = child.communicate(timeout=120)[0].decode(errors="replace")
    finished = time.monotonic()
    result = {
        "residents": residents, "records_published": published, "peak_rss_mib": round(peak / 1024, 1),
        "rss_mib_over_time": [(t, round(kib / 1024, 1)) for t, kib in samples[:: max(1, len(samples) // 40)]],
        "state_rows": counts(settings), "mediator_output": output.strip().splitlines()[-1:],
        "seconds": {"generate": round(generated - started, 1), "publish": round(adapters_done - generated, 1),
                    "mediator": round(finished - adapters_done, 1)},
    }
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, help="where townships are built (default: a temporary folder)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON result goes")
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="mediator-memory-"))
    runs = []
    for residents in args.residents:
        run = measure(residents, args.seed, work_dir)
        runs.append(run)
        print(f"{residents:>9,} residents  {run['records_published']:>10,} records  "
              f"peak RSS {run['peak_rss_mib']:>7.1f} MiB  seconds {run['seconds']}", flush=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"mediator-memory-{stamp}.json"
    path.write_text(json.dumps({"machine": describe(), "runs": runs}, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
