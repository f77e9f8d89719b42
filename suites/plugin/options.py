"""v6conform's command-line options and ini defaults, in the pytest group "v6conform": a plugin
of its own, loaded by the root conftest in a checkout and through the `pytest11` entry point
where the package is installed (so `v6conform`, and `pytest` on the installed suites, know them)."""

from __future__ import annotations

import pytest

from lab.dockers import DEFAULT, FIREWALL_BACKENDS, GENERATIONS

# the values each option takes: checked at configure time (suites/plugin/target.py), so that a
# wrong one stops the run in one line with exit 3 as every other mistake of a user's does
# (argparse's choices would say it in four, with pytest's usage status 4)
CHOICES = {
    "--target": ("local", "lab"),
    "--docker": tuple(GENERATIONS),
    "--firewall-backend": FIREWALL_BACKENDS,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("v6conform", "v6conform: which host to check, and where reports go")
    group.addoption(
        "--target",
        metavar="{local,lab}",
        default=None,
        help="local: this host (its network namespace, its Docker daemon; the default). "
        "lab: a lab already up (`python -m lab --name NAME up`), left as it is.",
    )
    group.addoption(
        "--lab",
        metavar="SCENARIO",
        default=None,
        help="bring the built-in lab up in SCENARIO (`python -m lab scenarios`), check it, "
        "and tear it down afterwards",
    )
    group.addoption(
        "--lab-name",
        metavar="NAME",
        default=None,
        help="name of the lab to use or create (default v6c)",
    )
    group.addoption(
        "--docker",
        metavar="GENERATION",
        default=None,
        help="with --lab: the Docker generation the lab runs: "
        + ", ".join(f"{g.name} ({g.release})" for g in GENERATIONS.values())
        + f"; default {DEFAULT}. Newer ones run from a Debian root made once and cached",
    )
    group.addoption(
        "--firewall-backend",
        metavar="{" + ",".join(FIREWALL_BACKENDS) + "}",
        default=None,
        help="with --lab: the lab's dockerd's --firewall-backend (Docker 29 on; default: "
        "Docker's own, iptables)",
    )
    group.addoption(
        "--docker-host",
        metavar="URL",
        default=None,
        help="Docker endpoint of a local target (default: $DOCKER_HOST, else "
        "unix:///var/run/docker.sock)",
    )
    group.addoption(
        "--profile",
        metavar="FILE",
        default=None,
        help="TOML profile of what the host must provide (the lab writes its own)",
    )
    group.addoption(
        "--uplink",
        metavar="IFACE",
        default=None,
        help="the host's upstream interface (default: that of its IPv6 default route)",
    )
    group.addoption(
        "--containers",
        metavar="WHICH",
        default=None,
        help="the host's own running containers to check as well as the probe containers, "
        "read-only from their network namespaces (GW-02, GW-03, RT-02, RC-01): all (default: "
        "every running container on an IPv6 network), none, NAME[,NAME...], label=KEY[=VALUE], "
        "compose=PROJECT",
    )
    parser.addini("v6conform_target", "default for --target", default="local")
    parser.addini("v6conform_containers", "default for --containers", default="all")
    parser.addini("v6conform_lab_name", "default for --lab-name", default="v6c")
    parser.addini("v6conform_lab_docker", "default for --docker", default=DEFAULT)
    parser.addini("v6conform_lab_firewall_backend", "default for --firewall-backend", default="")
    parser.addini("v6conform_profile", "default for --profile", default="")
