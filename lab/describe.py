"""What a lab says of itself: ``python -m lab describe``'s JSON, and the target profile it
writes for the checks (what this lab, if healthy, provides)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from lab import glibc_image
from lab import networks as docker_networks
from lab import topology as T
from lab.daemon import Daemon
from lab.hints import up_command
from lab.scenarios import Scenario
from lab.site import Site

if TYPE_CHECKING:
    from lab.lab import Lab


def describe(lab: Lab, sc: Scenario, site: Site, daemon: Daemon) -> dict[str, Any]:
    networks = docker_networks.inspect(lab)
    prefix = site.addressing.container_prefix
    if prefix is None:  # Docker's own pool: the /48 its subnets came from
        subnets = [n["subnet6"] for n in networks.values() if n["subnet6"]]
        prefix = str(ipaddress.IPv6Network(subnets[0]).supernet(new_prefix=48))
    writes_ip6tables = site.host.docker_writes_ip6tables(daemon.major)
    return {
        "name": lab.name,
        "scenario": sc.name,
        "summary": sc.summary,
        "docker_host": lab.docker_host,
        "docker": dataclasses.asdict(daemon),
        "state_dir": str(lab.state),
        "profile": str(lab.state / "profile.toml"),
        "namespaces": {r: lab.ns(r) for r in lab.roles(site)},
        "host": {
            "uplink": T.UPLINK,
            "uplink_address": T.HOST_ON_UPLINK6,
            "bridge": T.BRIDGE,
            "container_prefix": prefix,
            "networks": networks,
            "resolv_conf": str(lab.state / "resolv.conf"),
        },
        "upstream": {"router": T.UPSTREAM_ON_UPLINK6, "rdnss": list(site.router.rdnss)},
        "second_router": None
        if site.second_router is None
        else {
            "address": T.ROUTER2_ON_UPLINK6,
            "mac": T.ROUTER2_MAC,
            "preference": site.second_router.preference,
            "forwards": site.second_router.forwards,
            "source_lladdr": site.second_router.source_lladdr,
        },
        "dns": {
            "servers": list(site.host.nameservers),
            "zone": T.ZONE,
            "names": {n: {"aaaa": a6, "a": a4} for n, (a6, a4) in T.ZONE_NAMES.items()},
        },
        "anchors": list(T.ANCHORS6),
        "endpoints": list(T.ENDPOINTS),
        # the host's own containers with a published port (AF-02), as `docker run -p` makes them
        "published": [dataclasses.asdict(p) for p in site.published],
        "far_end": {"namespace": lab.ns("inet"), "address": T.INET_ON_CORE6},
        "ipv6_mode": docker_networks.intended_modes(site.profile, writes_ip6tables, networks),
        "family": {"prefer": site.profile.family_prefer, "images": [glibc_image.IMAGE]},
        "nat64": {
            "prefix": site.dns.dns64_prefix,
            "translator": "tayga" if site.far_end.translator else None,
            "expected": site.profile.dns64,
            "ipv4_only": list(site.profile.ipv4_only),
        },
        "expected_failures": sorted(sc.expected_on(daemon.generation)),
        "root_causes": sorted(sc.causes_on(daemon.generation)),
    }


def profile_toml(d: dict[str, Any]) -> str:
    """The lab's own target profile: what this lab, if healthy, provides."""

    def q(v: str) -> str:
        return json.dumps(v)

    names = d["dns"]["names"]
    lines = [
        f"# profile written by `{up_command(d['name'], d['scenario'])}`",
        f"anchors = [{', '.join(q(a) for a in d['anchors'])}]",
        f"far_end_namespace = {q(d['far_end']['namespace'])}",
        f"nameservers = [{', '.join(q(s) for s in d['dns']['servers'])}]",
        f"rdnss = [{q(T.DNS6)}]",
        f"dnssl = [{', '.join(q(s) for s in T.DNSSL)}]",
        f"dns64 = {str(d['nat64']['expected']).lower()}",
        f"ipv4_only = [{', '.join(q(n) for n in d['nat64']['ipv4_only'])}]",
        "ra_managed = false",
        "ra_other = false",
        f"ra_max_interval = {T.RA_MAX_INTERVAL}",
        "",
    ]
    if d.get("ipv6_mode"):
        lines += ["[ipv6_mode]", *(f"{q(n)} = {q(m)}" for n, m in d["ipv6_mode"].items()), ""]
    family = d.get("family") or {}
    if family.get("prefer") or family.get("images"):
        lines.append("[family]")
        if family.get("prefer"):
            lines.append(f"prefer = {q(family['prefer'])}")
        if family.get("images"):
            lines.append(f"images = [{', '.join(q(i) for i in family['images'])}]")
        lines.append("")
    for name in d["endpoints"]:
        lines += ["[[endpoints]]", f"name = {q(name)}", 'scheme = "http"', "port = 80", ""]
    for name, rec in names.items():
        if not rec["aaaa"]:
            continue  # the profile lists names that must resolve to AAAA
        lines += ["[[names]]", f"name = {q(name)}"]
        if rec["aaaa"]:
            lines.append(f"aaaa = [{q(rec['aaaa'])}]")
        if rec["a"]:
            lines.append(f"a = [{q(rec['a'])}]")
        lines.append("")
    return "\n".join(lines)
