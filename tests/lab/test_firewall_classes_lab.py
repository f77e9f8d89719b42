"""RT-04 against the lab, one traffic class at a time: a rule that lets echo through but drops
other traffic containers need fails RT-04 with the class named, while RT-02 (echo to the
anchors) still passes. Dropping Packet Too Big is the classic path MTU black hole: ping works,
large transfers hang."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import Case, SuiteRun, lab_up, run_suites
from lab import Lab
from lab import topology as T
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cfw")
NETWORK = "v6net"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def run_with_rule(lab: Lab, tmp_path: Path, rule: list[str]) -> SuiteRun:
    """The routing checks with ``rule`` at the top of the host's FORWARD chain, then without."""
    lab.in_ns("host", "ip6tables", "-I", "FORWARD", *rule)
    try:
        return run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.in_ns("host", "ip6tables", "-D", "FORWARD", *rule)


def by_network(run: SuiteRun, check: str) -> dict[str, Case]:
    cases = {c.item.split("[")[-1].rstrip("]"): c for c in run.by_check(check)}
    assert NETWORK in cases, run.output
    return cases


def test_a_packet_too_big_drop_fails_rt04_while_echo_still_works(lab: Lab, tmp_path: Path) -> None:
    rule = ["-o", T.USER_BRIDGE, "-p", "ipv6-icmp", "--icmpv6-type", "packet-too-big", "-j", "DROP"]
    run = run_with_rule(lab, tmp_path, rule)
    rt04 = by_network(run, "RT-04")
    case = rt04[NETWORK]
    assert case.outcome == "failed", run.output
    diagnosis = case.properties["diagnosis"]
    assert diagnosis.startswith(
        f"ip6tables filter FORWARD: -A FORWARD -o {T.USER_BRIDGE} -p ipv6-icmp -m icmp6 "
        "--icmpv6-type 2 -j DROP drops inbound related ICMPv6 packet-too-big (path MTU "
        "discovery breaks: large transfers hang) on v6net"
    ), diagnosis
    assert "echo" not in diagnosis  # only that class is dropped
    assert "TCP" not in diagnosis
    # the fix: delete the rule, or accept those errors toward the bridge (never all traffic)
    assert (
        f"ip6tables -D FORWARD -o {T.USER_BRIDGE} -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j DROP"
    ) in case.text
    # Docker 20.10 without ip6tables makes no DOCKER-USER chain: the accept goes into FORWARD,
    # before the drop, and the fix says why
    assert (
        f"ip6tables -I FORWARD -o {T.USER_BRIDGE} -p ipv6-icmp --icmpv6-type packet-too-big "
        "-m conntrack --ctstate RELATED -j ACCEPT"
    ) in case.text
    assert "this host has no DOCKER-USER chain" in case.text
    assert "DOCKER-USER -o" not in case.text
    assert "Docker 20.10" in case.text
    assert "inbound related ICMPv6 packet-too-big 2001:db8:f00d::1/128 → " in case.text
    # the rule is for v6net's bridge only: docker0's traffic passes
    others = {n: c.outcome for n, c in rt04.items() if n != NETWORK}
    assert "bridge" in others
    assert set(others.values()) == {"passed"}, others
    # echo is not touched: the containers' pings to the anchors still come back
    assert by_network(run, "RT-02")[NETWORK].outcome == "passed", run.output


def test_a_tcp_drop_fails_rt04_while_echo_still_works(lab: Lab, tmp_path: Path) -> None:
    run = run_with_rule(lab, tmp_path, ["-o", T.USER_BRIDGE, "-p", "tcp", "-j", "DROP"])
    rt04 = by_network(run, "RT-04")
    case = rt04[NETWORK]
    assert case.outcome == "failed", run.output
    diagnosis = case.properties["diagnosis"]
    assert diagnosis.startswith(
        f"ip6tables filter FORWARD: -A FORWARD -o {T.USER_BRIDGE} -p tcp -j DROP drops inbound "
        "established TCP sport 443 (TCP replies are lost: containers' connections never "
        "complete) on v6net"
    ), diagnosis
    assert f"ip6tables -D FORWARD -o {T.USER_BRIDGE} -p tcp -j DROP" in case.text
    assert "--ctstate RELATED,ESTABLISHED -j ACCEPT" in case.text
    assert f"-o {T.USER_BRIDGE} -j ACCEPT" not in case.text  # never all traffic to the bridge
    others = {n: c.outcome for n, c in rt04.items() if n != NETWORK}
    assert "bridge" in others
    assert set(others.values()) == {"passed"}, others
    assert by_network(run, "RT-02")[NETWORK].outcome == "passed", run.output
