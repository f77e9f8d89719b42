"""Every parser of what others wrote, fuzzed: per parser, the inputs tried, the crashes and the
slowest input.

    .venv/bin/python bench/fuzz_all.py                      # 10,000 inputs each, the usual seed
    .venv/bin/python bench/fuzz_all.py --inputs 1000 --only profile --seed 7

The inputs are bench/fuzz_targets.py's (the firewall's readers: bench/fuzz_firewall.py's, from
bench/firewall_corpus.py): seeds (sound inputs) under random edits, some random
bytes, and for results.json files with values swapped for junk; seeded, so a run is the same
inputs every time (each parser's own stream: ``--only`` changes no other's). A crash is an
exception out of the parser or a broken contract (an internal decoder error, a ProfileError of
two lines, a timing of inf taken…). Prints figures and asserts nothing; the exit status is 1
when anything crashed or took a second. No sockets, no root, nothing sent.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fuzz_firewall import FIREWALL_TARGETS  # noqa: E402
from bench.fuzz_targets import FUZZ_SEED, TARGETS, Broken, Target  # noqa: E402

SLOW_S = 1.0
SHOWN = 3  # crashes shown per parser


def fuzz(target: Target, inputs: int, seed: int) -> tuple[int, list[str], float, bytes]:
    """(inputs tried, one line per crash, the slowest input's seconds, that input)."""
    import random

    rng = random.Random(seed ^ zlib.crc32(target.name.encode()))
    crashes: list[str] = []
    slowest, worst = 0.0, b""
    for data in target.inputs(rng, inputs):
        before = time.perf_counter()
        try:
            target.run(data)
        except Broken as exc:
            crashes.append(f"broken contract: {exc} <- {data[:80]!r}")
        except Exception as exc:  # what the property tests forbid: counted here, not raised
            crashes.append(f"{type(exc).__name__}: {str(exc)[:120]} <- {data[:80]!r}")
        took = time.perf_counter() - before
        if took > slowest:
            slowest, worst = took, data
    return inputs, crashes, slowest, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="per parser (10,000)")
    parser.add_argument("--seed", type=int, default=FUZZ_SEED)
    parser.add_argument("--only", action="append", help="a parser's name (repeatable)")
    args = parser.parse_args()
    every = (*TARGETS, *FIREWALL_TARGETS)
    chosen = [t for t in every if not args.only or t.name in args.only]
    if not chosen:
        parser.error(f"no such parser; one of: {', '.join(t.name for t in every)}")
    print(f"seed {args.seed}, {args.inputs} inputs per parser")
    print(f"{'parser':<16} {'inputs':>7} {'crashes':>8} {'slowest':>10} {'total':>8}")
    bad = False
    details: list[str] = []
    for target in chosen:
        started = time.perf_counter()
        count, crashes, slowest, worst = fuzz(target, args.inputs, args.seed)
        total = time.perf_counter() - started
        print(
            f"{target.name:<16} {count:>7} {len(crashes):>8} {slowest * 1000:>7.1f} ms"
            f" {total:>6.1f} s",
            flush=True,
        )
        bad |= bool(crashes) or slowest > SLOW_S
        details += [f"  {target.name}: {c}" for c in crashes[:SHOWN]]
        if slowest > SLOW_S:
            details.append(f"  {target.name}: slowest ({slowest:.2f} s) {worst[:120]!r}")
    if details:
        print("\n" + "\n".join(details))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
