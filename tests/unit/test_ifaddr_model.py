"""Addresses, routes and snapshots of a namespace: flags, rendering, and the netlink translation."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator

import pytest

from probes import ifaddr
from probes.ifaddr import IfAddr, Interface, Route6, Snapshot
from probes.netns import Netns

LL = "fe80::42:c6ff:fe33:6402"
GLOBAL = "2001:db8:1::242:c633:6402"
MAC = bytes.fromhex("0242c6336402")


@pytest.mark.parametrize(
    ("flags", "usable", "names"),
    [
        (0x00, True, ()),
        (0x40, False, ("tentative",)),
        (0x08, False, ("dadfailed",)),
        (0x48, False, ("dadfailed", "tentative")),
        (0x02, True, ("nodad",)),
        (0x80, True, ("permanent",)),
        (0x82, True, ("nodad", "permanent")),
        (0xC0, False, ("tentative", "permanent")),
        (0x20, True, ("deprecated",)),  # deprecated addresses still work for existing use
        (0x800, True, ("stable-privacy",)),
    ],
)
def test_usable_and_flag_names(flags, usable, names):
    addr = IfAddr("eth0", GLOBAL, 64, flags)
    assert addr.usable is usable
    assert addr.flag_names() == names


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (0x00, f"{LL}/64 on eth0"),
        (0x80, f"{LL}/64 on eth0 [permanent]"),
        (0x42, f"{LL}/64 on eth0 [nodad tentative]"),
        (0x08, f"{LL}/64 on eth0 [dadfailed]"),
    ],
)
def test_str(flags, text):
    assert str(IfAddr("eth0", LL, 64, flags)) == text


@pytest.mark.parametrize(
    ("address", "link_local"),
    [(LL, True), ("fe80::1", True), (GLOBAL, False), ("::1", False), ("fd00::1", False)],
)
def test_link_local(address, link_local):
    assert IfAddr("eth0", address, 64, 0).link_local is link_local


@pytest.mark.parametrize(
    ("route", "text"),
    [
        (
            Route6("default", "fe80::1", "uplink0", "ra", 1024),
            "default via fe80::1 dev uplink0 proto ra metric 1024",
        ),
        (
            Route6("2001:db8:1::/64", None, "docker0", "kernel", 256),
            "2001:db8:1::/64 dev docker0 proto kernel metric 256",
        ),
        (
            Route6("2001:db8:1::/48", "2001:db8:0:1::2", None, "static", None),
            "2001:db8:1::/48 via 2001:db8:0:1::2 proto static",
        ),
        (Route6("default", None, "eth0", "boot", 0), "default dev eth0 proto boot metric 0"),
    ],
)
def test_route_str(route, text):
    assert str(route) == text


def _snapshot() -> Snapshot:
    return Snapshot(
        "host",
        (Interface("lo", 1, bytes(6), True), Interface("eth0", 7, MAC, True)),
        (
            IfAddr("lo", "::1", 128, 0x80),
            IfAddr("eth0", LL, 64, 0x80),
            IfAddr("eth0", GLOBAL, 64, 0x40),
            IfAddr("docker0", "fe80::1", 64, 0x80),
        ),
        (
            Route6("2001:db8:1::/64", None, "eth0", "kernel", 256),
            Route6("default", "fe80::1", "eth0", "ra", 1024),
            Route6("default", "fe80::2", "eth0", "ra", 1024),
        ),
    )


def test_snapshot_on():
    snap = _snapshot()
    assert [a.address for a in snap.on("eth0")] == [LL, GLOBAL]
    assert snap.on("docker0") == (IfAddr("docker0", "fe80::1", 64, 0x80),)
    assert snap.on("nope0") == ()


def test_snapshot_default_routes():
    assert [r.gateway for r in _snapshot().default_routes()] == ["fe80::1", "fe80::2"]
    only_prefix = Snapshot("x", (), (), (Route6("2001:db8::/64", None, "eth0", "kernel", None),))
    assert only_prefix.default_routes() == ()


def test_snapshot_interface():
    snap = _snapshot()
    assert snap.interface("eth0") == Interface("eth0", 7, MAC, True)
    assert snap.interface("nope0") is None


# --- the netlink translation, against a stand-in for pyroute2's IPRoute --------------------


class _Msg(dict):
    def __init__(self, fields, attrs):
        super().__init__(fields)
        self.attrs = attrs

    def get_attr(self, name):
        return self.attrs.get(name)


class _FakeIPRoute:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get_links(self):
        return [
            _Msg(
                {"index": 1, "flags": 0x9},
                {"IFLA_IFNAME": "lo", "IFLA_ADDRESS": "00:00:00:00:00:00"},
            ),
            _Msg(
                {"index": 7, "flags": 0x1002},
                {"IFLA_IFNAME": "eth0", "IFLA_ADDRESS": "02:42:c6:33:64:02"},
            ),
            _Msg({"index": 9, "flags": 0x1}, {"IFLA_IFNAME": "tun0"}),
        ]

    def get_addr(self, family):
        return [
            _Msg(
                {"index": 7, "prefixlen": 64, "flags": 0x00}, {"IFA_ADDRESS": LL, "IFA_FLAGS": 0x80}
            ),
            _Msg({"index": 7, "prefixlen": 64, "flags": 0x40}, {"IFA_ADDRESS": GLOBAL}),
            _Msg({"index": 42, "prefixlen": 128, "flags": 0}, {"IFA_ADDRESS": "2001:db8::9"}),
        ]

    def get_routes(self, family, table):
        return [
            _Msg(
                {"type": 1, "dst_len": 0, "proto": 9},
                {"RTA_GATEWAY": "fe80::1", "RTA_OIF": 7, "RTA_PRIORITY": 1024},
            ),
            _Msg(
                {"type": 1, "dst_len": 64, "proto": 2},
                {"RTA_DST": "2001:db8:1::", "RTA_OIF": 7, "RTA_PRIORITY": 256},
            ),
            _Msg({"type": 2, "dst_len": 128, "proto": 2}, {"RTA_DST": GLOBAL, "RTA_OIF": 7}),
            _Msg({"type": 1, "dst_len": 48, "proto": 42}, {"RTA_DST": "2001:db8:2::"}),
        ]


def test_read_translates_netlink(monkeypatch):
    monkeypatch.setattr(ifaddr, "IPRoute", _FakeIPRoute)
    snap = ifaddr._read("ns-under-test")
    assert snap.netns == "ns-under-test"
    assert snap.interfaces == (
        Interface("lo", 1, bytes(6), True),
        Interface("eth0", 7, MAC, False),
        Interface("tun0", 9, None, True),
    )
    assert snap.addresses == (
        IfAddr("eth0", LL, 64, 0x80),  # IFA_FLAGS wins over the 8-bit header field
        IfAddr("eth0", GLOBAL, 64, 0x40),
        IfAddr("if42", "2001:db8::9", 128, 0),
    )
    assert snap.routes == (  # the local (type 2) route is left out
        Route6("default", "fe80::1", "eth0", "ra", 1024),
        Route6("2001:db8:1::/64", None, "eth0", "kernel", 256),
        Route6("2001:db8:2::/48", None, None, "42", None),
    )


async def test_settled_waits_for_dad(monkeypatch):
    tentative = Snapshot("c", (), (IfAddr("eth0", LL, 64, 0x40),), ())
    done = Snapshot("c", (), (IfAddr("eth0", LL, 64, 0x80),), ())
    sequence = iter([tentative, Snapshot("c", (), (), ()), done, tentative])

    async def fake_snapshot(netns):
        return next(sequence)

    monkeypatch.setattr(ifaddr, "snapshot", fake_snapshot)
    assert await ifaddr.settled("c", "eth0", timeout=5.0) is done


async def test_settled_returns_last_snapshot_at_deadline(monkeypatch):
    tentative = Snapshot("c", (), (IfAddr("eth0", LL, 64, 0x40),), ())
    calls = []

    async def fake_snapshot(netns):
        calls.append(netns)
        return tentative

    monkeypatch.setattr(ifaddr, "snapshot", fake_snapshot)
    assert await ifaddr.settled("c", "eth0", timeout=0.12) is tentative
    assert 2 <= len(calls) <= 10


# --- DAD run again on a probe container's link-local address, in real namespaces ---------


@pytest.fixture
def veth_pair() -> Iterator[tuple[str, str]]:
    """Two throwaway namespaces joined by a veth pair (vA, vB), both ends up; gone afterwards.
    Linked to nothing else."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    a, b = f"dadtest-a-{os.getpid()}", f"dadtest-b-{os.getpid()}"
    for ns in (a, b):
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "link", "add", "vA", "netns", a, "type", "veth", "peer", "vB", "netns", b],
            check=True,
        )
        subprocess.run(["ip", "-n", b, "link", "set", "vB", "up"], check=True)
        subprocess.run(["ip", "-n", a, "link", "set", "vA", "up"], check=True)
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], check=False)


