"""Where the checks look: the target is chosen at configure time, before collection, because
the checks are parametrized over its Docker networks; a lab brought up for the run comes down
with it, also on SIGTERM."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import pytest

from lab import Lab, LabError
from lab.hints import INVOKED
from probes.errors import HarnessError
from probes.profile import load_profile
from probes.target import Target
from probes.workloads import parse_selector
from reports.plugin import TARGET_LABEL, abort
from reports.results import (
    CATALOG,
    LOCATE,
    RERUN,
    RERUN_COMMAND,
    SUITE_PROPERTIES,
)
from suites.catalog import CHECKS
from suites.plugin.keys import LAB, SELECTOR, TARGET
from suites.plugin.networks import ipv6_networks
from suites.plugin.options import CHOICES
from suites.plugin.site import locate


def pytest_configure(config: pytest.Config) -> None:
    _stop_on_signals()  # first: a lab that is coming up comes down again
    scenario = config.getoption("lab")
    mode = config.getoption("target") or config.getini("v6conform_target")
    name = config.getoption("lab_name") or config.getini("v6conform_lab_name")
    profile_path = config.getoption("profile") or config.getini("v6conform_profile") or None
    properties = config.stash.setdefault(SUITE_PROPERTIES, {})
    properties["profile"] = profile_path or (
        "the lab's own" if scenario or mode == "lab" else "built-in defaults"
    )
    generation = config.getoption("docker")
    backend = config.getoption("firewall_backend")
    uplink = config.getoption("uplink")
    docker_host = config.getoption("docker_host")
    try:
        for option, value in (
            ("--target", mode),
            ("--docker", generation),
            ("--firewall-backend", backend),
        ):
            if value and value not in CHOICES[option]:
                raise LabError(f"{option} {value}: use one of {', '.join(CHOICES[option])}")
        picks = {
            "--docker": (generation, "the Docker the lab brings up"),
            "--firewall-backend": (backend, "the firewall backend of the lab's Docker"),
        }
        for option, (value, what) in picks.items():
            if value and not scenario:
                raise LabError(
                    f"{option} {value} picks {what}: use it with --lab SCENARIO (a lab "
                    "already up, or a real host, runs the Docker it has)"
                )
        local_only = {
            "--uplink": (uplink, "the uplink"),
            "--docker-host": (docker_host, "the Docker endpoint"),
        }
        for option, (value, what) in local_only.items():
            if value and (scenario or mode == "lab"):
                raise LabError(
                    f"{option} {value} names {what} of a real host: a lab has its own (`python "
                    f"-m lab --name {name} describe` shows it); leave {option} out with "
                    f"{'--lab' if scenario else '--target lab'}"
                )
        config.stash[SELECTOR] = parse_selector(
            config.getoption("containers") or config.getini("v6conform_containers")
        )
        profile = load_profile(profile_path) if profile_path else None
        if scenario or mode == "lab":
            lab = Lab(name)
            if scenario:
                lab.up(
                    scenario,
                    generation or config.getini("v6conform_lab_docker"),
                    backend or config.getini("v6conform_lab_firewall_backend") or None,
                )
                config.stash[LAB] = lab
            target = Target.from_lab(lab.description(), profile)
        else:
            target = Target.local(docker_host=docker_host, profile=profile, uplink=uplink)
    except (LabError, HarnessError) as exc:
        abort(config, str(exc))
    config.stash[RERUN] = _selection(config, target)
    # run by the `v6conform` command: its rerun lines say `v6conform …`, as the user ran it
    if os.environ.get(INVOKED):
        config.stash[RERUN_COMMAND] = "v6conform"
    config.stash[TARGET] = target
    config.stash[TARGET_LABEL] = target.label
    config.stash[CATALOG] = CHECKS
    config.stash[LOCATE] = locate
    properties["profile"] = target.profile.source
    properties["docker_host"] = target.docker_host
    # the networks and workloads, asked now rather than at collection: a --containers that
    # names nothing running stops the run here, in one line, before anything is probed
    ipv6_networks(config)


def _selection(config: pytest.Config, target: Target) -> tuple[str, ...]:
    """The options that chose what this run probed, as its items' rerun lines carry them: the
    lab (scenario, name, Docker generation and backend) or the target, the Docker endpoint, the
    profile (absolute: the line pastes anywhere), the uplink and the containers."""
    scenario = config.getoption("lab")
    name = config.getoption("lab_name") or config.getini("v6conform_lab_name")
    words: list[str] = []
    if scenario:
        words += ["--lab", scenario, "--lab-name", name]
        words += ["--docker", config.getoption("docker") or config.getini("v6conform_lab_docker")]
        backend = config.getoption("firewall_backend") or config.getini(
            "v6conform_lab_firewall_backend"
        )
        if backend:
            words += ["--firewall-backend", backend]
    elif target.lab is not None:
        words += ["--target", "lab", "--lab-name", name]
    else:
        words += ["--target", "local"]
        if config.getoption("docker_host") or os.environ.get("DOCKER_HOST"):
            words += ["--docker-host", target.docker_host]
        if target.uplink:
            words += ["--uplink", target.uplink]
    profile = config.getoption("profile") or config.getini("v6conform_profile")
    if profile:
        words += ["--profile", str(Path(config.invocation_params.dir, profile).resolve())]
    containers = config.getoption("containers") or config.getini("v6conform_containers")
    if containers and containers != "all":
        words += ["--containers", containers]
    return tuple(words)


def _stop_on_signals() -> None:
    """SIGTERM (a CI runner timing out, `kill`) tears down like Ctrl-C: containers, lab. A run
    that inherited SIGINT ignored (a shell script's background job, `v6conform &`) gets Python's
    Ctrl-C back: else SIGINT is lost, and SIGTERM with it, and the run goes on to its end."""
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # As Ctrl-C, not a KeyboardInterrupt raised here: inside an event loop, asyncio's Runner
    # turns SIGINT into cancelling the running task, so the fixtures' finally blocks run; an
    # exception raised from this frame can land in the loop's own machinery and escape it.
    signal.raise_signal(signal.SIGINT)


def pytest_unconfigure(config: pytest.Config) -> None:
    lab = config.stash.get(LAB, None)
    if lab is not None:
        lab.down()  # a first signal meanwhile lets it finish


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(TARGET, None)
    if target is None:
        return []
    lines = [
        f"v6conform target: {target.label} (docker {target.docker_host}, "
        f"profile {target.profile.source})"
    ]
    if target.lab is None:  # a real host: say what goes onto its network before it goes
        uplink = target.uplink or "its uplink"
        lines.append(
            f"v6conform sends on this host's network: Router Solicitations on {uplink}; DNS "
            f"queries to its nameservers ({target.resolv_conf}, the profile's, the RAs'); from "
            "a probe container per IPv6 network, echoes to its gateway and the profile's "
            "anchors, DNS lookups and connects to the profile's endpoints; one TCP connect to "
            "each port the host's containers publish over IPv6 (AF-02; --containers none: "
            "none) (README.md: "
            '"Checking a real host, safely")'
        )
    return lines


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET]
