"""Every printed fix, proven: for each scenario whose fault has a fix with commands, on every
Docker generation (and Docker 29 firewall backend) the matrix runs it on, the lab is broken as
the scenario says, the suites run, and each cause's ``fix_commands`` from ``results.json`` are run
exactly as printed where ``fix_where`` says (this host's namespace; the upstream router's for
a fix that is the router's); the suites run again and must exit 0, and nothing that was closed
before may be reachable afterwards: a TCP port no one published, on a container of each IPv6
network, tried from the far end before and after (on a masqueraded or internal network it must
stay closed whatever it was before).

Scenarios whose fault has no commands yet (their fix is in words only) are listed in
``UNPROVEN`` with the reason, so the gap is visible here rather than silent.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.suite_run import lab_command, run_suites
from lab import SCENARIOS, Lab
from lab.dockers import GENERATIONS, nft_of, unavailable
from lab.workloads import IMAGE, ensure_image
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
LAB = lab_name("v6cfix", env="V6CONFORM_FIXPROOF_LAB")

# the scenarios whose fault a printed fix heals, with where the fix is run
PROVEN = (
    "forwarding-off", "forward-drop", "pmtu-blackhole", "pmtu-refragment", "unrouted-prefix",
)  # fmt: skip
# and those not proven yet, with why (a fix in words only)
UNPROVEN = {
    "nat66": "RT-06's fix recreates the networks in routed mode: no single command",
    "build-resolv": "RC-02's fix is dockerd's daemon.json and a restart",
}
# who runs a fix, and in which of the lab's namespaces that is
WHERE = {"host": "host", "upstream router": "upstream"}
ROUNDS = 2  # the fault's fixes, then what they uncovered
PORT = 8089  # what no one published: a container's own listener
LISTENER = "v6c-fixproof"

CASES = [
    pytest.param(name, gen, backend, id=f"{name}@{gen}" + (f"-{backend}" if backend else ""))
    for gen in GENERATIONS
    for name in PROVEN
    if gen in SCENARIOS[name].generations
    for backend in (SCENARIOS[name].backends if GENERATIONS[gen].moby else (None,))
]


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


def run_fix(lab: Lab, where: str, command: str, docker: str) -> None:
    """One printed command, run by a shell in the namespace of whoever it is for; ``nft`` is the
    one this Docker's own root has (on a real host one nft writes and reads)."""
    env = dict(os.environ)
    nft = nft_of(GENERATIONS[docker].root)
    if nft != ("nft",):
        wrapper = lab.state / "fixproof-bin"
        wrapper.mkdir(exist_ok=True)
        (wrapper / "nft").write_text("#!/bin/sh\nexec " + " ".join(nft) + ' "$@"\n')
        (wrapper / "nft").chmod(0o755)
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
        run = run_suites(tmp_path / "broken", "--target", "lab", "--lab-name", LAB)
        assert run.returncode == 1, run.output[-3000:]
        applied: list[tuple[str, list[str]]] = []
        # a fix may uncover what the fault hid (a host that starts tracking connections now
        # reassembles fragments: PMTU-03): each round's printed fixes are applied in turn
        for round_ in range(1, ROUNDS + 1):
            causes = run.results()["causes"]
            fixes = [(c["fix_where"], c["fix_commands"]) for c in causes if c["fix_commands"]]
            assert fixes, (applied, json.dumps(causes, indent=1)[:4000])
            for where, commands in fixes:
                assert where in WHERE, where
                for command in commands:
                    run_fix(lab, where, command, docker)
            applied += fixes
            run = run_suites(tmp_path / f"fixed-{round_}", "--target", "lab", "--lab-name", LAB)
            if run.returncode != 1:
                break
        assert run.returncode == 0, (applied, run.output[-4000:])
        after = reached(lab, addresses)
        # nothing the site keeps closed is reachable: what was closed stays closed, and a
        # network that opened is one whose Docker filters nothing by design (routed, no
        # ip6tables: the healthy site's own state)
        opened = [net for net in addresses if after[net] and not before[net] and net in closed]
        assert not opened, (applied, closed, before, after)
        assert not [net for net in closed if after[net]], (applied, closed, after)


def test_every_scenario_with_a_host_fault_is_proven_or_says_why() -> None:
    """Each scenario that breaks something is proven here or listed with why not: the gap is
    visible, never silent."""
    faulty = {name for name, s in SCENARIOS.items() if s.expected_on(max(s.generations))}
    assert set(PROVEN) <= faulty
    assert not set(PROVEN) & set(UNPROVEN)
