"""The routed-prefix checks' judgement (RT-01, RT-02, RT-04, RT-05) on crafted probe results."""

from __future__ import annotations

from probes import icmp6
from probes.docker import NetworkInfo
from probes.firewall import assess_forward, parse_ip6tables_save
from probes.sysctl import ForwardingState
from rules.rt import (
    broken_hop,
    judge_anchors,
    judge_far_end,
    judge_firewall,
    judge_forwarding,
)

NET = NetworkInfo(
    "v6net", "abc", "bridge", True, "br-v6net", ("2001:db8:1:1::/64",), ("2001:db8:1:1::1",)
)


def echo(target: str, *, answered: bool, error: str | None = None) -> icmp6.EchoResult:
    return icmp6.EchoResult(
        target, "2001:db8:1:1::2", 1.0 if answered else None, error, (f"echo {target}",)
    )


def state(forwarding: str = "1", accept_ra: str | None = "2") -> ForwardingState:
    return ForwardingState(forwarding, "uplink0", accept_ra, "1" if accept_ra else None)


def test_forwarding_off_fails_at_the_host() -> None:
    j = judge_forwarding(state("0"), uplink="uplink0", default_routes=[], default_protocols=[])
    assert j.outcome == "fail"
    assert "IPv6 forwarding is off" in j.diagnosis
    assert j.hop == "host"
    assert "(none)" in " ".join(j.evidence)


def test_accept_ra_1_with_ra_routes_fails_and_2_passes() -> None:
    bad = judge_forwarding(
        state(accept_ra="1"), uplink="uplink0", default_routes=["default via fe80::1"],
        default_protocols=["ra"],
    )  # fmt: skip
    assert bad.outcome == "fail"
    assert "accept_ra=2" in (bad.fix or "")
    good = judge_forwarding(
        state(), uplink="uplink0", default_routes=["default via fe80::1"], default_protocols=["ra"]
    )
    assert good.outcome == "pass"


def test_anchors_that_do_not_answer_fail_with_the_hop() -> None:
    results = [echo("2001:db8:f00d::1", answered=True), echo("2001:db8:f00d::2", answered=False)]
    j = judge_anchors(results, source="2001:db8:1:1::2", container="c", capture=["x"], hop="host")
    assert j.outcome == "fail"
    assert "1 of 2 anchors did not answer: 2001:db8:f00d::2: no reply" in j.diagnosis
    assert j.hop == "host"
    ok = judge_anchors(results[:1], source="s", container="c", capture=[], hop=None)
    assert ok.outcome == "pass"


def test_anchors_the_containers_kernel_would_not_send_to_break_in_the_container() -> None:
    """Not sent (no route in the container): the container is where it breaks, whatever the
    uplink capture says, and the fix is that container's GW-02."""
    unsent = echo("2001:db8:f00d::1", answered=False, error="not sent: network is unreachable")
    j = judge_anchors([unsent], source="s", container="c", capture=[], hop="host")
    assert j.outcome == "fail"
    assert j.hop == "container"
    assert "GW-02" in (j.fix or "")


def test_far_end_says_the_error() -> None:
    j = judge_far_end(
        echo("2001:db8:1:1::2", answered=False, error="not sent: network is unreachable"),
        far_end="inet", source="2001:db8:1:1::2", container="c", hop="upstream",
    )  # fmt: skip
    assert j.outcome == "fail"
    assert j.diagnosis.endswith("not sent: network is unreachable")
    assert j.hop == "upstream"


def test_broken_hop_needs_a_capture() -> None:
    assert broken_hop([], watched=False, container="2001:db8:1:1::2", outbound=True) is None
    # nothing left the uplink: the host kept it
    assert broken_hop([], watched=True, container="2001:db8:1:1::2", outbound=True) == "host"
    # nothing came in for the far end's echo: beyond the uplink
    assert broken_hop([], watched=True, container="2001:db8:1:1::2", outbound=False) == "upstream"


def test_firewall_drop_fails_and_doubt_is_not_observed() -> None:
    dropping = parse_ip6tables_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    )
    verdict = assess_forward(dropping, subnets=NET.subnets6, bridges=["br-v6net"], uplink="up0")
    j = judge_firewall(verdict, network=NET, mode=None, uplink="up0", docker="20.10.24")
    assert j.outcome == "fail"
    assert "policy DROP" in j.diagnosis
    assert "-j ACCEPT" in (j.fix or "")
    unknown = parse_ip6tables_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -m weirdmatch --foo -j DROP\nCOMMIT\n"
    )
    verdict = assess_forward(unknown, subnets=NET.subnets6, bridges=["br-v6net"], uplink="up0")
    doubt = judge_firewall(verdict, network=NET, mode=None, uplink="up0", docker="20.10.24")
    assert doubt.outcome == "not-observed"
    assert doubt.diagnosis.startswith("cannot decide: ")
    accepting = parse_ip6tables_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    )
    verdict = assess_forward(accepting, subnets=NET.subnets6, bridges=["br-v6net"], uplink="up0")
    assert judge_firewall(verdict, network=NET, mode=None, uplink="up0", docker="").ok
