"""The lab's published services (AF-02): containers of the host's own, each a busybox httpd
whose port is published on the host, as `docker run -p HOSTPORT:80` publishes it (every host
address, both families). Whether an IPv6 client keeps its address in the container depends on
how dockerd carries the connection: its DNAT rules (ip6tables) where the container has IPv6 and
Docker writes them, else its userland proxy, from which the container sees the gateway.

They look like a user's containers (no harness label): the harness finds them as it finds any
host's published ports, and where they are on an IPv6 network, as workloads too.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lab import topology as T
from lab.engine import engine_request
from lab.site import PublishedService
from lab.workloads import IMAGE, LIFETIME, _wait_past_dad, ensure_image, ipv6_networks

LABEL = "v6conform.lab.published"  # its value: the lab's name
TIMEOUT = ("/bin/busybox", "timeout", LIFETIME)
HTTPD = ("/bin/busybox", "httpd", "-f", "-p", str(T.PUBLISHED_CONTAINER_PORT), "-h", "/tmp")


def config(service: PublishedService, lab_name: str) -> dict[str, Any]:
    port = f"{T.PUBLISHED_CONTAINER_PORT}/tcp"
    return {
        "Image": IMAGE,
        # httpd in the foreground; the container's upper bound if the lab is never brought down
        "Cmd": [*TIMEOUT, *HTTPD],
        "Labels": {LABEL: lab_name},
        "StopSignal": "SIGKILL",
        "ExposedPorts": {port: {}},
        "HostConfig": {
            "NetworkMode": service.network,
            "PortBindings": {port: [{"HostPort": str(service.host_port)}]},
        },
    }


def start(sock: Path, lab_name: str, host_netns: str, services: Sequence[PublishedService]) -> None:
    """Start the services, each settled past DAD as a long-running one is."""
    if not services:
        return
    ensure_image(sock)

    def one(service: PublishedService) -> int:
        query = urllib.parse.urlencode({"name": service.name})
        made = engine_request(
            sock, "POST", f"/containers/create?{query}", config(service, lab_name)
        )
        engine_request(sock, "POST", f"/containers/{made['Id']}/start")
        return int(engine_request(sock, "GET", f"/containers/{made['Id']}/json")["State"]["Pid"])

    bridges = ipv6_networks(sock)
    used = [bridges[s.network] for s in services if s.network in bridges]
    with ThreadPoolExecutor(4) as pool:
        pids = list(pool.map(one, services))
        _wait_past_dad(host_netns, used, pids, pool)
