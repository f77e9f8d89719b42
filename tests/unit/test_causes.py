"""The root-cause step on crafted results: symptoms go to the failure whose broken fact they
need, chains end at the failure nothing explains, one fault found by several checks is one
cause, independent faults stay apart, and nothing is hidden or re-judged."""

from __future__ import annotations

import dataclasses

from reports.causes import find_causes, lend_causes
from reports.results import CheckInfo, CheckResult, Place
from rules.judgement import Fix, Judgement

ORDER = ["GW-02", "RT-01", "RT-02", "RT-04", "RT-05", "DNS-01", "DNS-03", "RA-03", "RC-01"]
CATALOG = {c: CheckInfo(c.lower(), "") for c in ORDER}
DROP = "rule:ip6tables filter FORWARD: policy DROP"
NS = "nameserver:2001:db8:53::53"


def failure(
    check: str, where: str, *, breaks: tuple[str, ...] = (), needs: tuple[str, ...] = ()
) -> CheckResult:
    r = CheckResult(f"suites/t.py::{check}[{where}]", check, f"t[{where}]", Place(where, where))
    r.outcome = "failed"
    r.diagnoses = [
        Judgement("fail", f"{check} broke on {where}", (), Fix("fix it"), None, breaks, needs)
    ]
    return r


def forward_drop() -> list[CheckResult]:
    """The issue's example: one FORWARD policy, symptoms on both networks."""
    return [
        failure("RT-02", "v6net", breaks=("reach:p", "path:v6net"), needs=("path:v6net",)),
        failure("RT-04", "bridge", breaks=(DROP, "path:bridge")),
        failure("RT-04", "v6net", breaks=(DROP, "path:v6net")),
        failure("RT-05", "v6net", breaks=("inbound:v6net",), needs=("path:v6net", "inbound:v6net")),
        failure("DNS-03", "bridge", breaks=("lookup:c",), needs=(NS, "path:bridge")),
        failure("RC-01", "bridge", breaks=(NS,), needs=(NS, "path:bridge")),
        failure("RC-01", "v6net", breaks=(NS,), needs=(NS, "path:v6net")),
    ]


def test_one_fault_found_twice_is_one_cause_and_explains_every_symptom() -> None:
    results = forward_drop()
    [cause] = find_causes(results, ORDER)
    assert [m.place.column for m in cause.members] == ["bridge", "v6net"]  # both RT-04 items
    assert cause.primary.check == "RT-04"
    explained = {(s.result.check, s.result.place.column) for s in cause.symptoms}
    assert explained == {
        ("RT-02", "v6net"),
        ("RT-05", "v6net"),
        ("DNS-03", "bridge"),
        ("RC-01", "bridge"),
        ("RC-01", "v6net"),
    }
    rc01 = next(s for s in cause.symptoms if s.result.check == "RC-01")
    # each symptom says what tied it: the fact it needs, and who found it broken
    assert rc01.explanation(CATALOG) == (
        "needs the forwarding path of network bridge (through this host, beyond the uplink and "
        "back), which RT-04 rt-04 [bridge] found broken"
    )
    assert cause.line(CATALOG) == "RT-04 rt-04 [bridge]: RT-04 broke on bridge"
    assert all(r.outcome == "failed" for r in results)  # nothing re-judged


def test_a_symptom_that_needs_a_symptom_is_tied_to_the_root_through_it() -> None:
    results = [
        failure("RT-01", "host", breaks=("sysctl:net.ipv6.conf.all.forwarding", "path:*")),
        failure("RT-02", "v6net", breaks=("reach:p", "path:v6net"), needs=("path:v6net",)),
        failure("DNS-03", "v6net", needs=("reach:p",)),
    ]
    [cause] = find_causes(results, ORDER)
    assert cause.primary.check == "RT-01"  # "path:*" is every network's path
    dns03 = next(s for s in cause.symptoms if s.result.check == "DNS-03")
    assert [t.cause.check for t in dns03.ties] == ["RT-02", "RT-01"]
    assert ", and that needs the forwarding path of network v6net" in dns03.explanation(CATALOG)


def test_independent_faults_are_two_causes_and_a_lone_failure_stands_on_its_own() -> None:
    results = [
        failure("GW-02", "v6net/web", breaks=("route:web on v6net",)),
        failure("RT-02", "v6net/web", needs=("route:web on v6net", "path:v6net")),
        failure(
            "RC-01",
            "v6net/db",
            breaks=("nameserver:2001:db8::99",),
            needs=("nameserver:2001:db8::99",),
        ),
        failure("RA-03", "host"),
    ]
    causes = find_causes(results, ORDER)
    assert [c.primary.check for c in causes] == ["GW-02", "RA-03", "RC-01"]
    assert [len(c.symptoms) for c in causes] == [1, 0, 0]


