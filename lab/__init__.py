"""The built-in lab: a whole IPv6 Docker site in network namespaces on one machine."""

from lab.errors import LabError
from lab.lab import DEFAULT_NAME, Lab
from lab.scenarios import SCENARIOS, Scenario

__all__ = ["DEFAULT_NAME", "SCENARIOS", "Lab", "LabError", "Scenario"]
