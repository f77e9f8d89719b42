"""The lab's guesses at container addresses, which its static ND proxy entries are built from."""

from __future__ import annotations

import ipaddress

import pytest

from lab import topology
from lab.topology import likely_container_addresses


def test_onlink_bridge_addresses():
    assert likely_container_addresses("2001:db8:0:1:d0c::/80", "198.51.100.0/25", 2) == [
        "2001:db8:0:1:d0c:242:c633:6402",
        "2001:db8:0:1:d0c:242:c633:6403",
        "2001:db8:0:1:d0c::2",
        "2001:db8:0:1:d0c::3",
    ]


def test_user_network_addresses_skip_the_gateway():
    """Docker gives the first host address to the gateway: containers start at the second."""
    assert likely_container_addresses(topology.ONLINK_NET6, topology.NET4, 1) == [
        "2001:db8:0:1:d0d:242:c633:6482",
        "2001:db8:0:1:d0d::2",
    ]


def test_derived_address_is_docker_mac_in_low_bits():
    # Docker's default bridge: MAC 02:42 + IPv4 address, placed in the low 48 bits of the prefix
    derived = likely_container_addresses("2001:db8:1::/64", "198.51.100.0/25", 1)[0]
    assert ipaddress.IPv6Address(derived).packed[-6:] == bytes.fromhex("0242c6336402")
    assert ipaddress.IPv6Address(derived) in ipaddress.IPv6Network("2001:db8:1::/64")


@pytest.mark.parametrize("count", [0, 1, 5, topology.PROXY_ENTRIES_PER_NETWORK // 2])
def test_count_and_containment(count):
    addresses = likely_container_addresses(topology.ONLINK_BRIDGE6, topology.BRIDGE4, count)
    assert len(addresses) == 2 * count
    assert len(set(addresses)) == 2 * count
    net = ipaddress.IPv6Network(topology.ONLINK_BRIDGE6)
    assert all(ipaddress.IPv6Address(a) in net for a in addresses)


def test_lab_prefixes_fit_inside_the_uplink():
    uplink = ipaddress.IPv6Network(topology.UPLINK_PREFIX)
    for prefix in (topology.ONLINK_BRIDGE6, topology.ONLINK_NET6):
        assert ipaddress.IPv6Network(prefix).subnet_of(uplink)
        # the MAC-derived addresses need 48 host bits
        assert ipaddress.IPv6Network(prefix).prefixlen <= 80
