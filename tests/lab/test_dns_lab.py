"""DNS checks against the lab: a malformed host resolv.conf is a clear failure, never a crash."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab import Lab
from lab import topology as T
from lab.lab import run
from probes import dns
from probes.netns import Netns
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cdn")

_rng = random.Random(6)
JUNK = bytes(_rng.randrange(256) for _ in range(4096))
LONG = b"".join(b"nameserver 2001:db8:53::53\n" if i == 0 else b"# filler\n" for i in range(10_000))
HOSTNAME = b"nameserver 2001:db8:53::53\nnameserver dns.lab.example\n"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (JUNK, 0, "no valid nameserver line"),
        (LONG + b"nameserver\x00junk\n", 10_001, "NUL"),
        (HOSTNAME, 2, "not an IP address"),
    ],
    ids=["binary-junk", "10000-lines", "hostname"],
)
def test_a_malformed_host_resolv_conf_fails_dns01_with_the_line(
    lab: Lab, tmp_path: Path, content: bytes, line: int, reason: str
) -> None:
    path = Path(lab.description()["host"]["resolv_conf"])
    saved = path.read_bytes()
    path.write_bytes(content)  # in place: dockerd sees the same file through its bind mount
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "dns")
    finally:
        path.write_bytes(saved)
    assert run.returncode == 1, run.output[-3000:]
    assert not [c for c in run.cases if c.outcome == "error"], run.output[-3000:]
    broken = [c for c in run.by_check("DNS-01") if "resolv.conf-line" in c.item]
    assert len(broken) == 1, [c.name for c in run.cases]
    [case] = broken
    assert case.outcome == "failed"
    diagnosis = case.properties["diagnosis"]
    where = f"{path} line {line}: " if line else f"{path}: "
    assert diagnosis.startswith(where), diagnosis
    assert reason in diagnosis
    if not line:  # the whole file is wrong: the evidence lists the offending lines
        assert "line 1: line has a control character" in case.text


def test_the_zone_still_answers_once_its_glue_left_the_cache(lab: Lab) -> None:
    """The lab's nameserver keeps answering its zone after the cache lost the apex's addresses
    but kept its NS (as it does 300 s in: the NS lives 3600 s). Without a root of the lab's own,
    the iterator dropped that delegation, could not prime the real root (no network) and
    answered SERVFAIL for every name of the zone from then on."""
    host = Netns.named(lab.ns("host"))

    def ask(name: str, rdtype: str) -> str | None:
        return asyncio.run(dns.query(host, T.DNS6, name, rdtype, timeout=2.0)).rcode

    assert ask(T.ZONE, "NS") == "NOERROR"  # the NS in the cache, with the apex's addresses
    assert ask(T.ZONE, "AAAA") == "NOERROR"
    conf = str(lab.state / "unbound.conf")
    for rdtype in ("A", "AAAA"):  # what expires first, gone at once
        run("unbound-control", "-c", conf, "flush_type", f"{T.ZONE}.", rdtype)
    assert ask(T.ZONE, "AAAA") == "NOERROR"
    assert ask(f"v6only.{T.ZONE}", "AAAA") == "NOERROR"  # never asked before: iterated
    assert ask(T.ZONE, "NS") == "NOERROR"
