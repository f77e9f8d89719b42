"""Target profiles: what a host is expected to provide, read from TOML (standard library)."""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

from probes.errors import ProfileError


@dataclass(frozen=True, slots=True)
class ExpectedName:
    name: str
    aaaa: tuple[str, ...] = ()  # expected addresses; empty: any AAAA will do
    a: tuple[str, ...] = ()
    dual_stack: bool = False


@dataclass(frozen=True, slots=True)
class FamilyPolicy:
    """AF-01 (``[family]``): the dual-stack names whose family applications use, and which
    family they should use: "ipv6" (IPv6 first) or "any"."""

    names: tuple[str, ...] | None = None  # None: the [[names]] that are dual-stack
    prefer: str = "ipv6"
    # images whose C library is asked too: a container of each on every IPv6 network, the
    # harness's own (started, asked, removed); each must have /bin/sh and sleep
    images: tuple[str, ...] = ()


FAMILY_PREFER = ("ipv6", "any")
_FAMILY_KEYS = ["images", "names", "prefer"]


SCHEMES = {"http": 80, "https": 443, "tcp": None}  # the port each takes when none is given


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A service the site publishes by name, to be reached over both families (EP-*)."""

    name: str
    port: int
    scheme: str = "http"  # "http", "https" (a request each) or "tcp" (a connect only)
    path: str = "/"

    @property
    def label(self) -> str:
        return (
            f"{self.scheme}://{self.name}:{self.port}"
            if self.scheme != "tcp"
            else (f"{self.name} tcp/{self.port}")
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """Every key is optional; the defaults describe a plain Docker host."""

    # GW: demand this link-local gateway on every IPv6 bridge ("fe80::1"); unset: by daemon version
    link_local_gateway: str | None = None
    # GW: the daemon's default-gateway-v6, where one is configured
    default_gateway_v6: str | None = None
    # RT: addresses every container must reach
    anchors: tuple[str, ...] = ()
    # RT-05: a network namespace at the far end to ping containers from
    far_end_namespace: str | None = None
    # DNS / RA expectations
    nameservers: tuple[str, ...] = ()
    rdnss: tuple[str, ...] = ()
    dnssl: tuple[str, ...] = ()
    names: tuple[ExpectedName, ...] = ()
    # DNS-04: whether the resolvers must synthesize AAAA (DNS64); unset: report, do not judge
    dns64: bool | None = None
    # NAT64-01, DNS-05: names with only A records that containers must reach through the
    # site's DNS64 and NAT64
    ipv4_only: tuple[str, ...] = ()
    # EP-*: the services published by name ([[endpoints]]: name, scheme, port, path)
    endpoints: tuple[Endpoint, ...] = ()
    # RA-05: the M and O flags the routers must send (DHCPv6 for addresses / for other config)
    ra_managed: bool | None = None
    ra_other: bool | None = None
    # RA-02: the routers' MaxRtrAdvInterval (s), to judge RDNSS lifetimes; unset: from the RA's
    # Advertisement Interval option where it has one
    ra_max_interval: float | None = None
    # RT-06: what each IPv6 network's mode must be: "routed" (the prefix is routed to the host,
    # no NAT66), "nat" (Docker masquerades it) or "any"; by network name, "*" for the rest
    ipv6_mode: tuple[tuple[str, str], ...] = ()
    # AF-01: the family applications should use for dual-stack names ([family] names, prefer)
    family: FamilyPolicy = FamilyPolicy()
    # timings (seconds)
    timeout: float = 1.0  # per probe operation
    dad_timeout: float = 3.0  # how long a fresh address may stay tentative
    resolve_threshold: float = 1.0  # DNS-03, RC-02: a lookup through a container's resolver
    build_timeout: float = 60.0  # RC-02: one throwaway build, start to end
    source: str = "built-in defaults"

    def wanted_mode(self, network: str) -> str | None:
        """The IPv6 mode the profile demands of ``network``; None: it demands none."""
        modes = dict(self.ipv6_mode)
        wanted = modes.get(network, modes.get("*"))
        return None if wanted in (None, "any") else wanted

    def family_names(self) -> tuple[str, ...]:
        """AF-01's names: ``[family] names``, else the [[names]] with both A and AAAA."""
        if self.family.names is not None:
            return self.family.names
        return tuple(n.name for n in self.names if n.dual_stack)


