"""Router Advertisement checks against the lab: radvd's RA decoded as rdisc6 decodes it, crafted
malformed RAs each failing the check that names the defect, and a link with no router."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet6 import (
    ICMPv6ND_RA,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
)

from lab import Lab
from lab import topology as T
from probes.netns import Netns
from probes.router_advert import RouterAdvert
from probes.router_solicit import solicit_routers
from tests.lab.ra_responder import CRAFTED_ROUTER, crafted_router
from tests.lab.suite_run import lab_up, run_suites

pytestmark = pytest.mark.lab
NAME = "v6cra"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def rdisc6(lab: Lab) -> dict[str, list[str]]:
    """rdisc6's reading of the router's answer: field name -> values, in order."""
    out = lab.in_ns("host", "rdisc6", "-1", "-w", "1000", T.UPLINK)
    fields: dict[str, list[str]] = {}
    for line in out.splitlines():
        if ":" not in line or line.startswith("Soliciting"):
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        fields.setdefault(key, []).append(value)
    return fields


def seconds(value: str) -> int:
    return int(value.split()[0])


def test_our_decoding_of_radvd_matches_rdisc6(lab: Lab) -> None:
    theirs = rdisc6(lab)
    found = asyncio.run(solicit_routers(Netns.named(lab.ns("host")), T.UPLINK, window=1.0))
    [ours] = [a for a in found.valid]
    assert isinstance(ours, RouterAdvert)
    assert seconds(theirs["Router lifetime"][0]) == ours.router_lifetime
    assert theirs["Stateful address conf."] == ["Yes" if ours.managed else "No"]
    assert theirs["Stateful other conf."] == ["Yes" if ours.other else "No"]
    assert theirs["Router preference"] == [ours.preference]
    assert theirs["Prefix"] == [p.prefix for p in ours.prefixes]
    assert [seconds(v) for v in theirs["Valid time"]] == [p.valid for p in ours.prefixes]
    assert [seconds(v) for v in theirs["Pref. time"]] == [p.preferred for p in ours.prefixes]
    assert theirs["Recursive DNS server"] == [s for o in ours.rdnss for s in o.servers]
    assert [seconds(v) for v in theirs["DNS server lifetime"]] == [o.lifetime for o in ours.rdnss]
    assert [d for v in theirs["DNS search list"] for d in v.split()] == [
        d for o in ours.dnssl for d in o.domains
    ]
    assert theirs["Source link-layer address"][0].lower() == ours.source_lladdr
    assert ours.hop_limit == 255
    assert ours.at_ms < 1000


def test_healthy_passes_every_ra_check(lab: Lab, tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "rdnss")
    assert run.checks() == {"RA-01", "RA-02", "RA-03", "RA-04", "RA-05"}, run.output[-3000:]
    assert all(c.outcome == "passed" for c in run.cases), run.output[-3000:]


def _ra(*options: bytes) -> bytes:
    # router lifetime 0: the crafted router never becomes the lab host's default router
    return bytes(ICMPv6ND_RA(routerlifetime=0)) + b"".join(options)


def _rdnss_even_length() -> bytes:
    return struct.pack("!BBHI", 25, 2, 0, 600) + bytes(8)


def _dnssl_pointer() -> bytes:
    return struct.pack("!BBHI", 31, 2, 0, 600) + b"\x03lab\xc0\x0c" + bytes(2)


CRAFTED = {
    "rdnss-even-length": (_ra(_rdnss_even_length()), "RA-02", "length 2"),
    "rdnss-lifetime-0": (
        _ra(bytes(ICMPv6NDOptRDNSS(lifetime=0, dns=[T.DNS6]))),
        "RA-02",
        "lifetime 0",
    ),
    "rdnss-multicast": (
        _ra(bytes(ICMPv6NDOptRDNSS(lifetime=600, dns=["ff02::1"]))),
        "RA-02",
        "multicast",
    ),
    "dnssl-broken-label": (_ra(_dnssl_pointer()), "RA-04", "compression"),
    "preferred-above-valid": (
        _ra(
            bytes(
                ICMPv6NDOptPrefixInfo(
                    prefix="2001:db8:0:2::", prefixlen=64, validlifetime=100, preferredlifetime=200
                )
            )
        ),
        "RA-05",
        "preferred",
    ),
    "option-length-0": (_ra(bytes([25, 0]) + bytes(6)), "RA-01", "length 0"),
}


@pytest.mark.parametrize("defect", sorted(CRAFTED))
def test_a_crafted_malformed_ra_fails_the_check_naming_it(
    lab: Lab, tmp_path: Path, defect: str
) -> None:
    advert, check, words = CRAFTED[defect]
    with crafted_router(lab, advert):
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "rdnss")
    assert not [c for c in run.cases if c.outcome == "error"], run.output[-3000:]
    [case] = run.by_check(check)
    assert case.outcome == "failed", run.output[-3000:]
    said = case.properties["diagnosis"]
    assert CRAFTED_ROUTER in case.text, case.text
    assert words in case.text, said
    # radvd's own RA, beside it, is still judged sound: only the crafted router is named
    assert "fe80::bad" in said or check == "RA-01", said


def test_no_router_fails_ra01_once_and_skips_the_rest(lab: Lab, tmp_path: Path) -> None:
    pid = int(Path(lab.description()["state_dir"], "radvd.pid").read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "rdnss")
    [ra01] = run.by_check("RA-01")
    assert ra01.outcome == "failed", run.output[-3000:]
    assert re.fullmatch(r"no RA within \d+ ms after RS on uplink0", ra01.properties["diagnosis"])
    others = [c for c in run.cases if c.check != "RA-01"]
    assert others, run.output[-3000:]
    assert all(c.outcome == "skipped" for c in others), run.output[-3000:]
    assert all("no RA within" in c.text and "(RA-01)" in c.text for c in others)
