"""DNS checks against the lab: a malformed host resolv.conf is a clear failure, never a crash."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from tests.lab.suite_run import lab_up, run_suites

pytestmark = pytest.mark.lab
NAME = "v6cdn"

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
