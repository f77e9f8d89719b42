"""A container's own resolver at work: its resolv.conf, its libc's lookups, timed, from inside.

DNS-03, RC-01 and RC-02 cannot use our sockets alone: the build-container bug lives in the
resolver's retry behaviour (glibc waits ``timeout`` seconds on each dead server, ``attempts``
times), so the lookups must be made by the C library, in the container, through its own
``/etc/resolv.conf``. :data:`SCRIPT` does that with nothing but the probe image's static busybox
(linked against glibc): ``ping -c 1 -s 65535 NAME`` resolves NAME with ``getaddrinfo``, prints
the address, and then fails at once: an echo of that size exceeds the largest IP datagram, so the
kernel refuses it (EMSGSIZE) and nothing but the DNS queries leaves the container.
``nslookup SERVER`` asks each listed nameserver directly, to tell which of them are reachable.

The same script runs in a probe container (entered with nsenter) and in a build step (a ``RUN`` of a
throwaway build, see :mod:`probes.build`); :func:`parse_report` reads what it printed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
from dataclasses import dataclass
from typing import Literal

from probes.docker import ProbeContainer
from probes.errors import ProbeError
from probes.resolvconf import ResolvConf, parse_resolv_conf, printable

Family = Literal["IPv6", "any"]
EMBEDDED_DNS = "127.0.0.11"  # Docker's resolver on user-defined networks
MAX_SERVERS = 8  # nameserver lines asked directly; resolvers use three, junk files have more
# the first and last lines SCRIPT prints: output without both is not the script's whole report
BEGIN = "v6conform-resolver"
END = "done"

# bounded OUT CMD...: CMD with its output in OUT, killed at the deadline $d (busybox's `timeout`
# takes whole seconds only); the killer's output goes nowhere so it cannot hold ours open. The
# container scripts of the resolver (here) and of the address family (probes.family) share it.
BOUNDED = r"""bounded() {
  o=$1; shift
  "$@" >"$o" 2>&1 &
  p=$!
  (sleep "$d"; kill -9 $p) >/dev/null 2>&1 &
  k=$!
  wait $p; rc=$?
  kill $k 2>/dev/null
  return $rc
}
"""

# Arguments: DEADLINE (seconds), FAMILY (-6 or "any"), then the names. Each lookup and each
# nameserver runs in the background, so the whole script takes about one deadline at most. Its
# files are named by the shell's PID ($$, the same in its background subshells): two checks may
# run it at once in one container. Every
# value that came from the container is printed base64-encoded: one line per fact, whatever the
# bytes were. /proc/uptime gives the times (busybox date has no sub-second format).
SCRIPT = (
    r"""
echo v6conform-resolver
d=$1; fam=$2; shift 2
[ "$fam" = any ] && fam=
enc() { base64 | tr -d '\n'; }
echo "resolv $(enc </etc/resolv.conf)"
echo "route6 $(ip -6 route 2>&1 | enc)"
"""
    + BOUNDED
    + r"""look() {
  read t0 x </proc/uptime
  bounded /tmp/v6conform-$$-l$1 ping $fam -c 1 -s 65535 -I lo "$2"
  rc=$?
  read t1 x </proc/uptime
  echo "lookup $1 $t0 $t1 $rc $(enc </tmp/v6conform-$$-l$1)"
}
ask() {
  read t0 x </proc/uptime
  bounded /tmp/v6conform-$$-s$1 nslookup -timeout="$s" -retry=1 "$3" "$2"
  rc=$?
  read t1 x </proc/uptime
  echo "server $1 $t0 $t1 $rc $(printf %s "$2" | enc) $(enc </tmp/v6conform-$$-s$1)"
}
s=${d%.*}; s=$((s + 1))  # nslookup's own timeout: whole seconds, past the deadline
i=0
for n in "$@"; do look $i "$n" & i=$((i+1)); done
i=0
for ns in $(awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf | head -n MAX_SERVERS); do
  ask $i "$ns" "${1:-.}" & i=$((i+1))
done
wait
rm -f /tmp/v6conform-$$-*
echo done
""".replace("MAX_SERVERS", str(MAX_SERVERS))
)

_PING_RESOLVED = re.compile(r"^PING (\S+) \(([0-9A-Fa-f:.]+)\)", re.MULTILINE)
_CANT_FIND = re.compile(r"server can't find (\S+): ([A-Z]+)")


@dataclass(frozen=True, slots=True)
class Lookup:
    """One name through the container's resolver (getaddrinfo)."""

    name: str
    family: Family
    elapsed_s: float | None  # None: the script did not report it
    address: str | None  # the first address getaddrinfo gave
    killed: bool  # still resolving when the deadline struck
    output: str

    @property
    def resolved(self) -> bool:
        return self.address is not None

    @property
    def completed(self) -> bool:
        """The resolver came back, with an address or a negative answer (not stopped by us)."""
        return self.resolved or (not self.killed and self.elapsed_s is not None)

    def describe(self, deadline: float) -> str:
        took = "?" if self.elapsed_s is None else f"{self.elapsed_s:.2f} s"
        what = f"{self.name} ({'AAAA' if self.family == 'IPv6' else 'A/AAAA'})"
        if self.resolved:
            return f"{what}: {self.address} after {took}"
        if self.killed:
            return f"{what}: still resolving after {deadline:g} s (stopped there)"
        return f"{what}: failed after {took}: {printable(self.output.strip(), 160) or 'no output'}"


