"""Records/s of ``AvroCodec`` against bare fastavro on the same Resident records, in one run.

    .venv/bin/python -m bench.codec [--records N] [--repeat K]

Encode compares ``AvroCodec.encode`` (header + body) with ``schemaless_writer`` into a fresh BytesIO;
decode compares ``AvroCodec.decode`` (header parse, registry lookup by id, strict read) with
``schemaless_reader`` over the bare body. The ratio ours/raw is the codec's overhead; the target is 0.8.
Results go to ``bench/results/codec-<UTC timestamp>.json`` with a description of the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import load_schema
from rich.console import Console
from rich.table import Table

from bench.machine import describe
from exchange.codec import HEADER, AvroCodec
from exchange.identity import make_resident_id
from exchange.registry import RegisteredSchema, SchemaRegistry
from schemas import AVRO_DIR

RESULTS_DIR = Path(__file__).parent / "results"
RESIDENT = "gov.exchange.public_security.Resident"
TARGET_RATIO = 0.8
WARMUP_RECORDS = 5_000

# Fumin County (530124): its townships' division codes and a few of their villages.
_TOWNSHIPS = {
    "530124101": ("永定街道", ["大营村委会", "河东社区", "西山村委会", "永定社区"]),
    "530124102": ("大营街道", ["小营村委会", "石桥村委会", "大营社区"]),
    "530124103": ("罗免镇", ["罗免村委会", "白马村委会", "麦竜村委会"]),
    "530124104": ("赤鹫镇", ["赤鹫村委会", "小鹫村委会"]),
    "530124105": ("东村镇", ["东村村委会", "新村村委会", "高桥村委会"]),
}
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_GIVEN = ["桂英", "秀兰", "建华", "志强", "丽娟", "国平", "玉梅", "海燕", "文", "明", "芳", "伟", "静", "磊", "婷",
          "子涵", "浩然", "雨桐", "思远", "金凤", "德明", "红梅", "永福", "春花", "家豪"]
# Mostly Han (01), then the county's larger minorities: Yi (07), Miao (06), Hui (03), Bai (14), Lisu (20).
_ETHNICITIES = ["01"] * 80 + ["07"] * 10 + ["06"] * 4 + ["03"] * 3 + ["14"] * 2 + ["20"]
_RELATIONSHIPS = ["HEAD"] * 30 + ["SPOUSE"] * 25 + ["CHILD"] * 30 + ["GRANDCHILD"] * 6 + ["PARENT"] * 4 + [
    "GRANDPARENT", "SIBLING", "OTHER_RELATIVE", "NON_RELATIVE"]
_STATUSES = ["ACTIVE"] * 94 + ["MOVED_OUT"] * 4 + ["DECEASED"] * 2
_EPOCH = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def schema_file_registry(avro_dir: Path = AVRO_DIR) -> SchemaRegistry:
    """An in-memory registry holding every schema file of ``avro_dir``, each under its own full name.

    Only ``SchemaRegistry()``, ``register`` and ``by_id`` are used, so the bench does not depend on how the
    standards are registered, while the registry is as full as the bus's.
    """
    registry = SchemaRegistry()
    for path in sorted(avro_dir.glob("*.avsc")):
        registry.register(path.stem, dict(load_schema(str(path), _write_hint=False)))
    return registry


def resident_records(count: int, seed: int = 20260301) -> list[dict[str, Any]]:
    """``count`` valid, varied Resident records as the public-security adapter produces them (seeded).

    They carry Resident v2's optional ``phone`` (set for about two residents in three).
    """
    rng = random.Random(seed)
    townships = list(_TOWNSHIPS.items())
    records = []
    for n in range(count):
        township_code, (township, villages) = rng.choice(townships)
        village_no = rng.randrange(len(villages))
        division = f"{township_code}{village_no + 1:03d}"
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 95))
        sequence = rng.randrange(1, 1000)
        number = make_resident_id("530124", birth, sequence)
        # Millisecond precision: timestamp-millis keeps no more, so records survive a round trip unchanged.
        event = _EPOCH - timedelta(milliseconds=rng.randrange(86_400_000 * 365))
        ingest = event + timedelta(milliseconds=rng.randrange(1, 86_400_000))
        records.append({
            "meta": {
                "source_department": "PUBLIC_SECURITY",
                "source_record_id": f"GA{event:%Y}{n:08d}",
                "event_time": event,
                "ingest_time": ingest,
                "operation": "DELETE" if rng.random() < 0.01 else "UPSERT",
            },
            "resident_id": number,
            "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
            "sex": "FEMALE" if sequence % 2 == 0 else "MALE",
            "ethnicity": rng.choice(_ETHNICITIES),
            "birth_date": birth,
            "household_id": f"{division[:9]}{rng.randrange(10**7):07d}",
            "relationship_to_head": rng.choice(_RELATIONSHIPS),
            "registered_address": f"云南省昆明市富民县{township}{villages[village_no]}"
                                  f"{rng.choice('上下中前后新老')}村组{rng.randrange(1, 200)}号",
            "division_code": division,
            "grid_code": f"{division}{rng.randrange(1, 20):02d}",
            "status": rng.choice(_STATUSES),
            "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.65 else None,
        })
    return records


def _best_seconds(runs: Sequence[Callable[[], None]], repeat: int) -> list[float]:
    """Best wall time of each callable over ``repeat`` interleaved rounds (so drift hits them alike)."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            gc.collect()
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def measure(records: list[dict[str, Any]], repeat: int = 3) -> dict[str, Any]:
    """Records/s for raw and codec encode and decode over ``records``, best of ``repeat`` after a warm-up."""
    registry = schema_file_registry()
    schema: RegisteredSchema = registry.latest(RESIDENT)
    codec = AvroCodec(registry)
    parsed = schema.parsed
    fields = {f["name"] for f in schema.schema["fields"]}
    records = [{k: v for k, v in r.items() if k in fields} for r in records]  # v1 of the standard has no phone
    payloads = [codec.encode(schema, r) for r in records]
    bodies = [p[HEADER.size :] for p in payloads]
    if codec.decode(payloads[0]) != (schema, records[0]):
        raise RuntimeError("a Resident record changed in a round trip: the benchmark would measure the wrong thing")

    # Each loop has the same shape, so the difference between raw and ours is the codec's own work.
    def raw_encode(batch: list[dict[str, Any]] = records) -> None:
        for record in batch:
            out = BytesIO()
            schemaless_writer(out, parsed, record)
            out.getvalue()

    def our_encode(batch: list[dict[str, Any]] = records) -> None:
        encode = codec.encode
        for record in batch:
            encode(schema, record)

    def raw_decode(batch: list[bytes] = bodies) -> None:
        for body in batch:
            schemaless_reader(BytesIO(body), parsed)

    def our_decode(batch: list[bytes] = payloads) -> None:
        decode = codec.decode
        for payload in batch:
            decode(payload)

    raw_encode(records[:WARMUP_RECORDS])
    our_encode(records[:WARMUP_RECORDS])
    raw_decode(bodies[:WARMUP_RECORDS])
    our_decode(payloads[:WARMUP_RECORDS])

    seconds = _best_seconds([raw_encode, our_encode, raw_decode, our_decode], repeat)
    rates = [len(records) / s for s in seconds]
    return {
        "encode": {"raw_records_per_s": rates[0], "ours_records_per_s": rates[1], "ratio": rates[1] / rates[0]},
        "decode": {"raw_records_per_s": rates[2], "ours_records_per_s": rates[3], "ratio": rates[3] / rates[2]},
        "payload_bytes_mean": sum(map(len, payloads)) / len(payloads),
        "schema_id": schema.id,
        # by_id is part of every decode, so where the registry keeps its versions shows in the decode ratio
        "registry_store": type(getattr(registry, "store", registry)).__name__,
        "schema_fields": [f["name"] for f in schema.schema["fields"]],
    }


