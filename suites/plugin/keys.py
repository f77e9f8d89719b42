"""What the suites keep: in pytest's stash, one key per thing found once a run; in the survey,
one typed key per part (``await survey.get(SITE)`` is a Site)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import pytest

from lab import Lab
from probes.docker import NetworkInfo
from probes.resolvconf import ResolvConf
from probes.target import Target
from probes.workloads import Selector, Workload

if TYPE_CHECKING:
    from probes import build, family, ifaddr, resolver
    from probes.docker import DockerEndpoint, ProbeContainer
    from probes.errors import HarnessError
    from probes.firewall import Ruleset
    from probes.netmode import Ipv6Mode
    from probes.netspec import NetworkSpec
    from rules.gw import GatewayExchange
    from suites.plugin.parts.dns import Answers
    from suites.plugin.parts.endpoints import EndpointsSeen
    from suites.plugin.parts.nat64 import Nat64Survey
    from suites.plugin.parts.pmtu import PathMtuSurvey
    from suites.plugin.parts.routing import Reachability, UplinkState
    from suites.plugin.routers import DefaultRouters, RouterRound
    from suites.plugin.site import Site
    from suites.plugin.workloads import WorkloadViews

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


@dataclass(frozen=True, slots=True)
class PartKey(Generic[T]):
    """A survey part's name, typed by what it finds (suites.plugin.survey)."""

    name: str


Reports = dict[str, "resolver.ResolverReport | HarnessError"]
DOCKER_ENDPOINT: PartKey[DockerEndpoint] = PartKey("docker_endpoint")
PROBE_CONTAINERS: PartKey[list[ProbeContainer]] = PartKey("probe_containers")
BRIDGES_SETTLED: PartKey[dict[str, ifaddr.Snapshot]] = PartKey("bridges_settled")
SITE_PART: PartKey[Site] = PartKey("site")
UPLINK: PartKey[str | None] = PartKey("uplink")
ROUTERS: PartKey[RouterRound] = PartKey("routers")
DEFAULT_ROUTERS: PartKey[DefaultRouters] = PartKey("default_routers")
WORKLOAD_VIEWS: PartKey[WorkloadViews] = PartKey("workload_views")
WORKLOAD_RESOLVERS: PartKey[dict[str, resolver.ResolverReport | str | HarnessError]] = PartKey(
    "workload_resolvers"
)
ANSWERS: PartKey[Answers] = PartKey("answers")
CONTAINER_LOOKUPS: PartKey[Reports] = PartKey("container_lookups")
ENDPOINTS_SEEN: PartKey[EndpointsSeen] = PartKey("endpoints_seen")
GATEWAY_EXCHANGES: PartKey[dict[str, list[GatewayExchange] | str]] = PartKey("gateway_exchanges")
NAT64_PATHS: PartKey[Nat64Survey] = PartKey("nat64_paths")
PATH_MTU: PartKey[PathMtuSurvey] = PartKey("path_mtu")
CONTAINER_RESOLVERS: PartKey[Reports] = PartKey("container_resolvers")
BUILD_STEPS: PartKey[dict[build.Builder, build.BuildResult]] = PartKey("build_steps")
REACHABILITY: PartKey[Reachability] = PartKey("reachability")
UPLINK_STATE: PartKey[UplinkState | str] = PartKey("uplink_state")
RULESET: PartKey[Ruleset | str] = PartKey("ruleset")
NETWORK_SPECS: PartKey[dict[str, NetworkSpec | str]] = PartKey("network_specs")
MODES: PartKey[dict[str, Ipv6Mode]] = PartKey("modes")  # by network name
FAMILY_ORDERS: PartKey[dict[str, list[family.FamilyReport | HarnessError]]] = PartKey(
    "family_orders"
)
