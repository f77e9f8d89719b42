"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ("pytester",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="lab tests need root (network namespaces, dockerd)")
    for item in items:
        if item.get_closest_marker("lab"):
            item.add_marker(skip)
