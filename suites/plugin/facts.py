"""The facts of an item that its rule does not know — which container, on which network — for
the root-cause step (rules.judgement.FACTS, reports.causes)."""

from __future__ import annotations

from probes.docker import ProbeContainer
from probes.resolvconf import ResolvConf
from probes.resolver import EMBEDDED_DNS
from rules.judgement import fact


def of_container(kind: str, container: ProbeContainer) -> str:
    """A fact about one container on one network: ``route:web-1 on v6net``."""
    return on_network(kind, container.name, container.network.name)


def on_network(kind: str, name: str, network: str) -> str:
    return fact(kind, f"{name} on {network}")


def container_path(container: ProbeContainer) -> tuple[str, ...]:
    """What a container's traffic beyond the host rests on: its own address and route, its
    gateway, and its network's forwarding path."""
    return path_of(container.name, container.network.name)


def path_of(name: str, network: str) -> tuple[str, ...]:
    return (on_network("route", name, network), fact("gateway", network), fact("path", network))


def lookup_path(name: str, network: str, conf: ResolvConf, *, daemon_major: int) -> tuple[str, ...]:
    """What a container's lookups rest on besides its nameservers: its path beyond the host,
    where its queries take it — a nameserver of its own, or Docker's embedded DNS up to 27
    (which asks the upstream from the container's namespace; from 28 on it asks from the
    host's, moby#48290, so the container's path plays no part)."""
    own = [ns for ns in conf.used_nameservers if str(ns.transport_ip) != EMBEDDED_DNS]
    if own or daemon_major < 28:
        return path_of(name, network)
    return (on_network("route", name, network),)


def copied_from_host(conf: ResolvConf, host: ResolvConf) -> tuple[str, ...]:
    """The host's resolv.conf, as a fact a container's rests on, when a line that breaks the
    container's is one that breaks the host's too: Docker copied it (20.10 copies the file)."""
    broken = {p.text for p in host.breaking if p.line}
    if any(p.text in broken for p in conf.breaking if p.line):
        return (fact("resolv", "this host"),)
    return ()
