"""Bring the lab up and down: three namespaces, a dedicated dockerd, radvd and unbound.

Everything a lab creates carries its name: namespaces ``NAME-host``, ``NAME-upstream`` and
``NAME-inet``, and the directory ``/var/lib/v6conform-lab/NAME`` (configs, pid files, logs, the
Docker socket, data-root and exec-root). ``down`` removes exactly that, whatever state it is in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import ipaddress
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import dockers
from lab import topology as T
from lab import workloads as workload_containers
from lab.dockers import Generation, RootError
from lab.engine import engine_request
from lab.errors import LabError
from lab.processes import (
    HeldProcess,
    PidRecord,
    ancestry,
    argv_of,
    finishing,
    mounts_under,
    names_path,
    net_ns_of,
    signal_all,
    spawn,
)
from lab.scenarios import SCENARIOS, Scenario
from lab.shell import run, say
from probes.docker import NEWEST_KNOWN_MAJOR

__all__ = ["DAEMONS", "DEFAULT_NAME", "STATE_ROOT", "Daemon", "Lab", "run"]

STATE_ROOT = Path(os.environ.get("V6CONFORM_LAB_ROOT", "/var/lib/v6conform-lab"))
DEFAULT_NAME = "v6c"
DAEMONS = ("dockerd", "radvd", "unbound", "tayga", *(f"httpd-{i}" for i in range(4)))


@dataclass(frozen=True, slots=True)
class Daemon:
    """The dockerd a lab runs: which generation was asked for and what it turned out to be."""

    generation: str  # "20.10", "26", "28"
    release: str  # "Debian 13 trixie"
    version: str  # as the daemon says: "28.5.2+dfsg4"
    api_version: str
    root: str | None  # the root it runs from; None: this machine's own
    note: str | None = None  # the version is not the one the generation stands for

    @property
    def major(self) -> int:
        head = self.version.split(".")[0]
        return int(head) if head.isdigit() else 0

    def manages_ip6tables(self, sc: Scenario) -> bool:
        return self.major >= 27 or (sc.ip6tables and self.major == 26)

    @classmethod
    def asked(cls, lab: Lab, gen: Generation, root: Path | None) -> Daemon:
        fmt = "{{.Server.Version}} {{.Server.APIVersion}}"
        version, _, api = lab.docker("version", "--format", fmt).strip().partition(" ")
        daemon = cls(gen.name, gen.release, version, api, str(root) if root else None)
        note = None
        if daemon.major > NEWEST_KNOWN_MAJOR:
            note = (
                f"note: {gen.release} now ships Docker {version}, newer than the checks know "
                f"(up to {NEWEST_KNOWN_MAJOR}): they judge it by Docker {NEWEST_KNOWN_MAJOR}'s "
                "rules, and a scenario's expectations may no longer hold"
            )
        elif daemon.major != gen.expected_major:
            note = (
                f"note: {gen.release} ships Docker {version} (the lab's Docker {gen.name} "
                f"stood for {gen.expected_major}); the checks know this version"
            )
        return dataclasses.replace(daemon, note=note)


@dataclass(frozen=True, slots=True)
class Lab:
    name: str = DEFAULT_NAME

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").isalnum() or len(self.name) > 8:
            raise LabError(f"lab name {self.name!r}: use up to 8 letters, digits or dashes")

    # names and paths ---------------------------------------------------------------------
    def ns(self, role: str) -> str:
        return f"{self.name}-{role}"

    @property
    def state(self) -> Path:
        return STATE_ROOT / self.name

    @property
    def docker_socket(self) -> Path:
        return self.state / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    def in_ns(self, role: str, *cmd: str, check: bool = True) -> str:
        return run("ip", "netns", "exec", self.ns(role), *cmd, check=check)

    def sysctl(self, role: str, key: str, value: str | int) -> None:
        self.in_ns(role, "sysctl", "-qw", f"{key}={value}")

    def docker(self, *args: str, check: bool = True) -> str:
        return run("docker", "-H", self.docker_host, *args, check=check)

    # up ----------------------------------------------------------------------------------
    def up(self, scenario_name: str = "healthy", docker: str = dockers.DEFAULT) -> dict[str, Any]:
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, dockerd): run it with sudo")
        try:
            scenario = SCENARIOS[scenario_name]
        except KeyError:
            known = ", ".join(SCENARIOS)
            raise LabError(f"unknown scenario {scenario_name!r}; known: {known}") from None
        try:
            gen = dockers.generation(docker)
        except RootError as exc:
            raise LabError(str(exc)) from None
        if gen.name not in scenario.generations:
            wants = " or ".join(sorted(scenario.generations))
            raise LabError(
                f"scenario {scenario.name} needs Docker {wants} ({scenario.summary}); "
                f"add --docker {sorted(scenario.generations)[-1]}"
            )
        tools = ["ip", "docker", "radvd", "unbound", "nsenter", "ip6tables"]
        tools.append("dockerd" if gen.root is None else "debootstrap")
        if scenario.nat64:
            tools.append("tayga")
        for tool in tools:
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found: install the lab's packages (make deps)")
        try:
            root = dockers.ensure_root(gen)
        except RootError as exc:
            raise LabError(str(exc)) from None
        if self.exists():
            say(f"removing a stale lab {self.name!r} first")
        self.down(quiet=True)
        started = time.monotonic()
        try:
            self.state.mkdir(parents=True)
            self._links(scenario)
            self._dns(scenario)
            self._web(scenario)
            if scenario.nat64:
                self._nat64()
            self._router(scenario)
            daemon = self._docker(scenario, gen, root)
            self._dns_answers(scenario)
            self._host_faults(scenario, daemon)
            description = self._describe(scenario, daemon)
            (self.state / "describe.json").write_text(json.dumps(description, indent=2) + "\n")
            (self.state / "profile.toml").write_text(_profile_toml(description))
            if scenario.workloads:
                self.replace_workloads(
                    scenario.workloads,
                    broken_route=scenario.workloads_without_route,
                    broken_resolv=scenario.workloads_bad_resolv,
                )
            description["workloads"] = self.workloads()
        except BaseException:
            say("bringing the lab up failed; removing what was built")
            self.down(quiet=True)
            raise
        say(
            f"{self.name} is up in scenario {scenario.name} with Docker {daemon.version} "
            f"({time.monotonic() - started:.1f} s)"
        )
        if daemon.note:
            say(daemon.note)
        return description

    def _links(self, sc: Scenario) -> None:
        say("creating namespaces and links")
        for role in ("host", "upstream", "inet"):
            run("ip", "netns", "add", self.ns(role))
            self.in_ns(role, "ip", "link", "set", "lo", "up")
        self.sysctl("upstream", "net.ipv6.conf.all.forwarding", 1)
        self.sysctl("upstream", "net.ipv4.ip_forward", 1)
        # ICMPv6 errors (port unreachable from a server that does not listen, a router's
        # unreachable) are rate-limited to one a second by default: whether a probe's query or
        # Docker's embedded DNS got the one error would decide a verdict. The lab answers each.
        for role in ("upstream", "inet"):
            self.sysctl(role, "net.ipv6.icmp.ratelimit", 0)
        self.sysctl("host", "net.ipv6.conf.all.forwarding", 1)
        self.sysctl("host", "net.ipv4.ip_forward", 1)
        run(
            "ip",
            "link",
            "add",
            T.UPLINK,
            "netns",
            self.ns("host"),
            "type",
            "veth",
            "peer",
            "name",
            T.UPLINK_PEER,
            "netns",
            self.ns("upstream"),
        )
        run(
            "ip",
            "link",
            "add",
            T.CORE,
            "netns",
            self.ns("upstream"),
            "type",
            "veth",
            "peer",
            "name",
            T.EDGE,
            "netns",
            self.ns("inet"),
        )
        # forwarding is on, so the uplink must say accept_ra=2 or the kernel ignores RAs
        self.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.accept_ra", 2)
        self.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.autoconf", 0)
        plen6 = "/64"
        self._addr(
            "host", T.UPLINK, T.HOST_ON_UPLINK6 + plen6, f"{T.HOST_ON_UPLINK4}/{T.UPLINK4_PLEN}"
        )
        self._addr(
            "upstream",
            T.UPLINK_PEER,
            T.UPSTREAM_ON_UPLINK6 + plen6,
            f"{T.UPSTREAM_ON_UPLINK4}/{T.UPLINK4_PLEN}",
        )
        self._addr(
            "upstream", T.CORE, T.UPSTREAM_ON_CORE6 + plen6, f"{T.UPSTREAM_ON_CORE4}/{T.CORE4_PLEN}"
        )
        self._addr("inet", T.EDGE, T.INET_ON_CORE6 + plen6, f"{T.INET_ON_CORE4}/{T.CORE4_PLEN}")
        dns6 = (T.DNS6,)
        for a6 in (*T.ANCHORS6, *dns6):
            self.in_ns("inet", "ip", "-6", "addr", "add", f"{a6}/128", "dev", T.SERVICES, "nodad")
        for a4 in (T.ANCHOR4, T.DNS4, T.IPV4_ONLY_HOST):
            self.in_ns("inet", "ip", "addr", "add", f"{a4}/32", "dev", T.SERVICES)
        shop6 = T.ENDPOINT_NAMES[f"shop.{T.ZONE}"][0]
        for web in T.WEB_ADDRESSES:
            if web == shop6 and not sc.shop_ipv6_served:
                # a stale AAAA: the address is no one's, and packets to it vanish at the far
                # end (a blackhole route: no error comes back, as from a host that is gone)
                self.in_ns("inet", "ip", "-6", "route", "add", "blackhole", web + "/128")
                continue
            plen, extra = ("/128", ["nodad"]) if ":" in web else ("/32", [])
            self.in_ns("inet", "ip", "addr", "add", web + plen, "dev", T.SERVICES, *extra)
        # routes: inet sends the documentation space back to upstream; upstream defaults to inet
        self.in_ns("inet", "ip", "-6", "route", "add", "2001:db8::/32", "via", T.UPSTREAM_ON_CORE6)
        self.in_ns("inet", "ip", "route", "add", "192.0.2.0/24", "via", T.UPSTREAM_ON_CORE4)
        self.in_ns("inet", "ip", "route", "add", "198.51.100.0/24", "via", T.UPSTREAM_ON_CORE4)
        # "mtu lock": the router holds packets to that size when it forwards them (and sends
        # Packet Too Big), while the far end's own links stay at 1500 (it advertises a TCP MSS
        # for 1500, so a container's TCP needs path MTU discovery too, as behind a real tunnel)
        self.in_ns(
            "upstream", "ip", "-6", "route", "add", "default", "via", T.INET_ON_CORE6,
            "mtu", "lock", str(T.PATH_MTU),
        )  # fmt: skip
        self.in_ns("upstream", "ip", "route", "add", "default", "via", T.INET_ON_CORE4)
        self.in_ns("upstream", "ip", "route", "add", "198.51.100.0/24", "via", T.HOST_ON_UPLINK4)
        if not sc.prefix_on_link:
            self.in_ns(
                "upstream",
                "ip",
                "-6",
                "route",
                "add",
                T.ROUTED_CONTAINER_PREFIX,
                "via",
                T.HOST_ON_UPLINK6,
                "dev",
                T.UPLINK_PEER,
            )
        self.in_ns("host", "ip", "route", "add", "default", "via", T.UPSTREAM_ON_UPLINK4)

    def _addr(self, role: str, dev: str, addr6: str, addr4: str) -> None:
        self.in_ns(role, "ip", "-6", "addr", "add", addr6, "dev", dev, "nodad")
        self.in_ns(role, "ip", "addr", "add", addr4, "dev", dev)
        self.in_ns(role, "ip", "link", "set", dev, "up")

    def _dns(self, sc: Scenario) -> None:
        say("starting unbound in the inet namespace")
        lines = [
            "server:",
            f'  directory: "{self.state}"',
            f'  pidfile: "{self.state / "unbound.pid"}"',
            '  username: ""',
            '  chroot: ""',
            "  use-syslog: no",
            "  do-daemonize: no",
            "  verbosity: 1",
            "  do-ip6: yes",
            "  interface-automatic: no",
            f"  interface: {T.DNS4}",
            "  access-control: 0.0.0.0/0 allow",
            "  access-control: ::/0 allow",
            f'  module-config: "{"dns64 iterator" if sc.dns64 else "iterator"}"',
            # nothing outside the zone: answer at once rather than try the real root servers
            '  local-zone: "." refuse',
            # the lab's zone and RFC 7050's name, served as upstream zones (auth-zone below):
            # DNS64 synthesizes only from what the iterator brings, never from local data
            f'  local-zone: "{T.ZONE}." transparent',
            '  local-zone: "ipv4only.arpa." transparent',
        ]
        if sc.dns64:
            lines.append(f"  dns64-prefix: {T.NAT64_PREFIX}")
        if sc.dns_over_ipv6:
            lines.insert(lines.index(f"  interface: {T.DNS4}"), f"  interface: {T.DNS6}")
        records = []
        for name, (aaaa, a) in T.ZONE_NAMES.items():
            if aaaa and sc.zone_aaaa:
                records.append(f"{name}. 300 IN AAAA {aaaa}\n")
            if a:
                records.append(f"{name}. 300 IN A {a}\n")
        for name, (aaaa, a) in T.ENDPOINT_NAMES.items():
            if sc.apex_aaaa or name != T.ZONE:
                records.append(f"{name}. 300 IN AAAA {aaaa}\n")
            records.append(f"{name}. 300 IN A {a}\n")
        zones = {
            "ipv4only.arpa": "".join(f"@ 3600 IN A {a}\n" for a in T.IPV4ONLY_ARPA),
            T.ZONE: "".join(records),
            # a root of the lab's own, an upstream zone too: once a zone's address records have
            # expired from the cache while its cached NS has not (3600 s against 300 s), the
            # iterator drops that delegation and goes to the root, whose priming can only fail
            # here (no network): every name of the zone answered SERVFAIL ("failed to get a
            # delegation") from five minutes into a lab's life. This root always leads back.
            "": f"ns.root.invalid. 3600 IN AAAA {T.DNS6}\nns.root.invalid. 3600 IN A {T.DNS4}\n",
        }
        for zone, body in zones.items():
            zonefile = self.state / f"{zone or 'root'}.zone"
            apex = "ns.root.invalid." if not zone else f"{zone}."
            zonefile.write_text(
                f"$ORIGIN {zone}.\n"
                f"@ 3600 IN SOA {apex} nobody.invalid. 1 3600 600 86400 300\n"
                f"@ 3600 IN NS {apex}\n" + body
            )
            lines += [
                "auth-zone:",
                f'  name: "{zone}."',
                f'  zonefile: "{zonefile}"',
                "  for-upstream: yes",
                "  for-downstream: no",
                "  fallback-enabled: no",
            ]
        lines += [
            # on a socket in the lab's directory only: what its cache holds, for a test
            "remote-control:",
            "  control-enable: yes",
            f'  control-interface: "{self.state / "unbound.ctl"}"',
            "  control-use-cert: no",
            "",
        ]
        conf = self.state / "unbound.conf"
        conf.write_text("\n".join(lines))
        run("unbound-checkconf", str(conf))
        self.spawn(
            "unbound", ["ip", "netns", "exec", self.ns("inet"), "unbound", "-d", "-c", str(conf)]
        )
        self._wait_for(
            lambda: "53" in self.in_ns("inet", "ss", "-lnu", check=False), "unbound to listen"
        )

    def _web(self, sc: Scenario) -> None:
        """The published services' web server: busybox httpd (a real one, from busybox-static),
        one process on each of the far end's web addresses (busybox listens with a backlog of 9:
        one socket for every address would drop SYNs when the checks connect all at once);
        where shop's AAAA is stale, none on its IPv6 address (which no one has)."""
        say("starting the web server (busybox httpd) in the inet namespace")
        root = self.state / "www"
        root.mkdir()
        (root / "index.html").write_text("v6conform lab\n")
        httpd = ["ip", "netns", "exec", self.ns("inet"), "busybox", "httpd", "-f", "-h", str(root)]
        shop6 = T.ENDPOINT_NAMES[f"shop.{T.ZONE}"][0]
        for i, address in enumerate(T.WEB_ADDRESSES):
            if address == shop6 and not sc.shop_ipv6_served:
                continue
            where = f"[{address}]:80" if ":" in address else f"{address}:80"
            self.spawn(f"httpd-{i}", [*httpd, "-p", where])

    def _nat64(self) -> None:
        """A real NAT64 beside the DNS64 resolver: tayga in the inet namespace translates the
        NAT64 prefix to IPv4 from its own pool (TEST-NET-1), which routes back to it."""
        say("starting tayga (NAT64) in the inet namespace")
        data = self.state / "tayga"
        data.mkdir()
        conf = self.state / "tayga.conf"
        conf.write_text(
            f"tun-device {T.NAT64_DEVICE}\n"
            f"ipv4-addr {T.NAT64_ADDR4}\n"
            f"prefix {T.NAT64_PREFIX}\n"
            f"dynamic-pool {T.NAT64_POOL4}\n"
            f"data-dir {data}\n"
        )
        # the far end forwards now: between its link and the translator's tun device
        self.sysctl("inet", "net.ipv6.conf.all.forwarding", 1)
        self.sysctl("inet", "net.ipv4.ip_forward", 1)
        self.in_ns("inet", "tayga", "-c", str(conf), "--mktun")
        self.in_ns("inet", "ip", "link", "set", T.NAT64_DEVICE, "up")
        self.in_ns("inet", "ip", "-6", "route", "add", T.NAT64_PREFIX, "dev", T.NAT64_DEVICE)
        self.in_ns("inet", "ip", "route", "add", T.NAT64_POOL4, "dev", T.NAT64_DEVICE)
        # -d: in the foreground (the lab holds it as it holds the other daemons), logging
        self.spawn(
            "tayga", ["ip", "netns", "exec", self.ns("inet"), "tayga", "-d", "-c", str(conf)]
        )

    def _router(self, sc: Scenario) -> None:
        say("starting radvd in the upstream namespace")
        body = [
            f"interface {T.UPLINK_PEER} {{",
            "  AdvSendAdvert on;",
            "  MinRtrAdvInterval 30;",
            f"  MaxRtrAdvInterval {T.RA_MAX_INTERVAL};",
            "  AdvDefaultLifetime 1800;",
            f"  prefix {T.UPLINK_PREFIX} {{ AdvOnLink on; AdvAutonomous on; }};",
        ]
        if sc.rdnss:
            body.append(f"  RDNSS {T.DNS6} {{ AdvRDNSSLifetime {3 * T.RA_MAX_INTERVAL}; }};")
            body.append(
                f"  DNSSL {' '.join(T.DNSSL)} {{ AdvDNSSLLifetime {3 * T.RA_MAX_INTERVAL}; }};"
            )
        body.append("};")
        conf = self.state / "radvd.conf"
        conf.write_text("\n".join(body) + "\n")
        conf.chmod(0o644)
        self.spawn(
            "radvd",
            [
                "ip",
                "netns",
                "exec",
                self.ns("upstream"),
                "radvd",
                "--nodaemon",
                "-C",
                str(conf),
                "-p",
                str(self.state / "radvd.pid"),
                "-m",
                "stderr",
            ],
        )
        # the host learns its IPv6 default route from radvd's first advertisement
        self._wait_for(
            lambda: (
                "default" in self.in_ns("host", "ip", "-6", "route", "show", "default", check=False)
            ),
            "the host to learn its default route from radvd",
        )

    def _docker(self, sc: Scenario, gen: Generation, root: Path | None) -> Daemon:
        where = f"from {root}" if root else "(this machine's own)"
        say(f"starting a dedicated dockerd of {gen.release} {where} in the host namespace")
        for sub in ("data", "exec"):
            (self.state / sub).mkdir()
        resolv = self.state / "resolv.conf"
        lines = [*(f"nameserver {ns}" for ns in sc.host_nameservers), *sc.host_resolv_extra]
        resolv.write_text("".join(f"{line}\n" for line in lines))
        resolv.chmod(0o644)
        bridge6 = T.ONLINK_BRIDGE6 if sc.prefix_on_link else T.ROUTED_BRIDGE6
        net6 = T.ONLINK_NET6 if sc.prefix_on_link else T.ROUTED_NET6
        args = [
            "dockerd",
            "--data-root",
            str(self.state / "data"),
            "--exec-root",
            str(self.state / "exec"),
            "--pidfile",
            str(self.state / "dockerd.pid"),
            "-H",
            self.docker_host,
            "--bip",
            T.BRIDGE4_GATEWAY,
            "--userland-proxy=false",
            "--log-level",
            "warn",
        ]
        if sc.default_bridge_ipv6:
            # Docker 28 needs no fixed-cidr-v6: without it docker0 gets a /64 of its ULA pool
            args += ["--ipv6"] if sc.ula_pool else ["--ipv6", "--fixed-cidr-v6", bridge6]
        if sc.ip6tables and gen.name == "26":
            args += ["--experimental", "--ip6tables"]  # 26 refuses ip6tables without experimental
        if root is None:
            # a private mount namespace: dockerd reads the lab's resolv.conf, and its mounts
            # vanish with it. nsenter, not `ip netns exec`, keeps the cgroup mounts dockerd needs.
            script = f'mount --bind "{resolv}" /etc/resolv.conf && exec "$@"'
        else:
            script = dockers.chroot_script(root, self.state, resolv)
        self.spawn(
            "dockerd",
            [
                "nsenter",
                f"--net=/run/netns/{self.ns('host')}",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                *args,
            ],
        )
        self._wait_for(
            lambda: (
                self.docker("version", "--format", "{{.Server.Version}}", check=False).strip() != ""
            ),
            "dockerd to answer",
            timeout=60,
        )
        daemon = Daemon.asked(self, gen, root)
        routed = sc.routed and daemon.major >= 27  # gateway modes came with 27
        mode = ["-o", "com.docker.network.bridge.gateway_mode_ipv6=routed"] if routed else []
        subnet6 = [] if sc.ula_pool else ["--subnet", net6]
        self.docker(
            "network",
            "create",
            "--ipv6",
            *subnet6,
            "--subnet",
            T.NET4,
            "-o",
            f"com.docker.network.bridge.name={T.USER_BRIDGE}",
            *mode,
            T.USER_NETWORK,
        )
        if sc.ipv6_only_network and daemon.major >= 28:
            # the lab's docker CLI (20.10) has no --ipv4=false: ask the Engine API
            options = {"com.docker.network.bridge.name": T.V6ONLY_BRIDGE}
            if routed:
                options["com.docker.network.bridge.gateway_mode_ipv6"] = "routed"
            engine_request(
                self.docker_socket,
                "POST",
                "/networks/create",
                {
                    "Name": T.V6ONLY_NETWORK,
                    "Driver": "bridge",
                    "EnableIPv4": False,
                    "EnableIPv6": True,
                    "IPAM": {"Config": [{"Subnet": T.V6ONLY_NET6}]},
                    "Options": options,
                },
            )
        if sc.ndp_proxy:
            self.sysctl("host", "net.ipv6.conf.all.proxy_ndp", 1)
            self.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.proxy_ndp", 1)
            # the kernel delays each proxied NA by up to 0.8 s at random by default: a fresh
            # container's (or build step's) first DNS query would wait for it, past the
            # resolution threshold; a site that proxies ND for containers turns that off
            self.sysctl("host", f"net.ipv6.neigh.{T.UPLINK}.proxy_delay", 0)
            n = T.PROXY_ENTRIES_PER_NETWORK
            for p6, p4 in ((bridge6, T.BRIDGE4), (net6, T.NET4)):
                for addr in T.likely_container_addresses(p6, p4, n):
                    self.in_ns("host", "ip", "-6", "neigh", "add", "proxy", addr, "dev", T.UPLINK)
        return daemon

    def _host_faults(self, sc: Scenario, daemon: Daemon) -> None:
        # dockerd turns IPv6 forwarding on when it sets up IPv6: break it afterwards
        if not sc.forwarding:
            self.sysctl("host", "net.ipv6.conf.all.forwarding", 0)
        if sc.forward_drop:
            if daemon.manages_ip6tables(sc):
                # Docker's own FORWARD rules accept container traffic before any policy (and
                # 26 sets the policy to DROP itself): a site's fault is then a rule of its own,
                # where Docker says to put them
                self.in_ns("host", "ip6tables", "-I", "DOCKER-USER", "-i", T.UPLINK, "-j", "DROP")
            else:
                self.in_ns("host", "ip6tables", "-P", "FORWARD", "DROP")
        if sc.host_knows_path_mtu and daemon.manages_ip6tables(sc):
            # "lock": a forwarding host holds packets to a route's MTU only when it is locked
            self.in_ns(
                "host", "ip", "-6", "route", "add", T.FAR_END_ROUTE, "via", T.UPSTREAM_ON_UPLINK6,
                "dev", T.UPLINK, "mtu", "lock", str(T.PATH_MTU),
            )  # fmt: skip
        ptb = ("-p", "icmpv6", "--icmpv6-type", "packet-too-big", "-j", "DROP")
        if sc.ptb_dropped == "host":  # "drop ICMPv6 to be safe", where the site keeps its rules
            chain = "DOCKER-USER" if daemon.manages_ip6tables(sc) else "FORWARD"
            self.in_ns("host", "ip6tables", "-I", chain, *ptb)
        elif sc.ptb_dropped == "upstream":  # the router never lets its own Packet Too Big out
            self.in_ns("upstream", "ip6tables", "-I", "OUTPUT", *ptb)

    # processes ---------------------------------------------------------------------------
    def spawn(self, daemon: str, cmd: list[str]) -> None:
        """Start ``cmd`` as this lab's ``daemon``, logging to STATE/DAEMON.log, its pid recorded."""
        spawn(self.state, daemon, cmd)

    def _dns_answers(self, sc: Scenario) -> None:
        """Up means the host's first question is answered: the nameserver asked from the host
        over each family it serves (the first run on a fresh lab saw its IPv6 queries time out
        for a second, twice in a CI's 60 fresh labs, while IPv4 answered)."""
        for server in (T.DNS6, T.DNS4) if sc.dns_over_ipv6 else (T.DNS4,):
            answered = functools.partial(self._soa_answered, server)
            self._wait_for(answered, f"the nameserver {server} to answer the host")

    def _soa_answered(self, server: str) -> bool:
        soa = ["busybox", "nslookup", "-type=soa", f"{T.ZONE}.", server]
        out = self.in_ns("host", "timeout", "2", *soa, check=False)
        return "origin" in out.lower() or "nobody.invalid" in out

    def _wait_for(self, ready: Any, what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.1)
        logs = {d: (self.state / f"{d}.log") for d in DAEMONS}
        tails = "; ".join(
            f"{d}: {p.read_text(errors='replace')[-300:].strip()}"
            for d, p in logs.items()
            if p.exists()
        )
        raise LabError(f"timed out after {timeout:.0f} s waiting for {what} ({tails})")

    # describe ----------------------------------------------------------------------------
    def _describe(self, sc: Scenario, daemon: Daemon) -> dict[str, Any]:
        networks = self._networks()
        prefix = T.UPLINK_PREFIX if sc.prefix_on_link else T.ROUTED_CONTAINER_PREFIX
        if sc.ula_pool:  # Docker's own pool: the /48 its subnets came from
            subnets = [n["subnet6"] for n in networks.values() if n["subnet6"]]
            prefix = str(ipaddress.IPv6Network(subnets[0]).supernet(new_prefix=48))
        return {
            "name": self.name,
            "scenario": sc.name,
            "summary": sc.summary,
            "docker_host": self.docker_host,
            "docker": dataclasses.asdict(daemon),
            "state_dir": str(self.state),
            "profile": str(self.state / "profile.toml"),
            "namespaces": {r: self.ns(r) for r in ("host", "upstream", "inet")},
            "host": {
                "uplink": T.UPLINK,
                "uplink_address": T.HOST_ON_UPLINK6,
                "bridge": T.BRIDGE,
                "container_prefix": prefix,
                "networks": networks,
                "resolv_conf": str(self.state / "resolv.conf"),
            },
            "upstream": {"router": T.UPSTREAM_ON_UPLINK6, "rdnss": [T.DNS6] if sc.rdnss else []},
            "dns": {
                "servers": list(sc.host_nameservers),
                "zone": T.ZONE,
                "names": {n: {"aaaa": a6, "a": a4} for n, (a6, a4) in T.ZONE_NAMES.items()},
            },
            "anchors": list(T.ANCHORS6),
            "endpoints": list(T.ENDPOINTS),
            "far_end": {"namespace": self.ns("inet"), "address": T.INET_ON_CORE6},
            "ipv6_mode": self._intended_modes(sc, daemon, networks),
            "nat64": {
                "prefix": T.NAT64_PREFIX if sc.dns64 else None,
                "translator": "tayga" if sc.nat64 else None,
                "expected": sc.profile_nat64,
                "ipv4_only": [T.IPV4_ONLY_NAME] if sc.profile_ipv4_only else [],
            },
            "expected_failures": sorted(sc.expected_on(daemon.generation)),
            "root_causes": sorted(sc.causes_on(daemon.generation)),
        }

    def _networks(self) -> dict[str, dict[str, Any]]:
        """The lab's networks as its dockerd reports them (subnets may come from its pool)."""
        names = self.docker("network", "ls", "--format", "{{.Name}}").split()
        wanted = [n for n in ("bridge", T.USER_NETWORK, T.V6ONLY_NETWORK) if n in names]
        found = {}
        for net in json.loads(self.docker("network", "inspect", *wanted)):
            configs = (net.get("IPAM") or {}).get("Config") or []
            six = [c["Subnet"] for c in configs if ":" in c.get("Subnet", "")]
            options = net.get("Options") or {}
            found[net["Name"]] = {
                "bridge": options.get("com.docker.network.bridge.name") or "br-" + net["Id"][:12],
                "subnet6": six[0] if six and net.get("EnableIPv6") else None,
                "gateway_mode_ipv6": options.get("com.docker.network.bridge.gateway_mode_ipv6"),
                "ipv4": net.get("EnableIPv4", True),
            }
        return found

    @staticmethod
    def _intended_modes(
        sc: Scenario, daemon: Daemon, networks: dict[str, dict[str, Any]]
    ) -> dict[str, str]:
        """What the lab's profile holds each IPv6 network to (RT-06): the scenario's demand,
        else the mode the lab gave it on purpose."""
        modes = {}
        for name, net in networks.items():
            if net["subnet6"] is None:
                continue
            if sc.profile_mode is not None:
                modes[name] = sc.profile_mode
            elif daemon.manages_ip6tables(sc):
                modes[name] = "routed" if net["gateway_mode_ipv6"] == "routed" else "nat"
            else:
                modes[name] = "routed"  # no NAT66 in this Docker, or ip6tables off
        return modes

    def description(self) -> dict[str, Any]:
        path = self.state / "describe.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(f"no lab {self.name!r} is up: run `python -m lab up` first") from None
        missing = [
            ns for ns in data["namespaces"].values() if not Path(f"/run/netns/{ns}").exists()
        ]
        if missing:
            raise LabError(
                f"lab {self.name!r} is broken (namespaces gone: {', '.join(missing)}): "
                "run `python -m lab up` again"
            )
        # what runs now, not what `up` started: `python -m lab workloads` changes it
        data["workloads"] = self.workloads()
        return data

    # workloads ---------------------------------------------------------------------------
    def replace_workloads(
        self, count: int, *, broken_route: int = 0, broken_resolv: int = 0
    ) -> None:
        """Replace the lab's workload containers by ``count`` new ones (0: remove them)."""
        workload_containers.replace(
            self.docker_socket, self.name, self.ns("host"), count, broken_route, broken_resolv
        )

    def workloads(self) -> list[dict[str, Any]]:
        """The lab's running workload containers, as its dockerd says now."""
        try:
            return workload_containers.listing(self.docker_socket, self.name)
        except LabError as exc:
            raise LabError(
                f"lab {self.name!r} is broken (its dockerd cannot list its containers: {exc}): "
                "run `python -m lab up` again"
            ) from None

    def exists(self) -> bool:
        return self.state.exists() or any(
            Path(f"/run/netns/{self.ns(r)}").exists() for r in ("host", "upstream", "inet")
        )

    # down --------------------------------------------------------------------------------
    def down(self, *, quiet: bool = False) -> None:
        """Remove every trace of this lab: containers, processes, namespaces, directories. The
        first Ctrl-C or SIGTERM meanwhile lets it finish; a second one stops it."""
        if not quiet:
            say(f"bringing lab {self.name!r} down")
        with finishing(f"bringing lab {self.name!r} down"):
            self._down()

    def _down(self) -> None:
        if self.docker_socket.exists():
            ids = self.docker("ps", "-aq", check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        # the daemons the pid files name, each only if it still is that daemon of this lab
        signal_all(self._recorded_daemons(), signal.SIGTERM, grace=10.0)
        # whatever is left: processes inside our namespaces or running from our directory
        # (containerd and its shims carry the exec-root in their command line)
        signal_all(self._stragglers(), signal.SIGKILL, grace=5.0)
        for role in ("host", "upstream", "inet"):
            if Path(f"/run/netns/{self.ns(role)}").exists():
                run("ip", "netns", "del", self.ns(role), check=False)
        for mount in mounts_under(self.state):
            run("umount", "-l", mount, check=False)
        shutil.rmtree(self.state, ignore_errors=True)
        if self.state.exists():
            raise LabError(f"could not remove {self.state}")

    def _recorded_daemons(self) -> list[HeldProcess]:
        """The processes the ``*.lab-pid`` files name that still are this lab's daemons: the
        same process (pid and start time) with this lab's state directory in its arguments.
        A pid file outlives its daemon (a lab left after a crash or a reboot), and by then its
        pid may be any other process's."""
        found = []
        marker = os.fsencode(self.state)
        for daemon in DAEMONS:
            path = self.state / f"{daemon}.lab-pid"
            try:
                record = PidRecord.parse(path.read_text())
            except (FileNotFoundError, UnicodeDecodeError):
                continue
            if record is None:
                continue
            proc = HeldProcess.open(record.pid)
            if proc is None:
                continue
            same = record.start is None or record.start == proc.start
            if same and names_path(argv_of(record.pid), marker):
                found.append(proc)
                continue
            proc.close()
            say(
                f"{path.name} names pid {record.pid}, which is no longer {daemon} of lab "
                f"{self.name}: left alone"
            )
        return found

    def _stragglers(self) -> list[HeldProcess]:
        """Every process inside this lab's namespaces, or with an argument naming this lab's
        state directory or a path under it (exactly: lab v6c's directory is a prefix of lab
        v6cmx's, whose processes are not ours). Each is held (a pidfd) before it is checked,
        so what is signalled later is what was checked. Never this process or its parents."""
        namespaces = set()
        for role in ("host", "upstream", "inet"):
            with contextlib.suppress(OSError):
                st = os.stat(f"/run/netns/{self.ns(role)}")
                namespaces.add((st.st_dev, st.st_ino))
        marker = os.fsencode(self.state)
        spare = ancestry(os.getpid())
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in spare:
                continue
            proc = HeldProcess.open(int(entry.name))
            if proc is None:
                continue
            if net_ns_of(proc.pid) in namespaces or names_path(argv_of(proc.pid), marker):
                found.append(proc)
            else:
                proc.close()
        return found


def _profile_toml(d: dict[str, Any]) -> str:
    """The lab's own target profile: what this lab, if healthy, provides."""

    def q(v: str) -> str:
        return json.dumps(v)

    names = d["dns"]["names"]
    lines = [
        f"# profile written by `python -m lab up` for lab {d['name']} ({d['scenario']})",
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
