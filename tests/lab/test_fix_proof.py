"""Every printed fix, proven: for each scenario whose fault has a fix with commands, on every
Docker generation (and Docker 29 firewall backend) the matrix runs it on, the lab is broken as
the scenario says, the suites run, and each cause's ``fix_commands`` from ``results.json`` are run
exactly as printed where ``fix_where`` says (this host's namespace; the upstream router's for
a fix that is the router's); the suites run again and must exit 0, and nothing that was closed
before may be reachable afterwards: a TCP port no one published, on a container of each IPv6
network, tried from the far end before and after (on a masqueraded or internal network it must
stay closed whatever it was before).

Scenarios, or generations of one, whose fault has no commands (their fix is in words only) are
listed in ``UNPROVEN`` with the reason and collected as skipped cases that say it, so the gap is
visible here rather than silent. Where a printed fix heals all but a part whose fix is words
only (nat66's default bridge: Docker cannot set its gateway mode), ``REMAINS`` names the items
left failing and why, and the rerun must fail exactly those.

A fault beyond the host (the DNS server, the router's adverts, the NAT64 gateway, the upstream
router's Packet Too Big) has a fix in words for that party, whose software this host cannot
know, with the concrete values it needs (``fix_values``): for those, the lab's realisation of
exactly that fix with those values (lab.parties) is carried out by that party in its own
namespace, and proven the same way; the same fix with every value wrong must be refused there.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.suite_run import lab_command, run_suites
from lab import SCENARIOS, Lab, firewalld
from lab.dockers import GENERATIONS, nft_of, unavailable
from lab.errors import LabError
from lab.parties import realise
from lab.workloads import IMAGE, ensure_image
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
LAB = lab_name("v6cfix", env="V6CONFORM_FIXPROOF_LAB")

# the scenarios whose fault a printed fix heals, with where the fix is run
PROVEN = (
    "forwarding-off", "forward-drop", "pmtu-blackhole", "pmtu-refragment", "unrouted-prefix",
    "nat66", "rogue-router", "rogue-router-no-mac", "firewalld-egress-drop",
)  # fmt: skip
NAT66_DEFAULT_BRIDGE = (
    "docker0 stays masqueraded: Docker cannot set the default bridge's gateway mode (moby "
    '29.7.2\'s initBridgeDriver passes none), and "ip-masq": false would end its IPv4 '
    "masquerade too, wider than the site asks: RT-06's fix for it is words only"
)
# where a proven scenario's fix heals all but these items (their causes' fixes are words only,
# each with why), by scenario and generation: the rerun must fail exactly these
REMAINS = {
    "nat66": {
        gen: {
            "suites/test_routed_prefix.py::test_ipv6_mode_as_intended[bridge]": NAT66_DEFAULT_BRIDGE
        }
        for gen in ("28", "29")
    },
}
# and those not proven, on a generation or all, with why (a fix in words only)
UNPROVEN: dict[str, dict[str, str]] = {
    "nat66": {
        "26": "Docker 26 has no gateway modes: the one setting that ends its NAT66, "
        '"ip6tables": false, also ends its filtering of unpublished container ports (it would '
        "open them all), and deleting its MASQUERADE rule by hand lasts until dockerd starts "
        "again: RT-06's fix is words only",
    },
    "build-resolv": {
        gen: "RC-02's fix needs a value no evidence gives: an IPv4 nameserver build steps can "
        'reach (daemon.json "dns"; the host\'s resolv.conf lists only an IPv6 one), or the '
        "site's global /64 for the default bridge (\"fixed-cidr-v6\"; Docker's own ULA /64 would "
        "put IPv4 first, AF-01): words only, and no command"
        for gen in GENERATIONS
    },
}
# who runs a fix, and in which of the lab's namespaces that is
WHERE = {"host": "host", "upstream router": "upstream"}
ROUNDS = 2  # the fault's fixes, then what they uncovered
PORT = 8089  # what no one published: a container's own listener
LISTENER = "v6c-fixproof"

CASES = [
    pytest.param(
        name, gen, backend, id=f"{name}@{gen}" + (f"-{backend}" if backend else ""),
        # an unproven generation stays in the list, skipped with its reason: visible
        marks=[pytest.mark.skip(reason=f"unproven: {why}")]
        if (why := UNPROVEN.get(name, {}).get(gen))
        else [],
    )
    for gen in GENERATIONS
    for name in dict.fromkeys((*PROVEN, *UNPROVEN))
    if gen in SCENARIOS[name].generations
    for backend in (SCENARIOS[name].backends if GENERATIONS[gen].moby else (None,))
]  # fmt: skip


@contextmanager
def lab_up(scenario: str, docker: str, backend: str | None) -> Iterator[Lab]:
    chosen = ["--firewall-backend", backend] if backend else []
    up = lab_command(LAB, "up", "--scenario", scenario, "--docker", docker, *chosen)
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        yield Lab(LAB)
    finally:
        down = lab_command(LAB, "down")
        assert down.returncode == 0, down.stderr[-2000:]


def listeners(lab: Lab) -> tuple[dict[str, str], set[str]]:
    """A container listening on PORT (published nowhere) on each IPv6 network: network -> its
    IPv6 address; and the networks that are closed from outside on purpose (masqueraded, as
    the lab's site intends them, or internal)."""
    ensure_image(lab.docker_socket)
    out, closed = {}, set()
    described = lab.description()
    intended = described.get("ipv6_mode", {})
    # Docker 27 and later writes ip6tables rules: in routed mode too, only published ports
    # (and ICMPv6) are let in
    filters = int(described["docker"]["version"].split(".")[0]) >= 27
    networks = lab.docker("network", "ls", "--format", "{{.Name}}").split()
    for net in networks:
        info = json.loads(lab.docker("network", "inspect", net))[0]
        if not info.get("EnableIPv6") or info.get("Driver") != "bridge":
            continue
        if info.get("Internal") or intended.get(net) == "nat" or filters:
            closed.add(net)
        name = f"{LISTENER}-{net}"
        lab.docker(
            "run", "-d", "--name", name, "--network", net, "--label", f"v6conform.lab={LAB}",
            IMAGE, "busybox", "nc", "-ll", "-p", str(PORT), "-e", "cat",
        )  # fmt: skip
        inspect = json.loads(lab.docker("inspect", name))[0]
        address = inspect["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"]
        if address:
            out[net] = address
    return out, closed


def reached(lab: Lab, addresses: dict[str, str]) -> dict[str, bool]:
    """Whether the far end gets a TCP answer (connected, or refused) from each address: all
    tried at once, each with its own 2 s deadline."""
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_INET6)\ns.settimeout(2)\n"
        "try:\n s.connect((sys.argv[1], int(sys.argv[2])))\n"
        "except ConnectionRefusedError: pass\n"
        "except OSError: sys.exit(1)\n"
    )
    tries = {
        net: subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("inet"), "python3", "-c", code, addr, str(PORT)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for net, addr in addresses.items()
    }
    return {net: proc.wait(timeout=30) == 0 for net, proc in tries.items()}


