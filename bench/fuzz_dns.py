"""The DNS probe's reply handling under fuzz: how many replies, how they were judged, how long.

    .venv/bin/python bench/fuzz_dns.py                  # the unit test's 10,000-odd inputs, once
    .venv/bin/python bench/fuzz_dns.py --rounds 10      # ten rounds, each with its own seed
    .venv/bin/python bench/fuzz_dns.py --seed 7 --top 12

Feeds the inputs of tests/unit/test_dns_fuzz.py (random and mutated replies, each with the query
it claims to answer) to probes.dns.read_reply, as bytes: no sockets, no root, nothing sent. Prints
figures (inputs, parsed, malformed, not a reply to the query, time, the slowest input, and the
commonest reasons a reply was malformed) and asserts nothing, except that nothing raised: an
exception, or a reading marked internal (the decoder broke), is counted and shown.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dns_corpus import FUZZ_SEED, fuzz_inputs  # noqa: E402
from probes import dns as dnsprobe  # noqa: E402


def reason_kind(error: str) -> str:
    """A malformed reply's reason without its particulars (sizes, offsets, names)."""
    text = error.split(": ", 1)[1] if ": " in error else error
    return re.sub(r"\d+", "N", text)[:90]


def one_round(seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    counts = collections.Counter[str]()
    reasons = collections.Counter[str]()
    crashes: list[str] = []
    slowest = 0.0
    started = time.perf_counter()
    for case, data in fuzz_inputs(rng):
        before = time.perf_counter()
        try:
            reading = dnsprobe.read_reply(case.query, data, case.rdtype)
        except Exception as exc:  # what the unit test forbids; counted here, not raised
            crashes.append(f"{type(exc).__name__}: {exc}")
            counts["raised"] += 1
            continue
        finally:
            slowest = max(slowest, time.perf_counter() - before)
        counts["inputs"] += 1
        if reading.internal:
            crashes.append(reading.error or "")
            counts["internal"] += 1
        elif reading.rcode is not None:
            counts["parsed"] += 1
            counts[f"parsed {reading.rcode}"] += 1
        elif reading.malformed:
            counts["malformed"] += 1
            reasons[reason_kind(reading.error or "")] += 1
        else:
            counts["mismatched"] += 1
    return {
        "counts": counts,
        "reasons": reasons,
        "crashes": crashes,
        "elapsed": time.perf_counter() - started,
        "slowest": slowest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=FUZZ_SEED, help="first round's seed")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, seeds seed, seed+1, …")
    parser.add_argument("--top", type=int, default=8, help="malformed reasons shown")
    args = parser.parse_args()

    total = collections.Counter[str]()
    reasons = collections.Counter[str]()
    crashes: list[str] = []
    elapsed = slowest = 0.0
    for n in range(args.rounds):
        r = one_round(args.seed + n)
        counts = r["counts"]
        assert isinstance(counts, collections.Counter)
        round_s = float(r["elapsed"])  # type: ignore[arg-type]
        print(
            f"round {n + 1} (seed {args.seed + n}): {counts['inputs'] + counts['raised']} inputs "
            f"in {round_s:.2f} s: {counts['parsed']} parsed, {counts['malformed']} malformed, "
            f"{counts['mismatched']} not a reply to the query, "
            f"{counts['raised'] + counts['internal']} crashed"
        )
        total.update(counts)
        reasons.update(r["reasons"])  # type: ignore[arg-type]
        crashes += r["crashes"]  # type: ignore[operator]
        elapsed += round_s
        slowest = max(slowest, float(r["slowest"]))  # type: ignore[arg-type]

    inputs = total["inputs"] + total["raised"]
    print()
    print(f"inputs      {inputs}")
    print(f"parsed      {total['parsed']}", end="")
    rcodes = collections.Counter[str]()
    for key, n in total.items():
        if key.startswith("parsed "):  # an extended rcode nobody named is just a number
            rcode = key.split(" ", 1)[1]
            rcodes["other" if rcode.isdigit() else rcode] += n
    print(" (" + ", ".join(f"{rc} {n}" for rc, n in rcodes.most_common()) + ")" if rcodes else "")
    print(f"malformed   {total['malformed']}  (judged: 'malformed reply' with the reason)")
    print(f"mismatched  {total['mismatched']}  (a reply, to another query: id or question)")
    print(f"crashed     {total['raised'] + total['internal']}  (raised, or the decoder broke)")
    print(f"time        {elapsed:.2f} s, {inputs / elapsed:.0f} replies/s" if elapsed else "")
    print(f"slowest     {slowest * 1000:.2f} ms")
    if reasons:
        print(f"\ncommonest malformed reasons (of {len(reasons)} kinds):")
        for reason, n in reasons.most_common(args.top):
            print(f"  {n:6d}  {reason}")
    for line in crashes[: args.top]:
        print(f"  crash: {line}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