def test_failures_that_each_found_the_fact_explain_each_other_no_further() -> None:
    # two containers' RC-01 both saw the server silent: neither is the other's symptom; they
    # share the identity fact, so they are one cause; DNS-01 saw it first-hand from the host
    two = [
        failure("RC-01", "bridge", breaks=(NS,), needs=(NS,)),
        failure("RC-01", "v6net", breaks=(NS,), needs=(NS,)),
    ]
    [cause] = find_causes(two, ORDER)
    assert len(cause.members) == 2
    assert not cause.symptoms
    [cause] = find_causes([*two, failure("DNS-01", "2001:db8:53::53", breaks=(NS,))], ORDER)
    assert cause.primary.check == "DNS-01"
    assert {s.result.place.column for s in cause.symptoms} == {"bridge", "v6net"}


def test_a_run_without_failures_has_no_cause() -> None:
    passed = failure("RT-02", "v6net", breaks=("path:v6net",))
    passed.outcome = "passed"
    broke = failure("RT-04", "v6net", breaks=(DROP,))
    broke.outcome = "error"  # the harness broke: no verdict, no cause
    assert find_causes([passed, broke], ORDER) == []


def test_failures_round_a_cycle_are_not_lost() -> None:
    # a needs what b broke, b what c broke, c what a broke: none is a root by the ties alone
    ring = [
        failure("RT-02", "a", breaks=("reach:a",), needs=("reach:b",)),
        failure("RT-05", "b", breaks=("reach:b",), needs=("reach:c",)),
        failure("RC-01", "c", breaks=("reach:c",), needs=("reach:a",)),
    ]
    [cause] = find_causes(ring, ORDER)
    assert cause.primary.place.column == "a"
    assert {s.result.place.column for s in cause.symptoms} == {"b", "c"}


def test_a_cause_joins_its_members_commands_and_lends_its_fix_and_hop_to_its_symptoms() -> None:
    """One story per failure: the cause's fix carries the commands of every network it covers,
    each once, and every symptom is shown with that fix and the cause's hop (its own evidence
    and verdict kept)."""
    results = forward_drop()
    for r in results:
        if r.check == "RT-04":
            bridge = r.place.column
            command = f"ip6tables -I DOCKER-USER -o {bridge} -j ACCEPT"
            fix = Fix("accept it", ("ip6tables -N X", command))
            r.diagnoses = [dataclasses.replace(d, remedy=fix, hop="host") for d in r.diagnoses]
    [cause] = find_causes(results, ORDER)
    assert cause.remedy is not None
    assert cause.remedy.commands == (
        "ip6tables -N X",
        "ip6tables -I DOCKER-USER -o bridge -j ACCEPT",
        "ip6tables -I DOCKER-USER -o v6net -j ACCEPT",
    )
    assert cause.hop == "host"
    rc01 = next(s.result for s in cause.symptoms if s.result.check == "RC-01")
    lend_causes([cause])
    [shown] = rc01.diagnoses
    assert shown.remedy == cause.remedy
    assert shown.hop == "host"
    assert shown.diagnosis == "RC-01 broke on bridge"  # its own verdict
    assert shown.outcome == "fail"


def test_a_router_that_took_the_default_route_explains_the_hosts_own_failures_too() -> None:
    """RT-01's rogue-router finding breaks every network's path and the host's default route:
    the nameserver the host asks (DNS-01) and RA-03 after it are its symptoms, not a cause."""
    route = "default-router:this host"
    results = [
        failure("RT-01", "host", breaks=(route, "path:*")),
        failure("RT-02", "v6net", breaks=("reach:p", "path:v6net"), needs=("path:v6net",)),
        failure("DNS-01", "host", breaks=(NS,), needs=(route,)),
        failure("RA-03", "host", breaks=(NS,), needs=(NS,)),
    ]
    [cause] = find_causes(results, ORDER)
    assert cause.primary.check == "RT-01"
    assert {s.result.check for s in cause.symptoms} == {"RT-02", "DNS-01", "RA-03"}
    dns01 = next(s for s in cause.symptoms if s.result.check == "DNS-01")
    assert "the IPv6 default route of this host" in dns01.explanation(CATALOG)
