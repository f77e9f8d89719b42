"""Loads the suites' plugin (suites/plugin/, one module per concern) for the checks in this
folder: pytest finds hooks and fixtures by name here. No check imports this file; they import
what they need from suites.plugin."""

from __future__ import annotations

from suites.plugin.networks import any_network, network
from suites.plugin.params import pytest_generate_tests
from suites.plugin.routers import routers
from suites.plugin.site import (
    bridges_settled,
    container,
    docker_endpoint,
    probe_containers,
    site,
    uplink,
)
from suites.plugin.survey import survey
from suites.plugin.target import (
    pytest_configure,
    pytest_report_header,
    pytest_unconfigure,
    target,
)
from suites.plugin.workloads import (
    any_container,
    resolv_seat,
    workload_resolvers,
    workload_views,
)

__all__ = [
    "any_container",
    "any_network",
    "bridges_settled",
    "container",
    "docker_endpoint",
    "network",
    "probe_containers",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_unconfigure",
    "resolv_seat",
    "routers",
    "site",
    "survey",
    "target",
    "uplink",
    "workload_resolvers",
    "workload_views",
]
