"""The detection matrix: every lab scenario fails exactly the checks it must, among those the
suites implement so far. It grows as checks are added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.suite_run import Case, run_suites
from lab import SCENARIOS
from lab.dockers import GENERATIONS, unavailable
from tests.lab.names import lab_name
from tests.report_reading import assert_reports_hold
from tests.test_catalog import implemented_in_suites

pytestmark = pytest.mark.lab
# the matrix's own lab; another name lets two matrices (two checkouts) run side by side
LAB = lab_name("v6cmx", env="V6CONFORM_MATRIX_LAB")


# Docker 29 runs on each firewall backend where a scenario touches the firewall (and healthy)
CASES = [
    pytest.param(name, gen, backend, id=f"{name}@{gen}" + (f"-{backend}" if backend else ""))
    for gen in GENERATIONS
    for name in sorted(SCENARIOS)
    if gen in SCENARIOS[name].generations
    for backend in (SCENARIOS[name].backends if GENERATIONS[gen].moby else (None,))
]


# The skips a lab run may have, each for its reason: a masqueraded network has no inbound
# reachability to judge (RT-03, RT-05); RA-03 and DNS-01's announced servers have no server to
# ask where the RAs announce none.
# the skips a scenario may show, each with the words of its reason
ALLOWED_SKIPS: dict[str, tuple[str, ...]] = {
    "DNS-01": ("no router announced an RDNSS server",),
    "RT-03": ("is masqueraded (NAT66",),
    "RT-05": ("is masqueraded (NAT66",),
    "RA-03": ("no router announces a (unicast) RDNSS server",),
    # where the path is broken (RT-02), a black hole for large packets cannot be told from it;
    # in a black hole no fragmented datagram is sent (PMTU-01 fails instead), and where no
    # small TCP query is answered no large one can be judged
    "PMTU-01": ("the path itself does not work (RT-02)",),
    "PMTU-02": ("the path itself does not work (RT-02)", "even a small query over TCP"),
    "PMTU-03": ("the path itself does not work (RT-02)", "no fragmented datagram was sent"),
    # the lab's profile names IPv4-only destinations only where the site has (or should have)
    # DNS64 and NAT64; IPv6-only networks exist on Docker 28 alone
    "NAT64-01": ("the profile names no IPv4-only destinations",),
    "DNS-05": ("no IPv6-only network on this host",),
    # a published port no IPv6 client reaches (Docker 20.10 and 26 without the userland proxy
    # and without ip6tables: the lab's healthy site there; a firewall that drops inbound)
    # loses no client's address: there is none to compare
    "AF-02": ("not reachable over IPv6",),
    # AF-01 chooses between families only for a name that resolves to both (not where the
    # scenario took a AAAA away, or a network's resolver cannot answer); a workload is only
    # read, so its order is the model's prediction, never a verdict
    "AF-01": ("does not resolve dual-stack", "modelled, not observed"),
}


# an internal network (the internal-network scenario's isonet) is isolated on purpose: every
# check that needs the outside says so there (rules.isolation), RT-03/RT-05 through its mode
ISOLATED = ("it is isolated from beyond the host on purpose", "isonet is internal (")


def _skip_allowed(case: Case) -> bool:
    if case.outcome != "skipped":
        return True
    if "isonet" in case.item and any(r in case.text for r in ISOLATED):
        return True
    return any(r in case.text for r in ALLOWED_SKIPS.get(case.check or "", ()))


@pytest.mark.parametrize(("scenario", "docker", "backend"), CASES)
def test_scenario_fails_exactly_its_checks(
    scenario: str, docker: str, backend: str | None, tmp_path: Path
) -> None:
    why_not = unavailable(GENERATIONS[docker])
    if why_not is not None:  # said, row by row, with what it needs: never a silent pass
        pytest.skip(f"not run: {why_not}")
    chosen = ("--firewall-backend", backend) if backend else ()
    run = run_suites(tmp_path, "--lab", scenario, "--docker", docker, *chosen, "--lab-name", LAB)
    assert run.cases, f"no check ran:\n{run.output[-3000:]}"
    implemented = run.checks()
    errors = [c.name for c in run.cases if c.outcome == "error"]
    assert not errors, f"harness errors (not verdicts): {errors}\n{run.output[-3000:]}"
    # every check ran: a run that collected less (or everything skipped) proves nothing
    assert implemented == implemented_in_suites(), run.output[-3000:]
    unexplained = [f"{c.name}: {c.text.strip()[:200]}" for c in run.cases if not _skip_allowed(c)]
    assert not unexplained, unexplained
    expected = set(SCENARIOS[scenario].expected_on(docker)) & implemented
    assert run.failed_checks() == expected, run.output[-4000:]
    # the report leads with the scenario's root cause(s); every other failure is a symptom
    causes = SCENARIOS[scenario].causes_on(docker)
    assert set(run.cause_checks()) == causes, json.dumps(run.results()["causes"], indent=1)[:6000]
    if SCENARIOS[scenario].workloads:
        assert_workloads_found_exactly(run.cases, SCENARIOS[scenario].workloads)
    assert run.returncode == (1 if expected else 0)
    # each item carries its check and the target it ran against; the HTML has the verdict,
    # and each failure its evidence, fix and path picture
    assert_reports_hold(tmp_path, f"lab:{LAB}/{scenario}")
    # `--lab` tears its lab down
    assert not Path(f"/run/netns/{LAB}-host").exists()


def _workload_fails(case: Case) -> bool:
    """What a lab workload's item must come to: the one without a default route fails GW-02
    and RT-02 (its gateway still answers, on-link), the one with a bad resolv.conf RC-01."""
    check, item = case.check, case.item
    if check == "RC-01" and "-noroute]" in item and case.outcome == "failed":
        # and RC-01 too where its resolv.conf lists the IPv6 nameserver itself (Docker 20.10
        # copies it beside 127.0.0.11), for that reason alone
        return "network unreachable (no route)" in case.text
    return (check in ("GW-02", "RT-02") and "-noroute]" in item) or (
        check == "RC-01" and "-badresolv]" in item
    )


def assert_workloads_found_exactly(cases: list[Case], count: int) -> None:
    """The workload checks find exactly the broken workloads: every workload item is there
    (GW-02, GW-03, RT-02 per network, RC-01 per container), the broken ones fail and only in
    the checks their fault breaks, the rest pass."""
    items = [c for c in cases if "/work-" in c.item]
    assert len([c for c in items if c.check == "RC-01"]) == count, [c.item for c in items]
    assert len([c for c in items if c.check == "GW-02"]) >= count, [c.item for c in items]
    wrong = [
        f"{c.item}: {c.outcome}"
        for c in items
        if (c.outcome == "failed") != _workload_fails(c) or c.outcome == "error"
    ]
    assert not wrong, wrong
    assert {c.check for c in items} == {"GW-02", "GW-03", "RT-02", "RC-01", "AF-01"}
