"""The family an application in a container uses: its own C library's getaddrinfo order for
dual-stack names, and the source address its kernel picks for each answer (AF-01).

Not imitated but used, as :mod:`probes.resolver` does for RC-01: :data:`SCRIPT` runs in the
probe container's root and namespaces (nsenter from the host), so ``getaddrinfo`` is the
container's own C library reading the container's own ``/etc/gai.conf``, ``/etc/hosts`` and
``/etc/resolv.conf``, and sorting with sources its kernel picks. With ``getent`` in the image
(glibc's or musl's) the whole order is printed (``getent ahosts``, AF_UNSPEC); in the busybox
probe image, ``ping -c 1 -s 65535 -I lo NAME`` prints the first answer of an AF_UNSPEC
``getaddrinfo`` (busybox takes it as it comes: its "prefer IPv4" option is off in Debian's
build) and fails at once (the echo is larger than any datagram): that first answer is what an
application that connects to the first address uses. ``-4``/``-6`` list each family's answers.

The source address for each destination is the kernel's choice: a UDP socket connected in the
container's network namespace (entered from the host with setns: no packet is sent), read with
getsockname, as glibc's own sort does. The C library is told from the container's root, read
from outside (:mod:`probes.inroot`): a musl loader, a glibc ``libc.so.6``, or a static busybox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal

from probes.docker import ProbeContainer
from probes.errors import ProbeError
from probes.inroot import read_in_root
from probes.resolvconf import ResolvConf, parse_resolv_conf, printable
from probes.resolver import BOUNDED, _b64, _elapsed, _run, _said

Kind = Literal["any", "4", "6"]
KINDS: tuple[Kind, ...] = ("any", "4", "6")
BEGIN = "v6conform-family"
END = "done"
MAX_GAI_CONF = 64 * 1024
MAX_BINARY = 8 << 20  # a static busybox is 2 MB

# Arguments: DEADLINE (seconds), then the names. Every lookup runs in the background, killed at
# the deadline; values from the container are printed base64-encoded, one line per fact.
SCRIPT = (
    r"""
echo v6conform-family
d=$1; shift
enc() { base64 | tr -d '\n'; }
if [ -f /etc/gai.conf ]; then echo "gai $(enc </etc/gai.conf)"; else echo "gai -"; fi
if [ -f /etc/resolv.conf ]; then echo "resolv $(enc </etc/resolv.conf)"; fi
echo "synretries $(cat /proc/sys/net/ipv4/tcp_syn_retries 2>/dev/null)"
if command -v getent >/dev/null 2>&1; then tool=getent; else tool=ping; fi
echo "tool $tool"
"""
    + BOUNDED
    + r"""
# busybox can be built to prefer an IPv4 answer itself (FEATURE_PREFER_IPV4_ADDRESS): asked for
# localhost, which /etc/hosts maps to ::1 and 127.0.0.1 (both only with host.conf's "multi on")
# and every C library sorts ::1 first, such a ping says 127.0.0.1
if [ $tool = ping ]; then
  bounded /tmp/v6conform-af-$$-cal ping -c 1 -s 65535 -I lo localhost
  echo "calib $(enc </tmp/v6conform-af-$$-cal)"
  if [ -f /etc/hosts ]; then echo "hosts $(enc </etc/hosts)"; fi
  if [ -f /etc/host.conf ]; then echo "hostconf $(enc </etc/host.conf)"; fi
fi
look() {
  f=/tmp/v6conform-af-$$-$1-$2
  read t0 x </proc/uptime
  if [ $tool = getent ]; then
    case $2 in any) db=ahosts;; 4) db=ahostsv4;; 6) db=ahostsv6;; esac
    bounded $f getent $db "$3"
  else
    case $2 in any) fam=;; *) fam=-$2;; esac
    bounded $f ping $fam -c 1 -s 65535 -I lo "$3"
  fi
  rc=$?
  read t1 x </proc/uptime
  echo "lookup $1 $2 $t0 $t1 $rc $(enc <$f)"
}
i=0
for n in "$@"; do
  for k in any 4 6; do look $i $k "$n" & done
  i=$((i+1))
