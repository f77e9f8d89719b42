"""Loads the suites' plugin (suites/plugin/, one module per concern) for the checks in this
folder: pytest finds hooks and fixtures by name here. No check imports this file; they import
what they need from suites.plugin."""

from __future__ import annotations

from suites.plugin.networks import any_network, network, v6only_network
from suites.plugin.params import pytest_generate_tests
from suites.plugin.parts import ALL, survey
from suites.plugin.parts.routing import modes
from suites.plugin.site import container
from suites.plugin.target import (
    pytest_configure,
    pytest_report_header,
    pytest_unconfigure,
    target,
)
from suites.plugin.workloads import any_container, resolv_seat

# each survey part's session fixture, under the part's name (site, routers, ruleset…)
globals().update({part.name: part.fixture for part in ALL})

__all__ = [
    "any_container",
    "any_network",
    "container",
    "modes",
    "network",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_unconfigure",
    "resolv_seat",
    "survey",
    "target",
    "v6only_network",
    *(part.name for part in ALL),
]