def render(results: dict[str, Any], records: int, repeat: int, console: Console) -> None:
    """The results as a table: records/s of each path and the ratio ours/raw against the target."""
    table = Table(title=f"AvroCodec vs fastavro — {records:,} Resident records, best of {repeat}")
    table.add_column("operation")
    table.add_column("raw fastavro rec/s", justify="right")
    table.add_column("AvroCodec rec/s", justify="right")
    table.add_column("ours/raw", justify="right")
    table.add_column(f"target ≥ {TARGET_RATIO}", justify="center")
    for op in ("encode", "decode"):
        row = results[op]
        ok = row["ratio"] >= TARGET_RATIO
        table.add_row(op, f"{row['raw_records_per_s']:,.0f}", f"{row['ours_records_per_s']:,.0f}",
                      f"{row['ratio']:.3f}", "[green]met[/]" if ok else "[red]missed[/]")
    console.print(table)
    console.print(f"mean payload: {results['payload_bytes_mean']:.1f} bytes")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON result; 0 always (a benchmark, not a gate)."""
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records per timed run (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per operation; the best counts")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON result goes")
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeat < 1:
        parser.error("--records and --repeat must be positive")

    console = Console()
    started = datetime.now(UTC)
    records = resident_records(args.records)
    results = measure(records, args.repeat)
    render(results, args.records, args.repeat, console)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"codec-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "codec",
        "started_at": started.isoformat(timespec="seconds"),
        "records": args.records,
        "schema": RESIDENT,
        "timing": f"best of {args.repeat} interleaved runs after a {min(WARMUP_RECORDS, args.records)}-record "
                  "warm-up, time.perf_counter",
        "target_ratio": TARGET_RATIO,
        "machine": describe(),
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
