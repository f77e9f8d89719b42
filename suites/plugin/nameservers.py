"""The host's nameservers as the DNS checks see them: its resolv.conf, read once, and the
profile's; and the warnings a resolv.conf carries into the reports."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from probes.profile import Profile
from probes.resolvconf import Problem, ResolvConf, parse_resolv_conf
from reports.plugin import WARNING
from suites.plugin.keys import HOST_RESOLV, TARGET


@dataclass(frozen=True, slots=True)
class NameserverItem:
    """A nameserver the host is configured with, or a resolv.conf line that fails to be one."""

    address: str | None  # None: the item stands for a broken line
    origin: str  # "/etc/resolv.conf line 2", "profile"
    line: int = 0
    problem: str | None = None

    @property
    def id(self) -> str:
        return self.address or f"resolv.conf-line-{self.line}"


def host_resolv(config: pytest.Config) -> ResolvConf:
    """The target host's resolv.conf, read once; an unreadable one parses as a problem."""
    if HOST_RESOLV not in config.stash:
        path = config.stash[TARGET].resolv_conf
        try:
            with open(path, "rb") as f:
                conf = parse_resolv_conf(f.read(2 * 1024 * 1024), source=path)
        except OSError as exc:
            unread = Problem(0, path, f"cannot read the file: {exc.strerror}")
            conf = parse_resolv_conf(b"", source=path)
            conf = dataclasses.replace(conf, problems=(unread, *conf.problems))
        config.stash[HOST_RESOLV] = conf
    return config.stash[HOST_RESOLV]


def warn_about(request: pytest.FixtureRequest, conf: ResolvConf) -> None:
    """Put a resolv.conf's warnings (what the C library ignores or copes with) on the item:
    JUnit carries them as properties, the HTML shows them; the verdict does not change."""
    for problem in conf.warnings:
        request.node.user_properties.append((WARNING, f"{conf.source} {problem}"))


def configured_nameservers(config: pytest.Config) -> list[NameserverItem]:
    """The host's resolv.conf nameservers (those resolvers use), then the profile's; once each,
    and an item for the file's first problem, if it has any."""
    conf = host_resolv(config)
    items = [
        NameserverItem(str(ns), f"{conf.source} line {ns.line}", ns.line)
        for ns in conf.used_nameservers
    ]
    items += [NameserverItem(a, "profile") for a in config.stash[TARGET].profile.nameservers]
    unique: list[NameserverItem] = []
    for item in items:  # the first mention wins: it says where the host got the server
        if all(u.id != item.id for u in unique):
            unique.append(item)
    breaking = conf.breaking  # what the C library ignores harmlessly is a warning, no item
    if conf.unread is not None:  # the parser failed: an item that says so (a harness error)
        unique.append(NameserverItem(None, conf.source, 0, conf.unread))
    elif breaking:
        first = breaking[0]
        more = f" (and {len(breaking) - 1} more problems)" if len(breaking) > 1 else ""
        unique.append(
            NameserverItem(
                None,
                conf.source,
                first.line,
                first.reason + (f": {first.text!r}" if first.line else "") + more,
            )
        )
    return unique


def liveness_question(profile: Profile) -> tuple[str, str]:
    """What DNS-01 and RA-03 ask a nameserver: the profile's first name (the site's own zone),
    else the root's NS."""
    names = profile.names
    return (names[0].name, "AAAA") if names else (".", "NS")