def assert_opens_nothing(
    lab: Lab,
    addresses: dict[str, str],
    closed: set[str],
    before: dict[str, bool],
    applied: object,
) -> None:
    """Nothing the site keeps closed is reachable after the fix: what was closed stays closed,
    and a network that opened is one whose Docker filters nothing by design (routed, no
    ip6tables: the healthy site's own state)."""
    after = reached(lab, addresses)
    opened = [net for net in addresses if after[net] and not before[net] and net in closed]
    assert not opened, (applied, closed, before, after)
    assert not [net for net in closed if after[net]], (applied, closed, after)


def kept(lab: Lab) -> dict[str, object]:
    """What a fix must keep of each network, whatever mode it gives it: its IPAM, its options
    but the gateway mode, its labels and flags, and the containers on it at their addresses."""
    out: dict[str, object] = {}
    for net in lab.docker("network", "ls", "--format", "{{.Name}}").split():
        info = json.loads(lab.docker("network", "inspect", net))[0]
        options = dict(info.get("Options") or {})
        options.pop("com.docker.network.bridge.gateway_mode_ipv6", None)
        members = {
            c["Name"]: (c.get("IPv4Address"), c.get("IPv6Address"))
            for c in (info.get("Containers") or {}).values()
        }
        ipam = info.get("IPAM") or {}
        pools = sorted(json.dumps(c, sort_keys=True) for c in ipam.get("Config") or [])
        out[net] = (
            ipam.get("Driver"), ipam.get("Options") or {}, pools, options,
            info.get("Labels") or {}, info.get("Internal"),
            info.get("EnableIPv4"), info.get("EnableIPv6"), members,
        )  # fmt: skip
    return out