IPV6_MODES = ("routed", "nat", "any")
# IP family (0: either), None: any text. Anchors are pinged with ICMPv6 (RT-02): IPv6 only.
_STRINGS = {"anchors": 6, "nameservers": 0, "rdnss": 6, "dnssl": None, "ipv4_only": None}
RA_MAX_INTERVAL = (4, 65535)  # MaxRtrAdvInterval's range, seconds (RFC 8319 2)
# the timings' ceiling: a deadline must end (inf, or 1e308, would wait for ever, and a number too
# large for a float cannot be one); an hour is far past any probe, build or lookup we make
MAX_SECONDS = 3600
_FLOATS = {"timeout", "dad_timeout", "resolve_threshold", "build_timeout", "ra_max_interval"}
_BOOLS = {"dns64", "ra_managed", "ra_other"}
_STRS = {"link_local_gateway": 6, "default_gateway_v6": 6, "far_end_namespace": None}
_KNOWN = sorted({f.name for f in fields(Profile)} - {"source"})
_NAME_KEYS = ["a", "aaaa", "dual_stack", "name"]
_ENDPOINT_KEYS = ["name", "path", "port", "scheme"]
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")  # how tomllib ends its messages
# A profile is a few flat keys, lists of addresses and [[names]]/[[endpoints]] tables. tomllib
# recurses once per nesting level (RecursionError past some 900) and takes time quadratic in a
# dotted key's parts (20,000 parts: 9 s), so the text is held to these before tomllib reads it.
MAX_PROFILE_BYTES = 1 << 20  # a profile is a few KiB
MAX_NESTING = 16  # [ and { open at once, table headers included
MAX_KEY_PARTS = 16  # of one dotted key (ipv6_mode.v6net is 2)
_DOTTED = re.compile(r"""(?:[A-Za-z0-9_+-]+|"")(?:[ \t]*\.[ \t]*(?:[A-Za-z0-9_+-]+|""))*""")


