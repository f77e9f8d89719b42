"""Every parser of what others wrote, under Hypothesis: the seeds of bench/fuzz_targets.py with
edits Hypothesis draws (and shrinks), structured inputs, and plain bytes; each parser keeps its
contract (bench.fuzz_targets: never raises, or only its own error with one line; never an
internal decoder error; no timing of inf taken). About 200 inputs per parser, derandomized: the
same inputs every run. bench/fuzz_all.py tries 10,000 each and prints the figures.

What the fuzz found stays here, each input an explicit case (FOUND).
"""

from __future__ import annotations

import base64
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_targets import BY_NAME, OPS, TARGETS, Edit, Target, apply_edits

settings.register_profile(
    "parsers",
    max_examples=200,
    derandomize=True,  # CI runs the same inputs every time
    deadline=None,  # a slow shared 2-core machine must not flake; bench/ times each input
    database=None,  # nothing written next to the tests
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PARSERS = settings.get_profile("parsers")

edits = st.lists(
    st.tuples(
        st.integers(0, len(OPS) - 1),
        st.integers(0, 1 << 16),
        st.integers(0, 255),
        st.binary(min_size=1, max_size=16),
    ),
    max_size=6,
)


def inputs(target: Target) -> st.SearchStrategy[bytes]:
    """A seed with edits, a structured input (where the target has a generator), raw bytes."""
    mutated = st.builds(
        lambda seed, e: apply_edits(seed, e, target.tokens), st.sampled_from(target.seeds), edits
    )
    ways = [mutated, mutated, st.binary(max_size=512)]
    if target.structured is not None:
        ways.append(st.randoms(use_true_random=False).map(target.structured))
    return st.one_of(ways)


# what the fuzz found, each an input that broke the parser's contract before its fix
FOUND = {
    "profile": (  # taken (inf) or escaping ProfileError (OverflowError, ValueError,
        # RecursionError), or 9-13 s in tomllib (20,000 dotted parts)
        b"timeout = inf\n",
        b"timeout = 1e400\n",
        b"timeout = " + b"9" * 400 + b"\n",
        b"timeout = " + b"9" * 5000 + b"\n",
        b"anchors = " + b"[" * 2000 + b"]" * 2000 + b"\n",
        b"a" + b".a" * 20_000 + b" = 1\n",
    ),
    "resolver report": (  # nslookup's output cut at "remote host:": IndexError
        b"v6conform-resolver\nserver 0 1 2 1 MjAwMTpkYjg6OjUz "
        + base64.b64encode(b"nslookup: can't connect to remote host:")
        + b"\ndone\n",
    ),
}


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
@settings(PARSERS)
@given(st.data())
def test_every_parser_keeps_its_contract(target: Target, data: st.DataObject) -> None:
    """router adverts (and rules.ra over them), ICMPv6 messages, captured frames, DNS replies
    (beside test_dns_fuzz.py's loop over bench.dns_corpus: edits it does not make), resolv.conf,
    the resolver report, profiles, results.json through the merge, --containers."""
    target.run(data.draw(inputs(target), label="input"))


@pytest.mark.parametrize(
    ("name", "found"),
    [(name, found) for name, inputs in FOUND.items() for found in inputs],
    ids=[f"{name}-{i}" for name, inputs in FOUND.items() for i in range(len(inputs))],
)
def test_what_the_fuzz_found_stays_fixed(name: str, found: bytes) -> None:
    started = time.monotonic()
    BY_NAME[name].run(found)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_every_seed_is_sound(target: Target) -> None:
    """The seeds are inputs each parser takes whole: a mutation starts from something real."""
    for seed in target.seeds:
        outcome = target.run(seed)
        assert outcome not in ("malformed", "refused", "empty"), (target.name, seed[:60])


def test_the_benchmark_is_repeatable() -> None:
    """The same seed gives the same inputs: bench/fuzz_all.py's figures can be compared."""
    for target in TARGETS:
        first = list(target.inputs(random.Random(5), 20))
        assert first == list(target.inputs(random.Random(5), 20))


def test_an_edit_of_any_values_applies() -> None:
    edit: Edit = (10**6, -(10**6), -5, b"")
    assert isinstance(apply_edits(b"abc", [edit] * 6, (b"x",)), bytes)
