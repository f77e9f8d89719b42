"""The lab's Docker networks: v6net (and the faults' others) created on its dockerd, and all of
them as the dockerd reports them, with the IPv6 mode the lab's profile holds each to."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lab import topology as T
from lab.engine import engine_request
from lab.site import Networks, Profile

if TYPE_CHECKING:
    from lab.lab import Lab

BRIDGE_NAME = "com.docker.network.bridge.name"
GATEWAY_MODE = "com.docker.network.bridge.gateway_mode_ipv6"


def create(lab: Lab, networks: Networks) -> None:
    mode = networks.gateway_mode_ipv6
    for net in networks.created:
        if net.subnet4 is not None and not net.ipv6:
            lab.docker(
                "network", "create", "--subnet", net.subnet4,
                "-o", f"{BRIDGE_NAME}={net.bridge}", net.name,
            )  # fmt: skip
            continue
        if net.subnet4 is not None:
            subnet6 = [] if net.subnet6 is None else ["--subnet", net.subnet6]
            options = ["-o", f"{GATEWAY_MODE}={mode}"] if mode else []
            internal = ["--internal"] if net.internal else []
            lab.docker(
                "network", "create", "--ipv6", *internal, *subnet6, "--subnet", net.subnet4,
                "-o", f"{BRIDGE_NAME}={net.bridge}", *options, net.name,
            )  # fmt: skip
            continue
        # the lab's docker CLI (20.10) has no --ipv4=false: ask the Engine API
        api_options = {BRIDGE_NAME: net.bridge}
        if mode:
            api_options[GATEWAY_MODE] = mode
        engine_request(
            lab.docker_socket,
            "POST",
            "/networks/create",
            {
                "Name": net.name,
                "Driver": "bridge",
                "EnableIPv4": False,
                "EnableIPv6": True,
                "IPAM": {"Config": [{"Subnet": net.subnet6}]},
                "Options": api_options,
            },
        )


def inspect(lab: Lab) -> dict[str, dict[str, Any]]:
    """The lab's networks as its dockerd reports them (subnets may come from its pool)."""
    names = lab.docker("network", "ls", "--format", "{{.Name}}").split()
    ours = ("bridge", T.USER_NETWORK, T.V6ONLY_NETWORK, T.INTERNAL_NETWORK)
    wanted = [n for n in ours if n in names]
    found = {}
    for net in json.loads(lab.docker("network", "inspect", *wanted)):
        configs = (net.get("IPAM") or {}).get("Config") or []
        six = [c["Subnet"] for c in configs if ":" in c.get("Subnet", "")]
        options = net.get("Options") or {}
        found[net["Name"]] = {
            "bridge": options.get(BRIDGE_NAME) or "br-" + net["Id"][:12],
            "subnet6": six[0] if six and net.get("EnableIPv6") else None,
            "gateway_mode_ipv6": options.get(GATEWAY_MODE),
            "ipv4": net.get("EnableIPv4", True),
        }
    return found


def intended_modes(
    profile: Profile, docker_writes_ip6tables: bool, networks: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """What the lab's profile holds each IPv6 network to (RT-06): the profile's demand, else
    the mode the lab gave it on purpose."""
    modes = {}
    for name, net in networks.items():
        if net["subnet6"] is None:
            continue
        if profile.ipv6_mode is not None:
            modes[name] = profile.ipv6_mode
        elif docker_writes_ip6tables:
            modes[name] = "routed" if net["gateway_mode_ipv6"] == "routed" else "nat"
        else:
            modes[name] = "routed"  # no NAT66 in this Docker, or ip6tables off
    return modes
