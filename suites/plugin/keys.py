"""What the suites keep in pytest's stash: one key per thing found once a run."""

from __future__ import annotations

from typing import TypeVar

import pytest

from lab import Lab
from probes.docker import NetworkInfo
from probes.resolvconf import ResolvConf
from probes.target import Target
from probes.workloads import Selector, Workload

T = TypeVar("T")
TARGET = pytest.StashKey[Target]()
LAB = pytest.StashKey[Lab]()
NETWORKS = pytest.StashKey[list[NetworkInfo] | str]()  # the networks, or why there are none
# the default bridge, where it has no IPv6: `docker run` and builds land there all the same
PLAIN_BRIDGE = pytest.StashKey[NetworkInfo | None]()
HOST_RESOLV = pytest.StashKey[ResolvConf]()  # the host's resolv.conf, parsed at collection
NO_DOCKER = pytest.StashKey[str]()  # why the Docker daemon could not be asked, if it could not
SELECTOR = pytest.StashKey[Selector]()  # which of the host's own containers to check
WORKLOADS = pytest.StashKey[list[Workload]]()  # those found at collection