def run_fix(lab: Lab, where: str, command: str, docker: str) -> None:
    """One printed command, run by a shell in the namespace of whoever it is for; ``nft`` is the
    one this Docker's own root has (on a real host one nft writes and reads)."""
    env = dict(os.environ)
    wrapper = lab.state / "fixproof-bin"
    tools = {}
    nft = nft_of(GENERATIONS[docker].root)
    if nft != ("nft",):
        tools["nft"] = list(nft)
    if firewalld.bus_socket(lab).exists():
        # the lab's firewalld answers on its own bus: firewall-cmd as a shell on that host
        # runs it (its root's, on that bus; nothing of it reaches this machine's system bus)
        tools["firewall-cmd"] = firewalld.firewall_cmd_argv(lab)
    for tool, argv in tools.items():
        wrapper.mkdir(exist_ok=True)
        (wrapper / tool).write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
        (wrapper / tool).chmod(0o755)
    if tools:
        env["PATH"] = f"{wrapper}:{env['PATH']}"
    proc = subprocess.run(
        ["ip", "netns", "exec", lab.ns(WHERE[where]), "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, f"{command!r} as printed failed: {proc.stderr}"


@pytest.mark.parametrize(("scenario", "docker", "backend"), CASES)
def test_the_printed_fix_heals_the_host_and_opens_nothing(
    scenario: str, docker: str, backend: str | None, tmp_path: Path
) -> None:
    why_not = unavailable(GENERATIONS[docker])
    if why_not is not None:
        pytest.skip(f"not run: {why_not}")
    with lab_up(scenario, docker, backend) as lab:
        addresses, closed = listeners(lab)
        assert addresses
        before = reached(lab, addresses)
        networks = kept(lab)
        run = run_suites(tmp_path / "broken", "--target", "lab", "--lab-name", LAB)
        assert run.returncode == 1, run.output[-3000:]
        applied: list[tuple[str, list[str]]] = []
        # a fix may uncover what the fault hid (a host that starts tracking connections now
        # reassembles fragments: PMTU-03): each round's printed fixes are applied in turn
        for round_ in range(1, ROUNDS + 1):
            causes = run.results()["causes"]
            fixes = [(c["fix_where"], c["fix_commands"]) for c in causes if c["fix_commands"]]
            assert fixes or applied, json.dumps(causes, indent=1)[:4000]
            if not fixes:  # what is left has its fix in words only: REMAINS says what
                break
            for where, commands in fixes:
                assert where in WHERE, where
                for command in commands:
                    run_fix(lab, where, command, docker)
            applied += fixes
            run = run_suites(tmp_path / f"fixed-{round_}", "--target", "lab", "--lab-name", LAB)
            if run.returncode != 1:
                break
        remains = REMAINS.get(scenario, {}).get(docker, {})
        if remains:
            failing = {i["nodeid"] for i in run.results()["items"] if i["outcome"] == "failed"}
            assert run.returncode == 1, (applied, run.output[-4000:])
            assert failing == set(remains), (applied, failing, run.output[-4000:])
        else:
            assert run.returncode == 0, (applied, run.output[-4000:])
        # a fix that recreates a network (RT-06) keeps all of it but the mode it changes
        assert kept(lab) == networks, applied
        assert_opens_nothing(lab, addresses, closed, before, applied)


def test_every_scenario_with_a_host_fault_is_proven_or_says_why() -> None:
    """Each scenario that breaks something is proven here or listed with why not: the gap is
    visible, never silent."""
    faulty = {name for name, s in SCENARIOS.items() if s.expected_on(max(s.generations))}
    assert set(PROVEN) <= faulty
    for name, gens in UNPROVEN.items():
        assert name in faulty, name
        assert all(gens.values()), name  # each with its reason
        assert set(gens) <= SCENARIOS[name].generations, name
    # a proven scenario is proven on some generation; what is left there, REMAINS says why
    for name in PROVEN:
        assert SCENARIOS[name].generations - set(UNPROVEN.get(name, {})), name
    for name, by_gen in REMAINS.items():
        assert name in PROVEN, name
        assert all(why for items in by_gen.values() for why in items.values()), name


# faults beyond the host ------------------------------------------------------------------------
# the scenarios whose fault is another party's: its fix names the values that party needs
BEYOND = ("dns-v6-down", "no-rdnss", "dns64", "nat64-down", "pmtu-upstream")
# and those not proven, with why (the right value is the site's to know, not in any evidence)
UNPROVEN_BEYOND = {
    "dns-no-aaaa": "DNS-02's fix is the names' AAAA records: which address each name should "
    "have is the site's to know, not the harness's (the profile's expected address is what it "
    "compares with, not proof that it serves)",
    "apex-no-aaaa": "EP-01's fix is the apex's AAAA record: which address serves the name is "
    "not knowable by the harness",
    "endpoint-v4-only": "EP-02's fix is to make the name's IPv6 address answer or correct its "
    "stale AAAA: which is right, and the right address, are not knowable by the harness",
    "pmtu-far-blackhole": "PMTU-01's break is beyond the hop that said 1450, at a router no "
    "evidence names (its own Packet Too Big never arrives): the fix says where to look, and "
    "whose router that is is the site's to find",
    "a-only-trap": "DNS-05's fix is DNS64 with a NAT64 the site does not have: its prefix and "
    "gateway are the site's choice, in no evidence",
}
# the checks whose failure is a fault beyond the host, when it is a scenario's root cause
BEYOND_CHECKS = frozenset(
    {"DNS-01", "DNS-02", "DNS-04", "DNS-05", "RA-02", "RA-04", "NAT64-01", "PMTU-01", "EP-01",
     "EP-02"}
)  # fmt: skip

# a root cause of such a check that is the host's own after all (its fix_where is "host")
ON_THE_HOST = {"hostile-text": "DNS-01 finds the host's own resolv.conf line unreadable"}

BEYOND_CASES = [
    pytest.param(name, gen, backend, id=f"{name}@{gen}" + (f"-{backend}" if backend else ""))
    for gen in GENERATIONS
    for name in BEYOND
    if gen in SCENARIOS[name].generations
    for backend in (SCENARIOS[name].backends if GENERATIONS[gen].moby else (None,))
]


def wrong(name: str, value: str) -> str:
    """A value of the same kind that is none of the lab's: the fix told wrongly."""
    if name == "lifetime":
        return "1"
    if "/" in value:
        return "2001:db8:bad::/96"
    if ":" in value or ("." in value and value.replace(".", "").isdigit()):
        return "2001:db8:bad::1"
    return "wrong.invalid"


@pytest.mark.parametrize(("scenario", "docker", "backend"), BEYOND_CASES)
def test_the_printed_fix_beyond_the_host_heals_it_and_opens_nothing(
    scenario: str, docker: str, backend: str | None, tmp_path: Path
) -> None:
    why_not = unavailable(GENERATIONS[docker])
    if why_not is not None:
        pytest.skip(f"not run: {why_not}")
    with lab_up(scenario, docker, backend) as lab:
        addresses, closed = listeners(lab)
        assert addresses
        before = reached(lab, addresses)
        run = run_suites(tmp_path / "broken", "--target", "lab", "--lab-name", LAB)
        assert run.returncode == 1, run.output[-3000:]
        causes = run.results()["causes"]
        beyond = [(c["fix_where"], c["fix_values"]) for c in causes if c["fix_values"]]
        # the fault is another party's, and its fix names what that party needs, in its words
        assert beyond, json.dumps(causes, indent=1)[:4000]
        for c in causes:
            for name, values in c["fix_values"].items():
                assert all(v in c["fix"] for v in values), (name, values, c["fix"])
        # every value wrong: the party cannot carry it out
        for where, values in beyond:
            told = {n: [wrong(n, v) for v in vs] for n, vs in values.items()}
            with pytest.raises(LabError):
                realise(lab, [(where, told)])
        applied: list[tuple[str, object]] = []
        # each round's printed fixes: commands where there are any (run as printed where they
        # say), else the values, carried out by the party the fix is for
        for round_ in range(1, ROUNDS + 1):
            causes = run.results()["causes"]
            commands = [(c["fix_where"], c["fix_commands"]) for c in causes if c["fix_commands"]]
            told = [(c["fix_where"], c["fix_values"]) for c in causes if not c["fix_commands"]]
            told = [(where, values) for where, values in told if values]
            assert commands or told, (applied, [c["line"] for c in causes], run.output[-3000:])
            for where, listed in commands:
                assert where in WHERE, where
                for command in listed:
                    run_fix(lab, where, command, docker)
            realise(lab, told)
            applied += [*commands, *told]
            run = run_suites(tmp_path / f"fixed-{round_}", "--target", "lab", "--lab-name", LAB)
            if run.returncode != 1:
                break
        assert run.returncode == 0, (applied, run.output[-4000:])
        assert_opens_nothing(lab, addresses, closed, before, applied)


def test_every_scenario_with_a_fault_beyond_the_host_is_proven_or_says_why() -> None:
    """Each scenario whose root causes are all another party's is proven above or listed with
    why not."""
    beyond = {
        name
        for name, s in SCENARIOS.items()
        if (roots := s.causes_on(max(s.generations)))
        and roots <= BEYOND_CHECKS
        and name not in ON_THE_HOST
    }
    assert beyond == set(BEYOND) | set(UNPROVEN_BEYOND), beyond
    assert not set(BEYOND) & set(UNPROVEN_BEYOND)
