"""Root conftest: registers the reporting plugin and v6conform's command-line options (the same
two plugins an installed package registers through its `pytest11` entry points)."""

from __future__ import annotations

pytest_plugins = ("reports.plugin", "suites.plugin.options")
