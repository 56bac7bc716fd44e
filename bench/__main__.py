"""Run every benchmark in turn: ``python -m bench [--records N] [--repeat K]`` (arguments go to each)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import codec, transport

BENCHES: dict[str, Callable[[Sequence[str] | None], int]] = {"codec": codec.main, "transport": transport.main}


def main(argv: Sequence[str] | None = None) -> int:
    """Run each benchmark with ``argv``; the exit status is the worst of theirs."""
    return max(bench(argv) for bench in BENCHES.values())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
