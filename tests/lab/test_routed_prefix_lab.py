"""The routed-prefix checks against the lab: faults the tests apply themselves to a healthy lab,
and the unrouted-prefix scenario's RT-03 message."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab import Lab
from lab import topology as T
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6crt")
UNROUTED = lab_name("v6cun")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def test_accept_ra_1_with_forwarding_on_fails_rt01(lab: Lab, tmp_path: Path) -> None:
    lab.sysctl("host", "net.ipv6.conf.uplink0.accept_ra", 1)
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.sysctl("host", "net.ipv6.conf.uplink0.accept_ra", 2)
    assert run.returncode == 1, run.output
    [case] = run.by_check("RT-01")
    assert case.outcome == "failed"
    assert "accept_ra = 1 on uplink0 with forwarding on" in case.properties["diagnosis"]
    assert "net.ipv6.conf.uplink0.accept_ra = 1" in case.text
    assert "proto ra" in case.text
    assert "accept_ra=2" in case.text


def test_an_ip6tables_rule_dropping_the_prefix_is_named_by_rt04(lab: Lab, tmp_path: Path) -> None:
    rule = ["FORWARD", "-s", "2001:db8:1::/48", "-j", "DROP"]
    lab.in_ns("host", "ip6tables", "-I", *rule)
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.in_ns("host", "ip6tables", "-D", *rule)
    cases = {c.item: c for c in run.by_check("RT-04")}
    assert {c.outcome for c in cases.values()} == {"failed"}, run.output
    for case in cases.values():
        diagnosis = case.properties["diagnosis"]
        assert diagnosis.startswith("ip6tables filter FORWARD: -A FORWARD -s 2001:db8:1::/48"), (
            diagnosis
        )
        assert "drops outbound new" in diagnosis
    # the rule drops what containers send, so their echoes to the anchors go unanswered too
    assert {c.outcome for c in run.by_check("RT-02")} == {"failed"}


def test_an_nftables_forward_policy_drop_is_named_by_rt04(lab: Lab, tmp_path: Path) -> None:
    table = "v6ctest"
    chain = "{ type filter hook forward priority 10; policy drop; }"
    lab.in_ns("host", "nft", "add", "table", "inet", table)
    try:
        lab.in_ns("host", "nft", "add", "chain", "inet", table, "guard", chain)
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.in_ns("host", "nft", "delete", "table", "inet", table)
    cases = run.by_check("RT-04")
    assert {c.outcome for c in cases} == {"failed"}, run.output
    assert all(
        c.properties["diagnosis"].startswith(f"nftables inet {table} guard: policy drop")
        for c in cases
    ), [c.properties["diagnosis"] for c in cases]


def test_unrouted_prefix_rt03_names_the_cause_the_fixes_and_the_ns(tmp_path: Path) -> None:
    with lab_up(UNROUTED, "unrouted-prefix"):
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", UNROUTED, "-m", "routing")
    cases = run.by_check("RT-03")
    assert cases, run.output
    for case in cases:
        assert case.outcome == "failed"
        diagnosis = case.properties["diagnosis"]
        assert diagnosis.startswith("upstream router fe80::"), diagnosis
        assert "no NA from this host: the prefix is not routed here" in diagnosis
        assert "route it to 2001:db8:0:1::2 or add ND proxy entries" in diagnosis
        assert "proxy_ndp=1" in case.text
        assert "ip -6 neigh add proxy" in case.text
        assert "NS who-has 2001:db8:0:1:d0" in case.text  # the unanswered NS, as seen


def test_nd_proxy_without_entries_says_which_address_lacks_one(tmp_path: Path) -> None:
    with lab_up(UNROUTED, "ndp-proxy") as lab:
        lab.in_ns("host", "ip", "-6", "neigh", "flush", "proxy", "dev", "uplink0")
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", UNROUTED, "-m", "routing")
    cases = run.by_check("RT-03")
    assert cases, run.output
    for case in cases:
        assert case.outcome == "failed"
        assert "ND proxy is on but has no entry for 2001:db8:0:1:d0" in case.properties["diagnosis"]
        assert "ND proxy entries on uplink0: 0" in case.text


def test_a_working_ndppd_with_proxy_ndp_on_passes_rt03(tmp_path: Path) -> None:
    """Debian's ndppd answers for the containers while the kernel's proxy table is empty (and
    proxy_ndp=1): judged by the wire, every NS answered, RT-03 passes and says by what."""
    with lab_up(UNROUTED, "unrouted-prefix") as lab:
        lab.sysctl("host", "net.ipv6.conf.all.proxy_ndp", 1)
        lab.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.proxy_ndp", 1)
        conf = lab.state / "ndppd.conf"
        rules = "".join(f"  rule {p} {{ static }}\n" for p in (T.ONLINK_BRIDGE6, T.ONLINK_NET6))
        conf.write_text(f"proxy {T.UPLINK} {{\n{rules}}}\n")
        ndppd = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("host"), "ndppd", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            assert ndppd.poll() is None, "ndppd exited at once"
            run = run_suites(tmp_path, "--target", "lab", "--lab-name", UNROUTED, "-m", "routing")
        finally:
            ndppd.terminate()
            ndppd.wait(timeout=10)
    cases = run.by_check("RT-03")
    assert cases, run.output
    for case in cases:
        assert case.outcome == "passed", case.text
    # and the path it proxies works end to end
    assert {c.outcome for c in run.by_check("RT-02")} == {"passed"}, run.output
    assert {c.outcome for c in run.by_check("RT-05")} == {"passed"}, run.output
