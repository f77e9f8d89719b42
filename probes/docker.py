"""The Docker side of a target: the daemon, its IPv6 networks, and labelled probe containers.

Everything the harness creates carries the label ``io.v6conform`` (``probe`` on probe containers,
``build`` on what a throwaway build makes, ``image`` on the imported probe image) plus the run that
made it (:func:`run_labels`), and is removed when that run ends; a later run removes what a run
that is gone left (:func:`probes.stale.remove_stale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import os
import socket
import tarfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiodocker
import aiohttp

from probes.errors import DockerUnavailable, HarnessError
from probes.netns import Netns, outcome, to_the_end

T = TypeVar("T")

LABEL = "io.v6conform"
RUN_LABEL = "io.v6conform.run"
PID_LABEL = "io.v6conform.pid"
HOST_LABEL = "io.v6conform.host"
# the run's process start time (field 22 of /proc/PID/stat): a pid alone may be another
# process's by the time a later run looks
START_LABEL = "io.v6conform.pid-start"
# on the container that stands for a BuildKit build: what its cache records will look like
# (probes.build.CacheMark), so a later run can remove them if this one is killed first
CACHE_LABEL = "io.v6conform.buildcache"
IMAGE_REPO = "v6conform-probe"
IMAGE_TAG = "busybox"
IMAGE = f"{IMAGE_REPO}:{IMAGE_TAG}"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# the newest Docker major version whose IPv6 behaviour the checks know; a newer one is judged
# by its rules, with a note saying so
NEWEST_KNOWN_MAJOR = 29


def default_docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def not_docker(version: Mapping[str, object]) -> str | None:
    """The engine behind a Docker-compatible API that is not Docker, from ``GET /version``
    (Podman names its "Podman Engine" component, and its version is Podman's, not Docker's:
    read as Docker, 5.x would be judged by Docker 5's rules); None for Docker."""
    components = version.get("Components")
    for c in components if isinstance(components, list) else ():
        name = c.get("Name") if isinstance(c, dict) else None
        if isinstance(name, str) and "podman" in name.lower():
            return f"{name} {c.get('Version', '')}".strip()
    return None


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    version: str
    api_version: str
    # the daemon's own word (GET /info → FirewallBackend.Driver, Docker 28.1 on): "iptables",
    # "nftables", with "+firewalld" where firewalld manages it; None where it says nothing
    firewall_backend: str | None = None

    @property
    def major(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 0


DEFAULT_BRIDGE_OPTION = "com.docker.network.bridge.default_bridge"


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    name: str
    id: str
    driver: str
    enable_ipv6: bool
    bridge: str | None  # the host-side bridge interface, for bridge networks
    subnets6: tuple[str, ...]
    gateways6: tuple[str, ...]  # configured, or the subnet's first address (Docker >= 20.10)
    # The driver options as (key, value) pairs, sorted: a tuple keeps the frozen network
    # hashable (it is a pytest parameter). Left out of == and hash: they are the raw material
    # of the fields above and of netmode, and a network written out by hand without them
    # (tests, callers from before they existed) is still the same network.
    option_pairs: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    enable_ipv4: bool = True  # Docker >= 28 can make IPv6-only networks; older ones cannot
    internal: bool = False  # --internal: no traffic to or from outside the host

    @property
    def options(self) -> Mapping[str, str]:
        """The driver options (``docker network inspect``'s ``Options``), as a fresh dict."""
        return dict(self.option_pairs)

    @property
    def is_default_bridge(self) -> bool:
        """docker0, the network ``docker run`` without ``--network`` lands on."""
        return self.options.get(DEFAULT_BRIDGE_OPTION) == "true" or self.name == "bridge"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> NetworkInfo:
        subnets, gateways = [], []
        for cfg in (data.get("IPAM") or {}).get("Config") or []:
            subnet = cfg.get("Subnet") or ""
            if ":" not in subnet:
                continue
            subnets.append(subnet)
            gw = cfg.get("Gateway") or str(ipaddress.IPv6Network(subnet, strict=False)[1])
            gateways.append(gw.split("/")[0])
        options = data.get("Options") or {}
        bridge = options.get("com.docker.network.bridge.name")
        if bridge is None and data.get("Driver") == "bridge":
            bridge = "br-" + str(data.get("Id", ""))[:12]
        # Daemons before 28 have no EnableIPv4 key: every network of theirs has IPv4.
        enable_ipv4 = data.get("EnableIPv4")
        return cls(
            str(data.get("Name")),
            str(data.get("Id")),
            str(data.get("Driver")),
            bool(data.get("EnableIPv6")),
            bridge,
            tuple(subnets),
            tuple(gateways),
            tuple(sorted((str(k), str(v)) for k, v in options.items())),
            True if enable_ipv4 is None else bool(enable_ipv4),
            bool(data.get("Internal")),
        )


@dataclass(frozen=True, slots=True)
class ProbeContainer:
    """A running container on one network, seen from its network namespace: one of the
    harness's probe containers, or (``workload``) one of the host's own, read-only."""

    name: str
    id: str
    network: NetworkInfo
    pid: int
    interface: str
    mac: str | None
    global6: str | None  # what Docker says it assigned
    gateway6: str | None  # what Docker says the gateway is
    workload: bool = False  # a container of the host's own, looked at read-only (not ours)

    @property
    def netns(self) -> Netns:
        return Netns.of_pid(self.pid, f"container {self.name}")

    @property
    def label(self) -> str:
        return f"{self.network.name}/{self.name}"

    @property
    def key(self) -> str:
        """Where its results are kept: the network for a probe container (one per network),
        NAME@NETWORK for a workload (whose items are called NETWORK/NAME)."""
        return f"{self.name}@{self.network.name}" if self.workload else self.network.name


# a call that changes the daemon's state (creates, starts or removes a container, an image, a
# build's records) waits this long, where a read waits DockerEndpoint.timeout: the daemon does
# the work under its own locks and writes the host's firewall for it, and on a loaded host that
# queues (a container's removal was seen to take over 10 s on Docker 29 beside a build); one
# given up leaves what the run made behind, and the run's verdict becomes a harness error
CHANGE_TIMEOUT = 60.0


def said(exc: BaseException) -> str:
    """An error's own words, or its kind where it has none (aiohttp raises some bare)."""
    return str(exc).strip() or f"{type(exc).__name__} (no message)"


class DockerEndpoint:
    """A connection to a Docker daemon; an async context manager."""

    def __init__(self, url: str | None = None, *, timeout: float = 10.0) -> None:
        self.url = url or default_docker_host()
        self.timeout = timeout
        self.calls_made = 0  # Docker API calls made through call(): what a run costs the daemon
        self._client: aiodocker.Docker | None = None
        self.daemon: DaemonInfo | None = None

    async def __aenter__(self) -> DockerEndpoint:
        path = self.url.removeprefix("unix://")
        if self.url.startswith("unix://") and not Path(path).exists():
            raise DockerUnavailable(
                self.url, "no socket there: is dockerd running? (set DOCKER_HOST or --docker-host)"
            )
        self._client = aiodocker.Docker(url=self.url)
        try:
            version = await self.call(self._client.version())
        except BaseException:
            await self._client.close()
            self._client = None
            raise
        engine = not_docker(version)
        if engine is not None:
            await self._client.close()
            self._client = None
            raise DockerUnavailable(
                self.url,
                f"this endpoint is {engine}, not Docker (its Docker-compatible API says so in "
                "/version): v6conform judges Docker hosts only, so nothing here was judged",
            )
        self.daemon = DaemonInfo(
            str(version.get("Version")), str(version.get("ApiVersion")), await self._backend()
        )
        return self

    async def _backend(self) -> str | None:
        """Which firewall backend the daemon says it uses; None where it does not say (before
        28.1) or its /info cannot be had: what it tells is evidence, not a verdict's basis."""
        try:
            info = await self.call(self.client.system.info())
        except DockerUnavailable:
            return None
        said = (info.get("FirewallBackend") or {}) if isinstance(info, dict) else {}
        driver = said.get("Driver") if isinstance(said, dict) else None
        return str(driver) if driver else None

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> aiodocker.Docker:
        if self._client is None:
            raise RuntimeError("not connected: use `async with DockerEndpoint(...)`")
        return self._client

    async def call(self, op: Awaitable[T], timeout: float | None = None) -> T:
        """Await a Docker API call with a deadline, translating its errors into ours."""
        self.calls_made += 1
        try:
            async with asyncio.timeout(timeout or self.timeout):
                return await op
        except aiodocker.DockerError as exc:
            raise DockerUnavailable(self.url, f"{exc.message} (HTTP {exc.status})") from exc
        except TimeoutError as exc:  # before OSError, of which it is one
            raise DockerUnavailable(
                self.url, f"no answer within {timeout or self.timeout} s"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise DockerUnavailable(self.url, f"cannot talk to the daemon: {said(exc)}") from exc

    async def networks(self) -> list[NetworkInfo]:
        raw = await self.call(self.client.networks.list())
        return sorted((NetworkInfo.from_api(n) for n in raw), key=lambda n: n.name)

    async def ipv6_networks(self) -> list[NetworkInfo]:
        """Bridge networks with IPv6 enabled: where probe containers go."""
        return [n for n in await self.networks() if n.enable_ipv6 and n.driver == "bridge"]

    # the probe image ---------------------------------------------------------------------
    async def ensure_probe_image(self, run_id: str) -> bool:
        """Import the probe image from the host's static busybox; True if this run created it."""
        try:
            await self.client.images.inspect(IMAGE)
            return False
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise DockerUnavailable(self.url, exc.message) from exc
        tar = await asyncio.to_thread(probe_rootfs_tar)
        # the run that imported it: a later run removes it once that run is gone (not the
        # value `probe`: containers inherit an image's labels, a user's own from this image too)
        labels = " ".join(f"{k}={json.dumps(v)}" for k, v in run_labels("image", run_id).items())
        params = {
            "fromSrc": "-",
            "repo": IMAGE_REPO,
            "tag": IMAGE_TAG,
            "changes": f"LABEL {labels}",
        }
        body = await self.call(self._post_raw("images/create", params, tar), CHANGE_TIMEOUT)
        for line in body.splitlines():
            if line.strip() and "error" in (msg := json.loads(line)):
                raise DockerUnavailable(self.url, f"importing the probe image: {msg['error']}")
        return True

    async def _post_raw(self, path: str, params: dict[str, Any], data: bytes) -> str:
        async with self.client._query(
            path,
            "POST",
            params=params,
            data=io.BytesIO(data),
            headers={"Content-Type": "application/x-tar"},
        ) as resp:
            return str(await resp.text())

    async def remove_probe_image(self) -> None:
        """Remove the probe image, unless a container still uses it: another run's, which found
        it here (a later run removes it once its importer is gone and nothing uses it)."""
        await self.remove_unused_image(IMAGE)

    async def remove_unused_image(self, ref: str) -> bool:
        """Remove an image that no container uses (nor one of an image built from it); False if
        one does, or the image is gone or has images built from it (left for a later run)."""
        filters = json.dumps({"ancestor": [ref]})
        try:
            if await self.call(self.client.containers.list(all=True, filters=filters)):
                return False
        except DockerUnavailable as exc:
            if "HTTP 404" in exc.reason or "HTTP 400" in exc.reason:
                return False  # no such image (any more)
            raise
        return await self.delete_image(ref)

    async def delete_image(self, ref: str) -> bool:
        try:
            await self.call(self.client.images.delete(ref, force=True), CHANGE_TIMEOUT)
        except DockerUnavailable as exc:
            # gone already; in use, or images were built from it
            if "(HTTP 404)" in exc.reason or "(HTTP 409)" in exc.reason:
                return False
            raise
        return True

    async def start_probe(
        self, network: NetworkInfo, run_id: str, *, image: str | None = None, suffix: str = ""
    ) -> ProbeContainer:
        """A probe container of the run on ``network``: from the probe image, or (``image``)
        from another one that has ``/bin/sh`` and ``sleep`` (AF-01's C libraries), named with
        ``suffix``; labelled as the run's, so its clean-up removes it."""
        name = f"v6conform-{run_id}-{network.name}{suffix}"
        config: dict[str, Any] = {
            "Image": image or IMAGE,
            # an upper bound on its life even if the harness is killed outright
            "Cmd": ["/bin/busybox", "sleep", "3600"],
            "Labels": run_labels("probe", run_id),
            "HostConfig": {"NetworkMode": network.name},
        }
        if image is not None:
            config["Entrypoint"] = ["/bin/sh", "-c", "exec sleep 3600"]
            config["Cmd"] = []
        # created to its end even if the run is cancelled meanwhile: a container the daemon
        # makes after the run's clean-up listed its containers would outlive the run
        container = await to_the_end(
            self.call(self.client.containers.create(config, name=name), CHANGE_TIMEOUT)
        )
        await self.call(container.start(), CHANGE_TIMEOUT)
        info = await self.call(container.show())
        settings = (info["NetworkSettings"]["Networks"] or {}).get(network.name) or {}
        return ProbeContainer(
            name=name,
            id=container.id,
            network=network,
            pid=int(info["State"]["Pid"]),
            interface="eth0",
            mac=settings.get("MacAddress") or None,
            global6=settings.get("GlobalIPv6Address") or None,
            gateway6=settings.get("IPv6Gateway") or None,
        )

    async def remove_container(self, container_id: str) -> None:
        """Remove one of the run's containers (gone already is fine)."""
        try:
            await self.call(
                self.client.containers.container(container_id).delete(force=True), CHANGE_TIMEOUT
            )
        except DockerUnavailable as exc:
            if "HTTP 404" not in exc.reason:
                raise

    async def remove_probes(self, run_id: str) -> None:
        """Remove the run's probe containers (only those: its builds' containers are the
        builds' own, which may be mid-step when a cancelled run gets here)."""
        filters = json.dumps({"label": [f"{RUN_LABEL}={run_id}", f"{LABEL}=probe"]})
        found = await self.call(self.client.containers.list(all=True, filters=filters))
        async with asyncio.TaskGroup() as tg:
            for c in found:
                tg.create_task(self.call(c.delete(force=True), CHANGE_TIMEOUT))

    async def exec(
        self, container: ProbeContainer, *cmd: str, timeout: float = 5.0
    ) -> tuple[int, str]:
        """Run a command in a probe container; its exit code and combined output."""

        async def go() -> tuple[int, str]:
            c = await self.client.containers.get(container.id)
            ex = await c.exec(list(cmd), stdout=True, stderr=True)
            out = []
            async with ex.start(detach=False) as stream:
                while (msg := await stream.read_out()) is not None:
                    out.append(msg.data.decode(errors="replace"))
            code = (await ex.inspect()).get("ExitCode")
            return int(code if code is not None else -1), "".join(out)

        return await self.call(go(), timeout=timeout)


@asynccontextmanager
async def probe_image(endpoint: DockerEndpoint, run_id: str) -> AsyncIterator[bool]:
    """The probe image, imported if the daemon lacks it and then removed again at the end
    (True: this run imported it)."""
    # imported to its end even if the run is cancelled meanwhile, so that it is removed then
    importing = asyncio.ensure_future(endpoint.ensure_probe_image(run_id))
    try:
        yield await to_the_end(importing)
    finally:
        if outcome(importing):  # a cancelled run must still remove what it made
            await to_the_end(endpoint.remove_probe_image())


@asynccontextmanager
async def probe_fleet(
    endpoint: DockerEndpoint,
    networks: list[NetworkInfo],
    run_id: str | None = None,
    *,
    with_image: bool = True,
) -> AsyncIterator[list[ProbeContainer]]:
    """One labelled probe container per network, started concurrently, removed at the end;
    ``with_image=False``: the caller holds the probe image (:func:`probe_image`)."""
    run_id = run_id or uuid.uuid4().hex[:8]
    async with contextlib.AsyncExitStack() as stack:
        if with_image:
            await stack.enter_async_context(probe_image(endpoint, run_id))
        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(endpoint.start_probe(n, run_id)) for n in networks]
            yield [t.result() for t in tasks]
        finally:
            # a cancelled run must still remove what it started
            await to_the_end(endpoint.remove_probes(run_id))


def run_labels(kind: str, run_id: str) -> dict[str, str]:
    """The labels of everything a run makes: what it is (``probe``, ``build``, ``image``), the
    run, and the process and host it runs on, by which a later run tells whether it is gone."""
    labels = {LABEL: kind, RUN_LABEL: run_id, PID_LABEL: str(os.getpid())}
    start = proc_start(os.getpid())
    if start is not None:
        labels[START_LABEL] = str(start)
    labels[HOST_LABEL] = socket.gethostname()
    return labels


def run_alive(labels: Mapping[str, str]) -> bool:
    """Whether the harness run that labelled a resource is still running on this host: its
    process is there, and is the same process (its start time, where the labels give it)."""
    pid = labels.get(PID_LABEL, "")
    if labels.get(HOST_LABEL) != socket.gethostname() or not pid.isdigit() or pid == "0":
        return False
    start = proc_start(int(pid))
    if start is None:
        return False
    recorded = labels.get(START_LABEL, "")
    return not recorded.isdigit() or int(recorded) == start


def proc_start(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat, the process's start time; None if there is no such process
    or it has ended (a zombie). Counted after the command name's ")": it may hold spaces."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X") or not fields[19].isdigit():
        return None
    return int(fields[19])


def find_static_busybox() -> Path:
    for candidate in BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.exists() and _is_static_elf(path):
            return path
    raise HarnessError(
        "no statically linked busybox found (/bin/busybox): "
        "install Debian's busybox-static to build the probe image"
    )


def _is_static_elf(path: Path) -> bool:
    """True if the file is a 64-bit ELF with no PT_INTERP program header (no dynamic loader)."""
    with path.open("rb") as f:
        header = f.read(64)
        if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:
            return False
        phoff = int.from_bytes(header[0x20:0x28], "little")
        phentsize = int.from_bytes(header[0x36:0x38], "little")
        phnum = int.from_bytes(header[0x38:0x3A], "little")
        if phnum == 0 or phentsize < 4:
            return False
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    if len(table) < phentsize * phnum:
        return False
    return all(
        int.from_bytes(table[i * phentsize : i * phentsize + 4], "little") != 3  # PT_INTERP
        for i in range(phnum)
    )


def probe_rootfs_tar() -> bytes:
    """A root file system holding only /bin/busybox (static) and empty /etc and /tmp."""
    busybox = find_static_busybox()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        # the file itself, not a symlink to it (which would dangle inside the image)
        tar.add(str(busybox.resolve()), arcname="bin/busybox")
        for applet in ("sh", "sleep", "cat", "nslookup", "ping"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buf.getvalue()