def load_profile(path: str | Path) -> Profile:
    """Read a profile; every error is one line: `file:line: key: what is wrong`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(f"{path}: not a profile: larger than {MAX_PROFILE_BYTES} bytes")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except OSError as exc:  # a directory, no permission
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        raise ProfileError(
            f"{path}: not valid TOML: not UTF-8 text (byte 0x{bad} at offset {exc.start})"
        ) from None
    return parse_profile(text, source=str(path))


def parse_profile(text: str, *, source: str) -> Profile:
    """A profile from its TOML text; every error is a ProfileError of one line naming
    ``source`` (the file, with the line where it can be found)."""
    shape = _shape_problem(text)
    if shape is not None:
        line, what = shape
        raise ProfileError(f"{source}:{line}: not a profile: {what}")
    try:
        data = tomllib.loads(text)
    except RecursionError:  # _shape_problem should have stopped it; never a crash
        raise ProfileError(f"{source}: not a profile: nested too deep") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of over 4300 digits
        # Python 3.11 has no exc.lineno: the position is only in the message's last words
        at = _TOML_AT.search(str(exc))
        where = f"{source}:{at[1]}:{at[2]}" if at else source
        what = _TOML_AT.sub("", str(exc))[:200]
        raise ProfileError(_one_line(f"{where}: not valid TOML: {what}")) from None
    return profile_from_dict(data, source=source, text=text)


def _shape_problem(text: str) -> tuple[int, str] | None:
    """(line, why) when the text nests deeper than :data:`MAX_NESTING` or has a dotted key of
    more than :data:`MAX_KEY_PARTS` parts; one pass, strings and comments stepped over."""
    bare: list[str] = []  # the text with every string as "" and no comments
    depth, line, i = 0, 1, 0
    while i < len(text):
        c = text[i]
        if c == "#":
            i = _find(text, "\n", i)
            continue
        if c in "\"'":
            end = _string_end(text, i)
            line, i = line + text.count("\n", i, end), end
            bare.append('""')
            continue
        if c == "\n":
            line += 1
        elif c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, f"nested more than {MAX_NESTING} deep"
        elif c in "]}":
            depth = max(0, depth - 1)
        bare.append(c)
        i += 1
    flat = "".join(bare)
    for m in _DOTTED.finditer(flat):
        parts = m[0].count(".") + 1
        if parts > MAX_KEY_PARTS:
            at = flat.count("\n", 0, m.start()) + 1
            return at, f"a dotted key of {parts} parts (at most {MAX_KEY_PARTS})"
    return None


def profile_from_dict(data: dict[str, Any], *, source: str, text: str | None = None) -> Profile:
    """Check parsed TOML and build the Profile; `text`, the TOML itself, lets errors give lines."""
    check = _Check(source, text)
    values: dict[str, Any] = {"source": source}
    for key, value in data.items():
        if key not in _KNOWN:
            check.fail(_unknown(key, _KNOWN), key)
        elif key in _FLOATS:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key == "ra_max_interval":  # RFC 4861 6.2.1 as updated by RFC 8319
                low, high = RA_MAX_INTERVAL
                bounded = number and low <= value <= high  # NaN is no number between them
                check.expect(
                    bounded, value, "4 to 65535 seconds (RFC 8319: MaxRtrAdvInterval)", key
                )
            else:  # compared as they are: float() of a huge integer raises
                bounded = number and 0 < value <= MAX_SECONDS
                what = f"a positive number of seconds, at most {MAX_SECONDS}"
                check.expect(bounded, value, what, key)
            values[key] = float(value)
        elif key in _BOOLS:
            check.expect(isinstance(value, bool), value, "true or false", key)
            values[key] = value
        elif key in _STRS:
            values[key] = check.string(value, _STRS[key], key)
        elif key == "ipv6_mode":
            values[key] = check.modes(value)
        elif key == "family":
            values[key] = check.family(value)
        elif key == "names":
            check.expect(isinstance(value, list), value, "a list of tables ([[names]])", key)
            values[key] = tuple(check.name(v, i) for i, v in enumerate(value))
        elif key == "endpoints":
            check.expect(isinstance(value, list), value, "a list of tables ([[endpoints]])", key)
            values[key] = tuple(check.endpoint(v, i) for i, v in enumerate(value))
        else:
            values[key] = check.strings(value, _STRINGS[key], key)
    return Profile(**values)


class _Check:
    """Checks whose errors name the file, the line (when the text is at hand) and the key."""

    def __init__(self, source: str, text: str | None) -> None:
        self.source, self.text = source, text

    def fail(self, what: str, key: str, *path: str | int) -> NoReturn:
        """Raise for `key` and the path below it: ("names", 1, "a", 0) is names[1].a[0]."""
        label = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        # only names and endpoints hold tables, worth finding the element of; anchors[2] is on
        # anchors' line
        tables = key in ("names", "endpoints")
        index = path[0] if tables and path and isinstance(path[0], int) else None
        sub = path[1] if index is not None and len(path) > 1 else None
        line = (
            _find_line(self.text, key, index, None if sub is None else str(sub))
            if self.text
            else None
        )
        where = self.source if line is None else f"{self.source}:{line}"
        raise ProfileError(_one_line(f"{where}: {label}: {what}"))

    def expect(self, ok: bool, value: Any, expected: str, key: str, *path: str | int) -> None:
        if not ok:
            self.fail(f"must be {expected}, not {_show(value)}", key, *path)

    def string(self, value: Any, family: int | None, key: str, *path: str | int) -> str:
        """A string; with a family (0: any, 4, 6), an IP address of that family."""
        self.expect(isinstance(value, str), value, "a string", key, *path)
        if family is not None:
            try:
                ok = family in (0, ipaddress.ip_address(value).version)
            except ValueError:
                ok = False
            if not ok:
                kind = {0: "an IP", 4: "an IPv4", 6: "an IPv6"}[family]
                self.fail(f"not {kind} address: {_show(value)}", key, *path)
            # one spelling for every address ("2001:DB8:0::1" is 2001:db8::1), so that what the
            # profile names compares equal to what the wire and the kernel report
            return str(ipaddress.ip_address(value))
        return str(value)

    def strings(
        self, value: Any, family: int | None, key: str, *path: str | int
    ) -> tuple[str, ...]:
        self.expect(isinstance(value, list), value, "a list of strings", key, *path)
        return tuple(self.string(v, family, key, *path, i) for i, v in enumerate(value))

    def modes(self, value: Any) -> tuple[tuple[str, str], ...]:
        """`ipv6_mode = "routed"` (every network), or a table of network name to mode."""
        table = {"*": value} if isinstance(value, str) else value
        self.expect(
            isinstance(table, dict),
            value,
            'a mode ("routed", "nat", "any") or a table',
            "ipv6_mode",
        )
        for network, mode in table.items():
            path = () if isinstance(value, str) else (network,)
            if mode not in IPV6_MODES:
                self.fail(
                    f"must be one of {', '.join(map(repr, IPV6_MODES))}, not {_show(mode)}",
                    "ipv6_mode",
                    *path,
                )
        return tuple(sorted(table.items()))

    def family(self, value: Any) -> FamilyPolicy:
        self.expect(isinstance(value, dict), value, "a table ([family])", "family")
        for key in value:
            if key not in _FAMILY_KEYS:
                self.fail(_unknown(key, _FAMILY_KEYS), "family", key)
        names = value.get("names")
        if names is not None:
            names = self.strings(names, None, "family", "names")
            for i, n in enumerate(names):
                ok = bool(n) and n.isprintable() and " " not in n
                self.expect(ok, n, "a DNS name", "family", "names", i)
        prefer = value.get("prefer", "ipv6")
        if prefer not in FAMILY_PREFER:
            self.fail(
                f"must be one of {', '.join(map(repr, FAMILY_PREFER))}, not {_show(prefer)}",
                "family",
                "prefer",
            )
        images = self.strings(value.get("images", []), None, "family", "images")
        for i, image in enumerate(images):
            ok = bool(image) and image.isprintable() and " " not in image
            self.expect(ok, image, "an image reference", "family", "images", i)
        return FamilyPolicy(names, prefer, images)

    def name(self, value: Any, i: int) -> ExpectedName:
        self.expect(isinstance(value, dict), value, "a table", "names", i)
        for key in value:
            if key not in _NAME_KEYS:
                self.fail(_unknown(key, _NAME_KEYS), "names", i, key)
        if "name" not in value:
            self.fail("missing key name (a string: the name to look up)", "names", i)
        name = self.string(value["name"], None, "names", i, "name")
        aaaa = self.strings(value.get("aaaa", []), 6, "names", i, "aaaa")
        a = self.strings(value.get("a", []), 4, "names", i, "a")
        dual = value.get("dual_stack", bool(a))
        self.expect(isinstance(dual, bool), dual, "true or false", "names", i, "dual_stack")
        return ExpectedName(name, aaaa, a, dual)

    def endpoint(self, value: Any, i: int) -> Endpoint:
        where = ("endpoints", i)
        self.expect(isinstance(value, dict), value, "a table", *where)
        for key in value:
            if key not in _ENDPOINT_KEYS:
                self.fail(_unknown(key, _ENDPOINT_KEYS), *where, key)
        if "name" not in value:
            self.fail("missing key name (a string: the service's DNS name)", *where)
        name = self.string(value["name"], None, *where, "name")
        scheme = value.get("scheme", "http")
        if not isinstance(scheme, str) or scheme not in SCHEMES:
            self.fail(
                f"must be one of {', '.join(map(repr, SCHEMES))}, not {_show(scheme)}",
                *where,
                "scheme",
            )
        port = value.get("port", SCHEMES[scheme])
        if port is None:
            self.fail("missing key port (scheme tcp has no default port)", *where)
        valid = isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536
        self.expect(valid, port, "a port number, 1 to 65535", *where, "port")
        path = self.string(value.get("path", "/"), None, *where, "path")
        plain = path.startswith("/") and path.isprintable() and " " not in path
        self.expect(plain, path, 'a path starting with "/", no spaces or controls', *where, "path")
        self.expect(
            name.isprintable() and " " not in name and bool(name), name, "a DNS name", *where,
            "name",
        )  # fmt: skip
        return Endpoint(name, port, scheme, path)


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown key ({hint}known keys: {', '.join(known)})"


def _show(value: Any) -> str:
    """The value much as TOML writes it, cut to about 40 characters."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # inf, -inf, nan: as TOML writes them (JSON has no such numbers)
    try:
        shown = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # an integer of over 4300 digits; nesting
        if isinstance(value, int):
            return f"an integer of some {int(value.bit_length() * 0.30103)} digits"
        return f"a {type(value).__name__} too large to show"
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _one_line(message: str) -> str:
    return " ".join(message.splitlines())