@dataclass(frozen=True, slots=True)
class ServerAnswer:
    """One nameserver from the container's resolv.conf, asked directly from inside it."""

    server: str
    elapsed_s: float | None
    rcode: str | None  # NOERROR, NXDOMAIN, ...; None: no answer
    reason: str  # why not, or "answered"
    output: str

    @property
    def answered(self) -> bool:
        return self.rcode is not None

    def describe(self) -> str:
        took = "" if self.elapsed_s is None else f" after {self.elapsed_s:.2f} s"
        if self.answered:
            return f"{self.server}: answered {self.rcode}{took}"
        return f"{self.server}: {self.reason}{took}"


@dataclass(frozen=True, slots=True)
class ResolverReport:
    """What the script saw in one place (a container, a build step)."""

    where: str  # "container v6conform-…-bridge", "build step (BuildKit)"
    resolv_conf: ResolvConf
    routes6: tuple[str, ...]
    lookups: tuple[Lookup, ...]
    servers: tuple[ServerAnswer, ...]
    deadline: float
    complete: bool  # the script ran to its end

    @property
    def has_ipv6_route(self) -> bool:
        """A route beyond the link-local and multicast ones the kernel always adds."""
        return any(not r.startswith(("fe80:", "ff00:", "multicast ")) for r in self.routes6)

    def server(self, address: str) -> ServerAnswer | None:
        return next((s for s in self.servers if s.server == address), None)

    def lines(self) -> list[str]:
        out = [f"{self.where}: {self.resolv_conf.source}"]
        out += [f"  {line}" for line in self.resolv_conf.summary_lines()]
        out.append(
            "  IPv6 routes: " + ("; ".join(self.routes6) if self.routes6 else "none (no IPv6)")
        )
        out += [f"  nameserver {s.describe()}" for s in self.servers]
        out += [f"  lookup {lk.describe(self.deadline)}" for lk in self.lookups]
        if not self.complete:
            out.append("  the probe script did not run to its end (its output is cut short)")
        return out


def script_args(
    deadline: float, family: Family, names: tuple[str, ...], *, output: str | None = None
) -> list[str]:
    """The command that runs :data:`SCRIPT` (exec form); ``output``: a file to print into."""
    script = SCRIPT if output is None else f"exec >{output} 2>&1\n{SCRIPT}"
    fam = "-6" if family == "IPv6" else "any"
    return ["/bin/sh", "-c", script, "sh", f"{deadline:.2f}", fam, *names]


def parse_report(
    text: str, *, where: str, names: tuple[str, ...], family: Family, deadline: float
) -> ResolverReport:
    """Read the script's output; anything unexpected in it is skipped, never raised (but a
    resolv.conf the parser itself failed on is a ProbeError: see ResolvConf.checked)."""
    resolv = parse_resolv_conf(b"", source=f"{where}: /etc/resolv.conf (not printed)")
    routes: tuple[str, ...] = ()
    lookups: dict[int, Lookup] = {}
    servers: dict[int, ServerAnswer] = {}
    complete = False
    for line in text.splitlines():
        words = line.split(" ")
        kind = words[0]
        if kind == "resolv" and len(words) == 2:
            # a parser bug is the harness's: a ProbeError, never a broken line of the file
            resolv = parse_resolv_conf(_b64(words[1]), source="/etc/resolv.conf").checked()
        elif kind == "route6" and len(words) == 2:
            routes = tuple(
                r.strip() for r in _b64(words[1]).decode(errors="replace").splitlines() if r.strip()
            )
        elif kind == "lookup" and len(words) == 6 and words[1].isdigit():
            index = int(words[1])
            if index < len(names):
                lookups[index] = _lookup(names[index], family, words[2:])
        elif kind == "server" and len(words) == 7 and words[1].isdigit():
            servers[int(words[1])] = _server(words[2:])
        elif kind == END:
            complete = True
    missing = [
        Lookup(n, family, None, None, False, "no result reported")
        for i, n in enumerate(names)
        if i not in lookups
    ]
    return ResolverReport(
        where,
        resolv,
        routes,
        tuple(lookups[i] for i in sorted(lookups)) + tuple(missing),
        tuple(servers[i] for i in sorted(servers)),
        deadline,
        complete,
    )


