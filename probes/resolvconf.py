"""resolv.conf as glibc and musl read it, with every line they would trip over or ignore named.

The DNS and resolv.conf checks (DNS-01, RC-01..RC-03) read this file on the host, out of probe
containers and out of build steps. Whatever is in it — a CRLF copy, binary junk, ten thousand
lines, a host name where an address belongs — must become a check failure that points at the
line, never a harness crash: :func:`parse_resolv_conf` never raises.

The model is what the C libraries do (glibc ``resolv/res_init.c``, musl
``src/network/resolvconf.c``), because that is what decides whether a lookup in the container
works:

- a keyword counts only at the very start of a line, spelled in lower case and followed by a
  space or tab; an indented or capitalised line is ignored by both libraries;
- ``#`` or ``;`` at the start of a line makes a comment. On a ``nameserver`` or ``domain``
  line only the first value is read, so ``nameserver 192.0.2.1 # office`` works; on a
  ``search`` or ``options`` line every word counts, so a trailing comment there is not one;
- only the first three nameservers are used (MAXNS); the last ``search`` or ``domain`` wins;
- options are read with C ``atoi`` and clamped the way glibc clamps them (``ndots`` ≤ 15,
  ``timeout`` ≤ 30, ``attempts`` ≤ 5), so ``timeout:x`` really is 0 to glibc.

Lines with control characters (a NUL byte, say), lines over 4096 characters and everything
after the first MiB are not read at all: they are reported and skipped.

Why one module of some 750 lines: the line parser and the C libraries' word readers (addresses
with inet_aton and zones, options with atoi and glibc's caps) are one model of one file; each
rule of the parser is read against the word reader it calls, so split they would only be read
together.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from probes.errors import ProbeError

Severity = Literal["breaks", "warning"]

MAX_BYTES = 1 << 20  # a resolv.conf is a few hundred bytes; more is junk, not configuration
MAX_LINE = 4096  # longer lines are reported, not read
MAX_UNKNOWN_OPTIONS = 32  # kept in Options.unknown; each is still reported as a problem
MAX_PROBLEMS = 100  # then one summary problem: a junk file must not flood the report
SHOWN_CHARS = 120  # of an offending line, in a Problem
MUSL_LINE_LIMIT = 255  # musl reads lines into char[256] and skips any that do not fit
MAXNS = 3  # glibc and musl use the first three nameservers only
OLD_GLIBC_MAXDNSRCH = 6  # search domains kept by glibc < 2.26 …
OLD_GLIBC_SEARCH_CHARS = 256  # … in a buffer of this size
RES_MAXNDOTS = 15
RES_MAXRETRANS = 30  # timeout cap (musl: 60)
RES_MAXRETRY = 5  # attempts cap (musl: 10)
LINUX_TCP_CONNECT_SECONDS = 127  # SYN retries with net.ipv4.tcp_syn_retries = 6
IFNAMSIZ = 16  # interface names are at most 15 characters
PUBLIC_FALLBACKS = frozenset({"8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"})
GLIBC_FLAGS = (  # in glibc's order: it takes the first whose name starts the word
    ("rotate", "rotate"),
    ("edns0", "edns0"),
    ("single-request-reopen", "single_request_reopen"),
    ("single-request", "single_request"),
    ("no_tld_query", "no_tld_query"),
    ("no-tld-query", "no_tld_query"),
    ("no-reload", "no_reload"),
    ("use-vc", "use_vc"),
    ("trust-ad", "trust_ad"),
    ("no-aaaa", "no_aaaa"),
)
_BLANKS = re.compile(r"[ \t]+")  # glibc splits on space and tab only, not on other whitespace
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_ATON_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_ATOI = re.compile(r"[+-]?[0-9]*")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Nameserver:
    """One valid ``nameserver`` line."""

    address: str  # normalized, without the zone
    zone: str | None  # "eth0" from fe80::1%eth0; glibc resolves it with if_nametoindex
    line: int  # 1-based
    text: str  # the line as written

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(self.address)

    @property
    def is_ipv4_mapped(self) -> bool:
        """::ffff:a.b.c.d: written as IPv6, but the query goes out over IPv4."""
        ip = self.ip
        return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None

    @property
    def transport_ip(self) -> IPAddress:
        """The address the query really goes to (an IPv4-mapped address travels over IPv4)."""
        ip = self.ip
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        return ip

    @property
    def is_ipv6(self) -> bool:
        """Queried over IPv6 transport (so False for an IPv4-mapped address)."""
        return self.transport_ip.version == 6

    @property
    def is_loopback(self) -> bool:
        """127.0.0.0/8 or ::1: inside a container that is the container itself."""
        return self.transport_ip.is_loopback

    @property
    def is_link_local(self) -> bool:
        """fe80::/10 or 169.254.0.0/16: usable only on one link (IPv6: only with a zone)."""
        return self.transport_ip.is_link_local

    @property
    def is_public_fallback(self) -> bool:
        """One of the public resolvers Docker falls back to when it filtered out all others."""
        return str(self.transport_ip) in PUBLIC_FALLBACKS

    def __str__(self) -> str:
        return f"{self.address}%{self.zone}" if self.zone else self.address


@dataclass(frozen=True, slots=True)
class Problem:
    """A line the libraries reject, ignore or read differently from what it seems to say.

    ``line`` is 1-based; 0 means the file as a whole (say, it has no nameserver at all).
    """

    line: int
    text: str  # the offending line, clipped and escaped so that binary junk is safe to show
    reason: str
    # "breaks": resolution loses what the line meant, or slows down (a check fails on it);
    # "warning": the C library ignores it or copes, and lookups work as before (shown, no fail)
    severity: Literal["breaks", "warning"] = "breaks"

    @property
    def breaks(self) -> bool:
        return self.severity == "breaks"

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.reason}" + (f" — {self.text}" if self.text else "")


@dataclass(frozen=True, slots=True)
class Options:
    """The resolver options as glibc applies them (clamped, ``atoi``-read)."""

    ndots: int = 1
    timeout: int = 5  # seconds per try (RES_TIMEOUT); glibc caps at 30
    attempts: int = 2  # rounds over the nameservers (RES_DFLRETRY); glibc caps at 5
    rotate: bool = False
    edns0: bool = False
    single_request: bool = False
    single_request_reopen: bool = False
    use_vc: bool = False
    no_aaaa: bool = False
    trust_ad: bool = False
    no_tld_query: bool = False
    no_reload: bool = False
    inet6: bool = False  # obsolete: current glibc ignores it
    unknown: tuple[str, ...] = ()

    def words(self) -> tuple[str, ...]:
        """The options as an ``options`` line would spell them, defaults included."""
        out = [f"ndots:{self.ndots}", f"timeout:{self.timeout}", f"attempts:{self.attempts}"]
        flags = {attr: word for word, attr in GLIBC_FLAGS} | {"inet6": "inet6"}
        out += [word for attr, word in flags.items() if getattr(self, attr)]
        return (*out, *self.unknown)


@dataclass(frozen=True, slots=True)
class ExtServer:
    """An upstream of Docker's internal resolver (127.0.0.11), from its ``# ExtServers:`` line."""

    address: str
    from_host: bool  # host(…): dockerd asks it from the host's namespace, not the container's


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """A parsed resolv.conf: what glibc uses from it, and every problem, by line."""

    source: str  # where the file came from, for the evidence
    nameservers: tuple[Nameserver, ...] = ()  # every valid one, in order, also beyond the third
    search: tuple[str, ...] = ()  # from the last search or domain line, as glibc does
    domain: str | None = None  # the last domain line's name, even if a later search replaced it
    options: Options = field(default_factory=Options)
    problems: tuple[Problem, ...] = ()  # in line order
    lines: int = 0  # lines read
    generated_by_docker: bool = False
    docker_ext_servers: tuple[ExtServer, ...] = ()
    # what Docker 26+ says in its header comments about where the content came from:
    # "# Based on host file: '/etc/resolv.conf' (legacy)", "# Used default nameservers.",
    # "# Overrides: [...]", "# Invalid nameservers: [...]", "# NO EXTERNAL NAMESERVERS DEFINED"
    docker_notes: tuple[str, ...] = ()
    # the parser's own failure (a bug of this harness, not the file's): nothing of the file was
    # read, so nothing of it may be judged; :meth:`checked` makes it a harness error
    unread: str | None = None

    def checked(self) -> ResolvConf:
        """This file, or (the parser failed on it) a :class:`ProbeError`: the run cannot
        vouch for what it could not read, and a parser bug is never the host's fault."""
        if self.unread is not None:
            raise ProbeError(self.source, self.unread)
        return self

    @property
    def breaking(self) -> tuple[Problem, ...]:
        """The problems that break or slow resolution: a check fails on these."""
        return tuple(p for p in self.problems if p.breaks)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems the C library ignores or copes with: shown, never a failure."""
        return tuple(p for p in self.problems if not p.breaks)

    @property
    def used_nameservers(self) -> tuple[Nameserver, ...]:
        """The first three: glibc and musl ignore the rest (MAXNS)."""
        return self.nameservers[:MAXNS]

    @property
    def ipv6_nameservers(self) -> tuple[Nameserver, ...]:
        return tuple(ns for ns in self.nameservers if ns.is_ipv6)

    @property
    def ipv4_nameservers(self) -> tuple[Nameserver, ...]:
        return tuple(ns for ns in self.nameservers if not ns.is_ipv6)

    def worst_case_seconds(self) -> float:
        """How long one glibc lookup takes to fail when every used nameserver drops queries.

        glibc's ``__res_context_send`` makes ``attempts`` rounds over the used nameservers
        (``rotate`` only changes where a round starts, not its length), and ``send_dg`` waits
        for server number *i* (0-based) of *n*::

            wait(0) = timeout        wait(i) = (timeout << i) // n  for i > 0,  at least 1 s

        so the total is ``attempts × Σ wait(i)``. For one or two servers that is exactly
        ``timeout × attempts × n``; for three it is ``timeout + 2·timeout//3 + 4·timeout//3``
        per round (default: 14 s a round, 28 s in all, not 30). A and AAAA go out together,
        and ``single-request`` only serialises them within the same wait, so it changes nothing
        here. With ``attempts:0`` no query is sent at all (0 s). With ``use-vc`` glibc makes a
        single round over TCP, each blocked in connect() until the kernel gives up (127 s with
        Linux defaults). With no nameserver line glibc asks 127.0.0.1, one server.

        "Drops" is the worst case: a server that answers with an ICMP error, or an address
        without a route, fails at once. musl asks all servers in parallel and gives up after
        ``timeout`` seconds in all, so its worst case is ``options.timeout``.
        """
        count = len(self.used_nameservers) or 1
        if self.options.attempts <= 0:
            return 0.0
        if self.options.use_vc:
            return float(LINUX_TCP_CONNECT_SECONDS * count)
        per_round = sum(glibc_wait_seconds(self.options.timeout, i, count) for i in range(count))
        return float(per_round * self.options.attempts)

    def summary_lines(self) -> tuple[str, ...]:
        """Evidence for a check: the servers with their line numbers, search, options, problems."""
        out = [f"{self.source}: {self.lines} lines, {len(self.nameservers)} nameservers"]
        for index, ns in enumerate(self.nameservers):
            notes = [f"line {ns.line}", *_nameserver_notes(ns)]
            if index >= MAXNS:
                notes.append("not used: beyond the first 3")
            out.append(f"nameserver {ns} ({', '.join(notes)})")
        if self.search:
            out.append(f"search {' '.join(self.search)}")
        out.append(f"options {' '.join(self.options.words())}")
        out += [f"Docker's header: {note}" for note in self.docker_notes]
        if self.docker_ext_servers:
            ext = " ".join(
                f"host({e.address})" if e.from_host else e.address for e in self.docker_ext_servers
            )
            out.append(f"Docker's internal resolver forwards to: {ext}")
        out.append(f"worst case with every nameserver silent: {self.worst_case_seconds():g} s")
        out += [f"{'problem' if p.breaks else 'warning'} at {p}" for p in self.problems]
        return tuple(out)


DOCKER_HEADER_NOTES = (
    "# Based on host file:",
    "# Used default nameservers",
    "# Overrides:",
    "# Invalid nameservers:",
    "# NO EXTERNAL NAMESERVERS",
    "# Option ndots from:",
)


def glibc_wait_seconds(timeout: int, index: int, count: int) -> int:
    """glibc's wait for nameserver ``index`` of ``count`` in one round (res_send.c, send_dg)."""
    seconds = timeout << index if timeout > 0 else 0
    if index > 0:
        seconds //= count
    return max(seconds, 1)


