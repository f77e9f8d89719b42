"""Loads the suites' plugin (suites/plugin/, one module per concern) for the checks in this
folder: pytest finds hooks and fixtures by name here. No check imports this file; they import
what they need from suites.plugin."""

from __future__ import annotations

from suites.plugin.networks import any_network, network
from suites.plugin.params import pytest_generate_tests
from suites.plugin.site import container, site, site_if_any, uplink
from suites.plugin.target import (
    pytest_configure,
    pytest_report_header,
    pytest_unconfigure,
    target,
)

__all__ = [
    "any_network",
    "container",
    "network",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_unconfigure",
    "site",
    "site_if_any",
    "target",
    "uplink",
]