done
wait
rm -f /tmp/v6conform-af-$$-*
echo done
"""
)


@dataclass(frozen=True, slots=True)
class Answer:
    """One getaddrinfo call: the addresses in the order the C library returned them."""

    kind: Kind  # AF_UNSPEC ("any"), AF_INET ("4"), AF_INET6 ("6")
    addresses: tuple[str, ...]  # all of them (getent), or the first alone (ping)
    elapsed_s: float | None
    killed: bool
    output: str

    @property
    def first(self) -> str | None:
        return self.addresses[0] if self.addresses else None


@dataclass(frozen=True, slots=True)
class NameOrder:
    """One dual-stack name as the container's C library orders it."""

    name: str
    answers: tuple[Answer, ...]
    sources: tuple[tuple[str, str | None, str], ...]  # destination, source (None: none), why

    def answer(self, kind: Kind) -> Answer | None:
        return next((a for a in self.answers if a.kind == kind), None)

    @property
    def first(self) -> str | None:
        """The address an application that takes the first answer connects to."""
        found = self.answer("any")
        return found.first if found else None

    def candidates(self, version: int) -> tuple[str, ...]:
        """The name's addresses of one family, as that family's own lookup gave them."""
        found = self.answer("4" if version == 4 else "6")
        if found is None:
            return ()
        return tuple(a for a in found.addresses if _version(a) == version and not _v4_mapped(a))

    def source_of(self, destination: str) -> str | None:
        return next((s for d, s, _ in self.sources if d == destination), None)


@dataclass(frozen=True, slots=True)
class FamilyReport:
    """What AF-01 saw in one container."""

    where: str
    libc: str  # "glibc", "musl" or "unknown"
    libc_evidence: str
    tool: str  # "getent ahosts" or "busybox ping"
    full_order: bool  # the tool prints every answer (getent), not the first alone (ping)
    gai_conf: str | None  # the container's /etc/gai.conf; None: it has none
    resolv_conf: ResolvConf | None
    tcp_syn_retries: int | None
    names: tuple[NameOrder, ...]
    deadline: float
    complete: bool
    # read from outside, not run: a workload's C library and gai.conf, its kernel's sources,
    # and the answers its network's probe container got (the same DNS view)
    modelled: bool = False
    # why the tool's first answer is not the C library's (a busybox that prefers IPv4)
    unfaithful: str | None = None

    def lines(self) -> list[str]:
        out = [f"{self.where}: C library {self.libc} ({self.libc_evidence}); {self.tool}"]
        out.append(
            "  /etc/gai.conf: none"
            if self.gai_conf is None
            else f"  /etc/gai.conf: {len(self.gai_conf.splitlines())} lines"
        )
        for n in self.names:
            for a in n.answers:
                fam = {"any": "AF_UNSPEC", "4": "AF_INET", "6": "AF_INET6"}[a.kind]
                shown = ", ".join(a.addresses) or (
                    "still resolving at the deadline" if a.killed else "no answer"
                )
                took = "" if a.elapsed_s is None else f" ({a.elapsed_s:.2f} s)"
                out.append(f"  getaddrinfo({n.name}, {fam}): {shown}{took}")
            for dest, src, why in n.sources:
                out.append(f"  {dest}: source {src or 'none'} ({why})")
        return out


def _version(address: str) -> int:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).version
    except ValueError:
        return 0