def parse_resolv_conf(data: bytes | str, *, source: str = "resolv.conf") -> ResolvConf:
    """Parse a resolv.conf the way glibc and musl read it; never raises (a bug of the parser's
    own is ``unread``, not a problem of the file).

    ``data`` is the file's content; bytes are decoded as UTF-8 with replacement characters.
    Everything the libraries would reject, ignore or read surprisingly is in ``problems``.
    """
    try:
        return _Parser(source).parse(data)
    except Exception as exc:  # the contract is "never raises": a parser bug must not crash a run
        reason = f"internal error in the resolv.conf parser: {type(exc).__name__}: {exc}"
        return ResolvConf(source=source, unread=reason)


class _Parser:
    """One pass over the lines; the state the libraries keep while they read the file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nameservers: list[Nameserver] = []
        self.seen: dict[tuple[str, str | None], int] = {}  # (address, zone) -> first line
        self.search: tuple[str, ...] = ()
        self.domain: str | None = None
        self.search_lines: list[tuple[int, str]] = []  # (line, keyword) of search/domain lines
        self.options = Options()
        self.problems: list[Problem] = []
        self.omitted = 0
        self.first_omitted = 0
        self.crlf_seen = False
        self.docker = False
        self.ext_servers: tuple[ExtServer, ...] = ()
        self.docker_notes: list[str] = []
        self.keywords: dict[str, Callable[[int, str, list[str]], None]] = {
            "nameserver": self.nameserver_line,
            "search": self.search_line,
            "domain": self.domain_line,
            "options": self.options_line,
            "sortlist": lambda n, text, args: None,  # glibc reads it; it does not matter here
            "lookup": self.bsd_line,
            "family": self.bsd_line,
        }

    def parse(self, data: bytes | str) -> ResolvConf:
        text, truncated = _decode(data)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            if truncated and number == len(lines):
                self.problem(number, line, "file is larger than 1 MiB: not read from here on")
            else:
                self.line(number, line)
        self.finish()
        return ResolvConf(
            source=self.source,
            nameservers=tuple(self.nameservers),
            search=self.search,
            domain=self.domain,
            options=self.options,
            problems=tuple(sorted(self.problems, key=lambda p: p.line)),
            lines=len(lines),
            generated_by_docker=self.docker,
            docker_ext_servers=self.ext_servers,
            docker_notes=tuple(self.docker_notes),
        )

    def problem(self, line: int, text: str, reason: str, severity: Severity = "breaks") -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line, printable(text), reason, severity))
            return
        self.omitted += 1
        self.first_omitted = min(self.first_omitted or line, line)

    def line(self, number: int, raw: str) -> None:
        crlf = raw.endswith("\r")
        line = raw[:-1] if crlf else raw
        if crlf and not self.crlf_seen:
            self.crlf_seen = True
            self.problem(number, raw, crlf_reason())
        if len(line) > MAX_LINE:
            self.problem(number, line, f"line is {len(line)} characters long: not read")
            return
        control = _CONTROL.search(line)
        if control:
            self.problem(number, line, control_reason(control.group()))
            return
        stripped = line.strip(" \t")
        if not stripped:
            return
        if stripped[0] in "#;":
            self.comment(line)
            return
        if "\ufffd" in line:
            self.problem(number, line, "line has bytes that are not UTF-8 text: not read")
            return
        if line[0] in " \t":
            reason = "indented line: glibc and musl read keywords only at the start of a line"
            self.problem(number, line, reason + ", so they ignore it")
            return
        if len(raw) >= MUSL_LINE_LIMIT:
            reason = f"line is {len(raw)} characters long: musl ignores lines of 255 or more"
            self.problem(number, line, reason)
        keyword, *args = _BLANKS.split(stripped)
        handler = self.keywords.get(keyword)
        if handler is not None:
            handler(number, line, args)
        elif keyword.lower() in self.keywords:
            shown = printable(keyword, 60)
            reason = f"'{shown}' is not '{shown.lower()}': glibc and musl match keywords"
            self.problem(number, line, reason + " case-sensitively and ignore this line")
        else:
            shown = printable(keyword, 60)
            self.problem(
                number, line, f"unknown keyword '{shown}': glibc and musl ignore it", "warning"
            )

    def comment(self, line: str) -> None:
        """Docker's generated files say in comments where their content came from."""
        if line.startswith("# Generated by Docker Engine"):
            self.docker = True
        elif line.startswith("# ExtServers:"):
            self.ext_servers = parse_ext_servers(line.removeprefix("# ExtServers:"))
        elif self.docker and line.startswith(DOCKER_HEADER_NOTES):
            self.docker_notes.append(printable(line.removeprefix("# "), 200))

    def nameserver_line(self, number: int, text: str, args: list[str]) -> None:
        if not args:
            self.problem(number, text, "nameserver line has no address: ignored")
            return
        parsed = parse_address(args[0])
        if isinstance(parsed, str):
            self.problem(number, text, parsed)
            return
        address, zone, notes = parsed
        for note in notes:  # the address is used; a legacy spelling of it changes nothing
            self.problem(number, text, note, "warning" if "inet_aton form" in note else "breaks")
        ns = Nameserver(address, zone, number, text)
        earlier = self.seen.setdefault((address, zone), number)
        if earlier != number:
            reason = f"nameserver {ns} repeats line {earlier}"
            self.problem(number, text, reason + ": the copy takes one of the 3 slots", "warning")
        if len(self.nameservers) == MAXNS:
            reason = "more than 3 nameservers: glibc uses only the first 3 (MAXNS), as does musl"
            self.problem(number, text, reason + "; this one and later ones are ignored", "warning")
        self.nameservers.append(ns)
        if len(args) > 1 and is_address(args[1]):  # any other tail is a comment, as to glibc
            reason = f"one address per nameserver line: '{args[1]}' is ignored"
            self.problem(number, text, reason)

    def search_line(self, number: int, text: str, args: list[str]) -> None:
        if not args:
            self.problem(number, text, "search line has no domains: ignored")
            return
        self.search = tuple(args)
        self.search_lines.append((number, "search"))
        comment = next((a for a in args if a.startswith(("#", ";"))), None)
        if comment is not None:
            reason = f"'{comment[0]}' does not start a comment here: glibc and musl take"
            self.problem(number, text, reason + " every word after 'search' as a domain")
        for domain in args:
            bad = domain_problem(domain)
            if bad:
                self.problem(number, text, bad, "warning")
        if len(args) > OLD_GLIBC_MAXDNSRCH or len(" ".join(args)) >= OLD_GLIBC_SEARCH_CHARS:
            reason = "search list longer than 6 domains / 256 chars (glibc < 2.26 truncates it)"
            self.problem(number, text, reason, "warning")

    def domain_line(self, number: int, text: str, args: list[str]) -> None:
        if not args:
            self.problem(number, text, "domain line has no name: ignored")
            return
        self.domain = args[0]
        self.search = (args[0],)
        self.search_lines.append((number, "domain"))
        bad = domain_problem(args[0])
        if bad:
            self.problem(number, text, bad)
        if len(args) > 1 and not args[1].startswith(("#", ";")):
            reason = f"domain takes one name: glibc ignores '{args[1]}' and what follows"
            self.problem(number, text, reason + " (musl reads the line like search)", "warning")

    def options_line(self, number: int, text: str, args: list[str]) -> None:
        """Every word counts to glibc, also after a '#': only the ones that change something
        after a would-be comment are worth a problem, the rest of a comment is just ignored."""
        comment = next((i for i, w in enumerate(args) if w.startswith(("#", ";"))), len(args))
        for word in args[:comment]:
            self.options, reason = apply_option(self.options, word)
            if reason:  # an option glibc ignores or caps: lookups still work
                self.problem(number, text, reason, "warning")
        applied = [word for word in args[comment:] if is_option_word(word)]
        for word in applied:
            self.options, _ = apply_option(self.options, word)
        if applied:
            reason = f"'{args[comment][0]}' does not start a comment here: glibc still applies"
            self.problem(number, text, f"{reason} {' '.join(applied)}", "warning")

    def bsd_line(self, number: int, text: str, args: list[str]) -> None:
        keyword = text.split(None, 1)[0]
        reason = f"'{keyword}' is an OpenBSD keyword: glibc and musl ignore it"
        self.problem(number, text, reason, "warning")

    def finish(self) -> None:
        """What only the whole file shows: overridden search lines, no nameserver, overflow."""
        if len(self.search_lines) > 1:
            last, last_kind = self.search_lines[-1]
            for number, kind in self.search_lines[:-1]:
                reason = f"{kind} line overridden by the {last_kind} line at line {last}"
                self.problem(
                    number, "", reason + ": the last search or domain line wins", "warning"
                )
        if not self.nameservers:  # past the cap too: it is the one that matters most
            reason = "no valid nameserver line: glibc and musl then ask 127.0.0.1"
            self.problems.append(Problem(0, "", reason))
        if self.omitted:
            first = self.first_omitted
            reason = f"{self.omitted} more problems not listed, the first at line {first}"
            self.problems.append(Problem(first, "", reason))