def _sysctls(ns: str) -> list[str]:
    keys = ["net.ipv6.conf.vA.router_solicitation_delay", "net.ipv6.neigh.vA.retrans_time_ms"]
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "sysctl", "-n", *keys], capture_output=True, text=True
    )
    return out.stdout.split()


async def test_dad_run_again_makes_the_link_local_usable_and_restores_the_sysctls(
    veth_pair: tuple[str, str],
) -> None:
    a, _ = veth_pair
    before = await asyncio.to_thread(_sysctls, a)
    snap = await ifaddr.settled_soon(Netns.named(a), "vA", timeout=3.0)
    link_locals = [x for x in snap.on("vA") if x.link_local]
    assert len(link_locals) == 1, snap.on("vA")
    assert link_locals[0].usable, snap.on("vA")
    assert await asyncio.to_thread(_sysctls, a) == before == ["1", "1000"]


def _claim(a: str, b: str, address: str) -> None:
    """The other end claims ``address`` (without DAD of its own), and ``a`` starts DAD on it."""
    ip = ["ip", "-n"]
    subprocess.run([*ip, b, "addr", "add", f"{address}/64", "dev", "vB", "nodad"], check=True)
    subprocess.run([*ip, a, "addr", "del", f"{address}/64", "dev", "vA"], check=True)
    subprocess.run([*ip, a, "addr", "add", f"{address}/64", "dev", "vA"], check=True)