def _v4_mapped(address: str) -> bool:
    """An IPv4 address in IPv6 clothing (getent ahostsv6 asks with AI_V4MAPPED)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None


def _addresses(output: str, tool: str) -> tuple[str, ...]:
    found: list[str] = []
    for line in output.splitlines():
        words = line.split()
        if tool == "getent":
            candidate = words[0] if words else ""
        elif line.startswith("PING ") and "(" in line:
            candidate = line.split("(", 1)[1].split(")", 1)[0]
        else:
            continue
        if _version(candidate) and candidate not in found:
            found.append(candidate)
    return tuple(found)


def parse_report(
    text: str, *, where: str, names: tuple[str, ...], deadline: float, libc: tuple[str, str]
) -> FamilyReport:
    """Read the script's output (anything unexpected in it is skipped); the sources are added
    by :func:`with_sources`."""
    gai: str | None = None
    resolv: ResolvConf | None = None
    retries: int | None = None
    tool = "ping"
    calib: tuple[str, ...] = ()
    hosts = ""
    multi = False  # glibc returns every /etc/hosts line of a name only with "multi on"
    answers: dict[int, list[Answer]] = {}
    complete = False
    for line in text.splitlines():
        words = line.split(" ")
        kind = words[0]
        if kind == "gai" and len(words) == 2:
            gai = None if words[1] == "-" else _b64(words[1]).decode(errors="replace")
        elif kind == "resolv" and len(words) == 2:
            resolv = parse_resolv_conf(_b64(words[1]), source="/etc/resolv.conf").checked()
        elif kind == "synretries" and len(words) == 2 and words[1].isdigit():
            retries = int(words[1])
        elif kind == "tool" and len(words) == 2 and words[1] in ("getent", "ping"):
            tool = words[1]
        elif kind == "lookup" and len(words) == 7 and words[1].isdigit() and words[2] in KINDS:
            t0, t1, rc, out = words[3:]
            output = _b64(out).decode(errors="replace")
            addresses = _addresses(output, tool)
            answers.setdefault(int(words[1]), []).append(
                Answer(
                    words[2],
                    addresses,
                    _elapsed(t0, t1),
                    not addresses and rc in ("137", "143"),
                    output,
                )
            )
        elif kind == "calib" and len(words) == 2:
            calib = _addresses(_b64(words[1]).decode(errors="replace"), "ping")
        elif kind == "hosts" and len(words) == 2:
            hosts = _b64(words[1]).decode(errors="replace")
        elif kind == "hostconf" and len(words) == 2:
            multi = any(
                line.split() == ["multi", "on"]
                for line in _b64(words[1]).decode(errors="replace").splitlines()
            )
        elif kind == END:
            complete = True
    orders = tuple(
        NameOrder(n, tuple(sorted(answers.get(i, []), key=lambda a: KINDS.index(a.kind))), ())
        for i, n in enumerate(names)
    )
    return FamilyReport(
        where,
        libc[0],
        libc[1],
        "asked with getent ahosts" if tool == "getent" else "asked with busybox ping",
        tool == "getent",
        gai,
        resolv,
        retries,
        orders,
        deadline,
        complete,
        unfaithful=_prefers_ipv4(calib, hosts) if tool == "ping" and multi else None,
    )


def _prefers_ipv4(calib: tuple[str, ...], hosts: str) -> str | None:
    """Why busybox's ping cannot show the C library's first answer, or None: it said an IPv4
    address for localhost where /etc/hosts maps localhost to ::1 too (asked only where
    /etc/host.conf says "multi on": else glibc returns the first line alone, 127.0.0.1 in
    Docker's /etc/hosts, and nothing can be told)."""
    both = {"::1": False, "127.": False}
    for line in hosts.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and "localhost" in words[1:]:
            if words[0] == "::1":
                both["::1"] = True
            elif words[0].startswith("127."):
                both["127."] = True
    if calib and _version(calib[0]) == 4 and all(both.values()):
        return (
            f"busybox's ping said {calib[0]} for localhost, which /etc/hosts maps to ::1 too "
            "and every C library sorts ::1 first: this busybox prefers an IPv4 answer itself "
            "(FEATURE_PREFER_IPV4_ADDRESS), so its first answer is not the library's"
        )
    return None


def libc_of(pid: int) -> tuple[str, str]:
    """Which C library a container's root holds, read from outside, and what told it."""
    root = f"/proc/{pid}/root"
    for path in ("/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"):
        if _exists(root, path):
            return "musl", f"{path} in its root"
    for path in (
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
        "/usr/lib64/libc.so.6",
        "/lib/libc.so.6",
    ):
        if _exists(root, path):
            return "glibc", f"{path} in its root"
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        try:
            binary = read_in_root(root, path, limit=MAX_BINARY)
        except OSError:
            continue
        if b"GLIBC_TUNABLES" in binary or b"GNU C Library" in binary:
            return "glibc", f"{path}, statically linked with glibc"
        if b"musl" in binary:
            return "musl", f"{path}, statically linked with musl"
    return "unknown", "no musl loader, libc.so.6 or static busybox found in its root"


def _exists(root: str, path: str) -> bool:
    try:
        read_in_root(root, path, limit=4)
    except OSError:
        return False
    return True


def source_for(destination: str) -> tuple[str | None, str]:
    """The source address this namespace's kernel picks for ``destination`` (a connected UDP
    socket sends nothing), and why there is none."""
    family = socket.AF_INET6 if _version(destination) == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((destination, 9))
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                return None, f"no route: {exc.strerror}"
            raise
        return str(s.getsockname()[0]), "the kernel's choice (connected UDP socket)"


async def with_sources(report: FamilyReport, container: ProbeContainer) -> FamilyReport:
    """The report with each answer's source address, from the container's namespace."""
    destinations = sorted(
        {a for n in report.names for ans in n.answers for a in ans.addresses if _version(a)}
    )

    def pick() -> dict[str, tuple[str | None, str]]:
        return {d: source_for(d) for d in destinations}

    try:
        picked = await container.netns.run(pick)
    except OSError as exc:
        raise ProbeError(
            f"container {container.name}", f"cannot ask its kernel for a source: {exc}"
        ) from exc
    names = tuple(
        NameOrder(
            n.name,
            n.answers,
            tuple(
                (d, *picked[d])
                for d in dict.fromkeys(a for ans in n.answers for a in ans.addresses)
                if d in picked
            ),
        )
        for n in report.names
    )
    return dataclasses.replace(report, names=names)


def read_gai_conf(pid: int) -> str | None:
    """A container's /etc/gai.conf, read from outside (None: it has none, or it is no
    regular file: glibc reads none then either)."""
    try:
        raw = read_in_root(f"/proc/{pid}/root", "/etc/gai.conf", limit=MAX_GAI_CONF)
    except OSError:
        return None
    return raw.decode(errors="replace")


async def of_workload(workload: ProbeContainer, asked: FamilyReport) -> FamilyReport:
    """A workload (only read, never exec'd into): its C library and /etc/gai.conf read through
    /proc/PID/root, its kernel's source for each answer its network's probe container got
    (``asked``). The order is then the rules' model's, not its C library's: ``modelled``."""
    libc = await asyncio.to_thread(libc_of, workload.pid)
    gai = await asyncio.to_thread(read_gai_conf, workload.pid)
    base = dataclasses.replace(
        asked,
        where=f"container {workload.name} (read from outside)",
        libc=libc[0],
        libc_evidence=libc[1],
        tool=f"not run: the answers {asked.where} got, ordered by the model",
        full_order=False,
        gai_conf=gai,
        # the probe container's: not this workload's (its fallback waits are not shown)
        resolv_conf=None,
        tcp_syn_retries=None,
        modelled=True,
    )
    return await with_sources(base, workload)


async def in_container(
    container: ProbeContainer, names: tuple[str, ...], *, deadline: float
) -> FamilyReport:
    """Run :data:`SCRIPT` in a probe container (the harness's own: never a workload), as
    :func:`probes.resolver.in_container` runs RC-01's, then ask its kernel for the sources.

    Raises :class:`ProbeError` when nsenter or the script fails or prints anything but the
    script's framed report."""
    where = f"container {container.name}"
    libc = await asyncio.to_thread(libc_of, container.pid)
    argv = [
        "nsenter",
        f"--target={container.pid}",
        "--net",
        "--pid",
        "--root",
        "--wd",
        "/bin/sh",
        "-c",
        SCRIPT,
        "sh",
        f"{deadline:.2f}",
        *names,
    ]
    timeout = deadline + 10
    status, out, err = await _run(argv, timeout=timeout, where=where)
    said = _said(err)
    if status is None:
        raise ProbeError(where, f"the family script did not finish within {timeout:g} s{said}")
    if status != 0:
        raise ProbeError(where, f"the family script could not run: nsenter status {status}{said}")
    lines = out.splitlines()
    if not lines or lines[0] != BEGIN or lines[-1] != END:
        shown = printable(out.strip()[:200], 200) or "nothing"
        raise ProbeError(where, f"the family script's output is not its report: {shown}{said}")
    report = parse_report(out, where=where, names=names, deadline=deadline, libc=libc)
    return await with_sources(report, container)