# Where is a key? tomllib keeps no positions, so when (and only when) there is an error to report,
# the raw text is walked once more: strings and comments stepped over, brackets counted.

_KEY_PART = re.compile(r"""[ \t]*("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[A-Za-z0-9_-]+)[ \t]*""")


def _scan(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """Yield (line, kind, key parts): kind "=" for a key starting a statement (`a.b = 1`: a, b),
    "[" or "[[" for a table header, "item" for each element of a top-level array (no parts)."""
    line, i = 1, 0
    stack: list[str] = []  # the [ and { open in the value being read
    start, item = True, False  # a statement comes next / an array element comes next
    while i < len(text):
        c = text[i]
        if c == "\n":
            line, start = line + 1, not stack  # inside an array, a new line is no new statement
        elif c == "#":
            i = _find(text, "\n", i)  # the comment ends at the newline, counted above
            continue
        elif c in " \t\r":
            pass
        elif start:  # a table header or a key
            start, header = False, c == "["
            double = text.startswith("[[", i)
            parts, i = _key_parts(text, i + header + double)
            if parts:
                yield line, ("[[" if double else "[") if header else "=", parts
            if header:  # nothing but "]" and a comment is left on the line
                i = _find(text, "\n", i)
            continue
        else:
            if item and c != "]":
                yield line, "item", []
            item = False
            if c in "\"'":
                end = _string_end(text, i)
                line, i = line + text.count("\n", i, end), end
                continue
            if c in "[{":
                stack.append(c)
            elif c in "]}" and stack:
                stack.pop()
            item = stack == ["["] and c in "[,"
        i += 1


def _key_parts(text: str, i: int) -> tuple[list[str], int]:
    """The dotted key at text[i:], each part unquoted (escapes kept), and where it ends."""
    parts: list[str] = []
    while m := _KEY_PART.match(text, i):
        parts.append(m[1][1:-1] if m[1][0] in "\"'" else m[1])
        i = m.end()
        if not text.startswith(".", i):
            break
        i += 1
    return parts, i


def _string_end(text: str, i: int) -> int:
    """Where the string opening at text[i] ends: one- or multi-line, basic or literal."""
    quote = text[i]
    if text.startswith(quote * 3, i):  # multi-line; up to two more quotes may close it: """a"""""
        end = _find(text, quote * 3, i + 3) + 3
        more = text[end : end + 2]
        return end + len(more) - len(more.lstrip(quote))
    j = i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j + (text[j : j + 1] == quote)


def _find(text: str, what: str, i: int) -> int:
    j = text.find(what, i)
    return len(text) if j < 0 else j


def _find_line(text: str, key: str, index: int | None, sub: str | None) -> int | None:
    """The line of top-level `key` (`key = ...` or the first `[key...]` header); with an index,
    of its index-th element (a [[key]] header or an array element); with `sub`, of `sub` in
    that [[key]] block. None when not found: the line helps, it is never a must."""
    try:
        found = element = owner = None
        top_level, in_block, blocks, items = True, False, 0, 0
        for line, kind, parts in _scan(text):
            if kind == "item":  # an inline table holds all its keys on its one line
                if owner == key and items == index:
                    return line
                items += owner == key
            elif kind == "=":
                if in_block and sub is not None and parts[0] == sub:
                    return line
                owner = parts[0] if top_level else None
                found = line if found is None and owner == key else found
            else:  # a table header: what follows is no longer top-level
                top_level, in_block, owner = False, kind == "[[" and parts == [key], None
                found = line if found is None and parts[0] == key else found
                if in_block:
                    in_block, blocks = blocks == index, blocks + 1
                    element = line if in_block else element
        return element if element is not None else found
    except Exception:  # a locator that fails must not hide the error it was asked to place
        return None