def framing_problem(text: str) -> str | None:
    """Why ``text`` is not the whole output of :data:`SCRIPT` (its first line :data:`BEGIN`, its
    last :data:`END`), or None when it is."""
    lines = text.splitlines()
    if not lines:
        return "it printed nothing"
    if lines[0] != BEGIN:
        return f"its output does not start with the script's marker {BEGIN!r}: {lines[0]!r}"[:240]
    if lines[-1] != END:
        return f"its output stops before the script's end marker {END!r} (cut short)"
    return None


def _b64(word: str) -> bytes:
    try:
        return base64.b64decode(word, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _elapsed(t0: str, t1: str) -> float | None:
    try:
        return max(0.0, float(t1) - float(t0))
    except ValueError:
        return None


def _lookup(name: str, family: Family, words: list[str]) -> Lookup:
    t0, t1, rc, out = words
    output = _b64(out).decode(errors="replace")
    resolved = _PING_RESOLVED.search(output)
    return Lookup(
        name,
        family,
        _elapsed(t0, t1),
        resolved.group(2) if resolved else None,
        not resolved and rc in ("137", "143"),
        output,
    )


def _server(words: list[str]) -> ServerAnswer:
    t0, t1, rc, server, out = words
    output = _b64(out).decode(errors="replace")
    address = printable(_b64(server).decode(errors="replace"), 80)
    rcode, reason = _server_verdict(rc, output)
    return ServerAnswer(address, _elapsed(t0, t1), rcode, reason, output)


def _server_verdict(rc: str, output: str) -> tuple[str | None, str]:
    """busybox nslookup's exit status and words, as an rcode or the reason there is none."""
    if rc == "0":
        return "NOERROR", "answered"
    if found := _CANT_FIND.search(output):
        return found.group(2), "answered"
    if rc in ("137", "143"):
        return None, "no answer before the deadline"
    if "can't connect to remote host" in output:
        # busybox names the errno after the colon; a cut output may end at the colon
        said = output.split("can't connect to remote host:", 1)[-1].strip().splitlines()
        cause = printable(said[0].lower(), 80) if said else "no reason given"
        return None, f"cannot send to it ({cause}): no route from here"
    if "Connection refused" in output:
        return None, "refused (ICMP port unreachable: nothing listens there)"
    if "no servers could be reached" in output:
        return None, "no answer (timed out)"
    return None, printable(output.strip(), 160) or f"nslookup failed (status {rc})"


async def in_container(
    container: ProbeContainer,
    names: tuple[str, ...],
    *,
    family: Family = "IPv6",
    deadline: float = 2.0,
) -> ResolverReport:
    """Run the script in a probe container: its root file system (its resolv.conf, its libc) and
    its network namespace, entered from the host with nsenter.

    Not ``docker exec``: that joins the container's mount namespace, whose root is the host's when
    dockerd itself runs in a chroot (a rescue system, a test bootstrap); the container process's
    own root (``/proc/PID/root``) is the container's wherever dockerd runs.

    Raises :class:`ProbeError` when nsenter or the script fails (a container that is gone, no
    shell in it), is stopped at the timeout, or prints anything but the script's framed report:
    what it printed then is no resolv.conf of the container's, and must never be judged as one."""
    where = f"container {container.name}"
    argv = [
        "nsenter",
        f"--target={container.pid}",
        "--net",
        # its PID namespace too: the container's /proc shows only its own processes, and busybox
        # runs applets through /proc/self/exe
        "--pid",
        "--root",  # the container's root directory, as its process sees it
        "--wd",
        *script_args(deadline, family, names),
    ]
    timeout = deadline + 10
    status, out, err = await _run(argv, timeout=timeout, where=where)
    said = _said(err)
    if status is None:
        raise ProbeError(
            where, f"the resolver script did not finish within {timeout:g} s (killed there){said}"
        )
    if status != 0:
        raise ProbeError(
            where, f"the resolver script could not run: nsenter exited with status {status}{said}"
        )
    if (why := framing_problem(out)) is not None:
        raise ProbeError(where, f"the resolver script's output is not its report: {why}{said}")
    return parse_report(out, where=where, names=names, family=family, deadline=deadline)


def _said(stderr: str) -> str:
    """What a command wrote to stderr, as the tail of a one-line reason ("" when nothing)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f": {printable('; '.join(lines), 240)}" if lines else ""


async def _run(argv: list[str], *, timeout: float, where: str) -> tuple[int | None, str, str]:
    """The command's exit status (None: killed at the timeout), its output and its errors. The
    script stops itself at its deadline, so the timeout only bounds a hung one."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/bin:/usr/bin:/sbin:/usr/sbin", "LC_ALL": "C"},
        )
    except OSError as exc:
        raise ProbeError(
            where, f"cannot run {argv[0]}: {exc.strerror} (util-linux has it)"
        ) from exc
    status: int | None
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
        status = proc.returncode
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
            proc.kill()
        out, err = await proc.communicate()
        status = None
    return status, out.decode(errors="replace"), err.decode(errors="replace")