def _decode(data: bytes | str) -> tuple[str, bool]:
    """The first MiB as text, and whether there was more."""
    if isinstance(data, str):
        data = data[: MAX_BYTES + 1].encode("utf-8", errors="replace")  # lone surrogates too
    raw = bytes(data[: MAX_BYTES + 1])
    truncated = len(raw) > MAX_BYTES
    return raw[:MAX_BYTES].decode("utf-8", errors="replace"), truncated


def printable(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` clipped to ``limit`` characters, with anything unprintable as an escape."""
    shown = "".join(_escape(c) for c in text[:limit])
    if len(shown) > limit or len(text) > limit:
        return shown[: limit - 1] + "…"
    return shown


def _escape(char: str) -> str:
    if char.isprintable():
        return char
    if char == "\t":
        return "\\t"
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def crlf_reason() -> str:
    return (
        "line ends in CR (a CRLF file): glibc keeps the '\\r' in the last word of every line,"
        " so glibc 2.32 and later reject each nameserver address and the last search domain"
        " on such lines (musl strips it)"
    )


def control_reason(char: str) -> str:
    if char == "\x00":
        return "line has a NUL byte: not read"
    return f"line has a control character ({_escape(char)}): not read"


def parse_address(token: str) -> tuple[str, str | None, list[str]] | str:
    """(address, zone, notes) as glibc reads a nameserver's value, or why it is not one.

    The notes are problems with an address that is still used (a legacy form, a zone glibc
    ignores, an address that cannot be a server).
    """
    notes: list[str] = []
    address_text, percent, zone = token.partition("%")
    try:
        ip: IPAddress = ipaddress.ip_address(address_text)
    except ValueError:
        legacy = inet_aton_legacy(address_text) if not percent else None
        if legacy is None:
            return not_an_address_reason(token)
        notes.append(f"'{token}' is the old inet_aton form of {legacy}: write {legacy}")
        ip = legacy
    if percent and ip.version == 4:
        return f"nameserver '{token}': a zone (%…) belongs only to an IPv6 address; ignored"
    notes += zone_notes(ip, zone) if percent else []
    notes += address_notes(ip)
    return normalize(ip), zone or None, notes


def is_address(word: str) -> bool:
    return not isinstance(parse_address(word), str)


def normalize(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return ip.compressed


def zone_notes(ip: IPAddress, zone: str) -> list[str]:
    """What glibc makes of a zone (``__inet6_scopeid_pton``): names only on link-local."""
    if not zone:
        return ["empty zone after '%': glibc ignores it"]
    if zone.isdigit() and zone.isascii():
        return [] if int(zone) < 1 << 32 else [f"zone {zone} is out of range: glibc ignores it"]
    if len(zone) >= IFNAMSIZ or "/" in zone:
        return [f"zone '{zone}' cannot be an interface name: glibc ignores it"]
    if not ip.is_link_local and not ip.is_multicast:
        return [f"zone '{zone}' on a non-link-local address: glibc ignores a zone name here"]
    return []


def address_notes(ip: IPAddress) -> list[str]:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return [f"IPv4-mapped address: the query goes to {ip.ipv4_mapped} over IPv4"]
    if ip.is_unspecified:
        return [f"{ip} is the unspecified address: Linux delivers such queries to this host"]
    if ip.is_multicast:
        return [f"{ip} is a multicast address: no nameserver answers there"]
    return []


def inet_aton_legacy(text: str) -> ipaddress.IPv4Address | None:
    """The address inet_aton (glibc, musl) makes of forms like 127.1, 010.0.0.1 or 0x7f000001."""
    parts = text.split(".")
    if len(text) > 64 or not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not _ATON_PART.fullmatch(part):
            return None
        if part[:2].lower() == "0x":
            values.append(int(part[2:] or "0", 16))
        else:
            values.append(int(part, 8 if part.startswith("0") else 10))
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for position, value in enumerate(head):
        number |= value << (8 * (3 - position))
    return ipaddress.IPv4Address(number)


def not_an_address_reason(token: str) -> str:
    head = f"nameserver '{printable(token, 60)}' is not an IP address"
    if token.startswith("[") or re.fullmatch(r"[0-9.]+:[0-9]+", token):
        return head + ": resolv.conf takes a bare address, with no brackets or port (always 53)"
    if "#" in token or ";" in token:
        return head + ": a comment needs a blank before it"
    if re.fullmatch(r"[A-Za-z0-9_.-]+", token) and not token.replace(".", "").isdigit():
        return head + ": resolv.conf takes addresses, not names; glibc and musl ignore the line"
    return head + "; glibc and musl ignore the line"


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot be a search domain, or None ("." is the root: no search)."""
    if domain == ".":
        return None
    name = domain.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253:
        return f"search domain '{printable(domain, 60)}' is longer than 253 characters"
    if any(not label for label in labels):
        return f"search domain '{domain}' has an empty label"
    if any(len(label) > 63 for label in labels):
        return f"search domain '{printable(domain, 60)}' has a label longer than 63 characters"
    return None


def apply_option(options: Options, word: str) -> tuple[Options, str | None]:
    """``options`` with one word of an options line applied as glibc does, and any problem."""
    for name, cap, musl_cap in (
        ("ndots", RES_MAXNDOTS, RES_MAXNDOTS),
        ("timeout", RES_MAXRETRANS, 60),
        ("attempts", RES_MAXRETRY, 10),
    ):
        if word.startswith(name + ":"):
            value, reason = numeric_option(word, name, cap, musl_cap)
            return _set(options, name, value), reason
    for name, attr in GLIBC_FLAGS:
        if word == name:
            return _set(options, attr, True), None
    if word == "debug":
        return options, None
    if word == "inet6":
        reason = "option inet6 is obsolete: deprecated since glibc 2.25, ignored by current glibc"
        return dataclasses.replace(options, inet6=True), reason
    unknown = options
    if len(options.unknown) < MAX_UNKNOWN_OPTIONS:  # a tuple per word would be quadratic
        unknown = dataclasses.replace(options, unknown=(*options.unknown, word))
    for name, attr in GLIBC_FLAGS:
        if word.startswith(name):
            reason = f"unknown option '{printable(word, 60)}': glibc reads it as '{name}'"
            return _set(unknown, attr, True), reason + " (it compares prefixes)"
    return unknown, f"unknown option '{printable(word, 60)}': glibc and musl ignore it"


def _set(options: Options, attr: str, value: object) -> Options:
    if getattr(options, attr) == value:
        return options  # a line of ten thousand "rotate" need not copy ten thousand times
    changes: dict[str, Any] = {attr: value}
    return dataclasses.replace(options, **changes)


def is_option_word(word: str) -> bool:
    """Whether glibc acts on ``word`` in an options line (it matches names by prefix)."""
    names = ("ndots:", "timeout:", "attempts:", "inet6", *(name for name, _ in GLIBC_FLAGS))
    return word.startswith(names)


def numeric_option(word: str, name: str, cap: int, musl_cap: int) -> tuple[int, str | None]:
    """glibc's value for ``name:N`` (atoi, then its cap) and what is wrong with the word."""
    text = word[len(name) + 1 :]
    value = c_atoi(text)
    clean = text.isascii() and text.isdigit()
    notes: list[str] = []
    if not clean:
        shown = printable(text, 30)
        notes.append(f"'{shown}' is not a whole number; glibc's atoi makes it {value}")
    if value > cap:
        notes.append(f"above glibc's limit of {cap}, which it uses instead")
        if musl_cap != cap:
            notes[-1] += f" (musl allows {musl_cap})"
        value = cap
    if name == "timeout" and value <= 0:
        notes.append("glibc still waits at least 1 s per server and try")
    if name == "attempts" and value <= 0:
        notes.append("glibc then sends no query at all: every lookup fails at once")
    if name == "ndots" and value < 0:
        notes.append("a negative ndots makes no sense; taken as 0")
    value = max(value, 0)
    return value, f"options {printable(word, 40)}: {'; '.join(notes)}" if notes else None


def c_atoi(text: str) -> int:
    """C's atoi as glibc uses it: optional sign, leading ASCII digits, 0 when there are none."""
    digits = _ATOI.match(text)
    number = digits.group() if digits else ""
    sign = -1 if number.startswith("-") else 1
    number = number.lstrip("+-")[:10]  # atoi overflows past int; far beyond every cap anyway
    return sign * int(number) if number else 0


def parse_ext_servers(text: str) -> tuple[ExtServer, ...]:
    """``[192.0.2.1 host(127.0.0.53) 2001:db8::1]`` as Docker writes it, whatever it holds."""
    servers: list[ExtServer] = []
    for word in _BLANKS.split(text.strip(" \t[]").replace(",", " ")):
        from_host = word.startswith("host(") and word.endswith(")")
        address = word[5:-1] if from_host else word
        if address:
            servers.append(ExtServer(address, from_host))
    return tuple(servers)


def _nameserver_notes(ns: Nameserver) -> Iterator[str]:
    if ns.is_ipv4_mapped:
        yield "IPv4-mapped"
    if ns.is_loopback:
        yield "loopback"
    if ns.is_link_local:
        yield "link-local" if ns.zone or not ns.is_ipv6 else "link-local without a zone"
    if ns.is_public_fallback:
        yield "Docker's public fallback"