async def test_dad_run_again_still_finds_a_duplicate(veth_pair: tuple[str, str]) -> None:
    a, b = veth_pair
    for _ in range(100):  # the kernel adds it when the link comes up
        first = await ifaddr.snapshot(Netns.named(a))
        ll = next((x for x in first.on("vA") if x.link_local), None)
        if ll is not None:
            break
        await asyncio.sleep(0.02)
    assert ll is not None, first
    await asyncio.to_thread(_claim, a, b, ll.address)
    snap = await ifaddr.settled_soon(Netns.named(a), "vA", timeout=3.0)
    again = next(x for x in snap.on("vA") if x.address == ll.address)
    assert "dadfailed" in again.flag_names(), again
    assert not again.usable


@pytest.mark.parametrize(
    ("flags", "past"),
    [
        ((0x80, 0x80), True),  # both permanent, past DAD
        ((0x80, 0x40), False),  # one still tentative
        ((0x80, 0x40 | 0x08), True),  # dadfailed stays flagged tentative: final all the same
    ],
)
def test_past_dad(flags: tuple[int, int], past: bool) -> None:
    snap = Snapshot(
        "c",
        (Interface("eth0", 7, MAC, True),),
        (IfAddr("eth0", LL, 64, flags[0]), IfAddr("eth0", GLOBAL, 64, flags[1])),
        (),
    )
    assert ifaddr.past_dad(snap, "eth0") is past
    assert ifaddr.past_dad(snap, "eth1") is False  # no address there: not settled
