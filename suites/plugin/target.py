"""Where the checks look: the target is chosen at configure time, before collection, because
the checks are parametrized over its Docker networks; a lab brought up for the run comes down
with it, also on SIGTERM."""

from __future__ import annotations

import signal
from types import FrameType

import pytest

from lab import Lab, LabError
from probes.errors import HarnessError
from probes.profile import load_profile
from probes.target import Target
from probes.workloads import parse_selector
from reports.plugin import TARGET_LABEL, abort
from reports.results import (
    CATALOG,
    LOCATE,
    SUITE_PROPERTIES,
)
from suites.catalog import CHECKS
from suites.plugin.keys import LAB, SELECTOR, TARGET
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
    try:
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
            target = Target.local(
                docker_host=config.getoption("docker_host"),
                profile=profile,
                uplink=config.getoption("uplink"),
            )
    except (LabError, HarnessError) as exc:
        abort(config, str(exc))
    config.stash[TARGET] = target
    config.stash[TARGET_LABEL] = target.label
    config.stash[CATALOG] = CHECKS
    config.stash[LOCATE] = locate
    properties["profile"] = target.profile.source
    properties["docker_host"] = target.docker_host


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
            "anchors, DNS lookups and connects to the profile's endpoints (README.md: "
            '"Checking a real host, safely")'
        )
    return lines


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET]
