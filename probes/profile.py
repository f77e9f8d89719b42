"""Target profiles: what a host is expected to provide, read from TOML (standard library)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from probes.errors import ProfileError


@dataclass(frozen=True, slots=True)
class ExpectedName:
    name: str
    aaaa: tuple[str, ...] = ()  # expected addresses; empty: any AAAA will do
    a: tuple[str, ...] = ()
    dual_stack: bool = False


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
    # RA-05: the M and O flags the routers must send (DHCPv6 for addresses / for other config)
    ra_managed: bool | None = None
    ra_other: bool | None = None
    # RA-02: the routers' MaxRtrAdvInterval (s), to judge RDNSS lifetimes; unset: from the RA's
    # Advertisement Interval option where it has one
    ra_max_interval: float | None = None
    # timings (seconds)
    timeout: float = 1.0  # per probe operation
    dad_timeout: float = 3.0  # how long a fresh address may stay tentative
    resolve_threshold: float = 1.0  # DNS-03, RC-02: a lookup through a container's resolver
    build_timeout: float = 60.0  # RC-02: one throwaway build, start to end
    source: str = "built-in defaults"


_TUPLE_OF_STR = {"anchors", "nameservers", "rdnss", "dnssl"}
_FLOATS = {"timeout", "dad_timeout", "resolve_threshold", "build_timeout"}
_OPTIONAL_BOOL = {"dns64", "ra_managed", "ra_other"}
_OPTIONAL_FLOAT = {"ra_max_interval"}
_OPTIONAL_STR = {"link_local_gateway", "default_gateway_v6", "far_end_namespace"}


def load_profile(path: str | Path) -> Profile:
    """Read a profile; unknown keys and wrong types are errors naming the file and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return profile_from_dict(data, source=str(path))


def profile_from_dict(data: dict[str, Any], *, source: str) -> Profile:
    known = {f.name for f in fields(Profile)} - {"source"}
    values: dict[str, Any] = {"source": source}
    for key, value in data.items():
        if key not in known:
            raise ProfileError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        if key in _TUPLE_OF_STR:
            values[key] = _strings(source, key, value)
        elif key in _FLOATS or key in _OPTIONAL_FLOAT:
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ProfileError(f"{source}: {key} must be a positive number of seconds")
            values[key] = float(value)
        elif key in _OPTIONAL_BOOL:
            if not isinstance(value, bool):
                raise ProfileError(f"{source}: {key} must be true or false")
            values[key] = value
        elif key in _OPTIONAL_STR:
            if not isinstance(value, str):
                raise ProfileError(f"{source}: {key} must be a string")
            values[key] = value
        elif key == "names":
            values[key] = tuple(
                _name(source, i, v) for i, v in enumerate(_list(source, key, value))
            )
    return Profile(**values)


def _list(source: str, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ProfileError(f"{source}: {key} must be a list")
    return value


def _strings(source: str, key: str, value: Any) -> tuple[str, ...]:
    items = _list(source, key, value)
    if not all(isinstance(v, str) for v in items):
        raise ProfileError(f"{source}: {key} must be a list of strings")
    return tuple(items)


def _name(source: str, index: int, value: Any) -> ExpectedName:
    where = f"names[{index}]"
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ProfileError(f"{source}: {where} must be a table with a string 'name'")
    unknown = set(value) - {"name", "aaaa", "a", "dual_stack"}
    if unknown:
        raise ProfileError(f"{source}: {where}: unknown key {sorted(unknown)[0]!r}")
    dual = value.get("dual_stack", bool(value.get("a")))
    if not isinstance(dual, bool):
        raise ProfileError(f"{source}: {where}.dual_stack must be true or false")
    return ExpectedName(
        value["name"],
        _strings(source, f"{where}.aaaa", value.get("aaaa", [])),
        _strings(source, f"{where}.a", value.get("a", [])),
        dual,
    )
