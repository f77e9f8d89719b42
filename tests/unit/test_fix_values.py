"""The fixes of faults beyond the host name the values the other party needs (``Fix.values``,
results.json's ``fix_values``), each from the evidence or the profile and named in the text
too: never a placeholder."""

from __future__ import annotations

import dataclasses

import pytest

from probes.profile import Profile
from rules.dns import dns64_off_fix, listen_fix
from rules.judgement import Fix, Judgement, joined_fix
from rules.nat64 import nat64_fix
from rules.pmtu import UPSTREAM_FIX, upstream_fix
from rules.ra_fix import dnssl_fix, rdnss_fix

NS6 = "2001:db8:53::53"
GATEWAY = "fe80::1"


def test_a_value_must_be_known_and_named_in_the_text() -> None:
    with pytest.raises(ValueError, match="not one of"):
        Fix("listen on ::1", where="DNS server", values=(("port", "::1"),))
    with pytest.raises(ValueError, match="not named in its text"):
        Fix("make it listen on its IPv6 address", where="DNS server", values=(("listen", NS6),))


def test_the_dns_server_is_told_the_address_to_listen_on() -> None:
    fix = listen_fix(NS6, "/etc/resolv.conf line 1")
    assert fix.where == "DNS server"
    assert fix.values == (("listen", NS6),)
    assert f"interface: {NS6}" in fix.text
    assert fix.commands == ()  # its software is not known from here


def test_the_router_is_told_the_profile_s_rdnss_and_the_lifetime() -> None:
    profile = Profile(rdnss=(NS6,), dnssl=("lab.example",))
    fix = rdnss_fix(profile, 1800)
    assert fix.where == "router"
    assert fix.value_map() == {"rdnss": [NS6], "lifetime": ["1800"]}
    assert f"RDNSS {NS6} {{ AdvRDNSSLifetime 1800; }};" in fix.text
    assert "<" not in fix.text
    dnssl = dnssl_fix(profile, set(), 1800)
    assert dnssl.value_map() == {"dnssl": ["lab.example"], "rdnss": [NS6], "lifetime": ["1800"]}
    assert "DNSSL lab.example { AdvDNSSLLifetime 1800; };" in dnssl.text


def test_without_the_profile_s_rdnss_the_router_is_told_no_made_up_address() -> None:
    fix = rdnss_fix(Profile(), None)
    assert fix.values == ()
    assert "the profile names none" in fix.text
    assert "<" not in fix.text


def test_dns64_off_names_the_resolver_and_its_prefix() -> None:
    fix = dns64_off_fix([NS6, NS6], ["2001:db8:64::/96"])
    assert fix.where == "DNS server"
    assert fix.value_map() == {"dns64-off": [NS6], "nat64-prefix": ["2001:db8:64::/96"]}
    assert fix.text.startswith(f"turn DNS64 off on {NS6}, which synthesizes")


def test_the_nat64_gateway_is_told_its_prefix() -> None:
    fix = nat64_fix("2001:db8:64::/96")
    assert fix.where == "NAT64 gateway"
    assert fix.values == (("nat64-prefix", "2001:db8:64::/96"),)


def test_the_upstream_router_is_named_by_the_host_s_default_route() -> None:
    fix = upstream_fix(GATEWAY, "2001:db8:f00d::1", 1500)
    assert fix.where == "upstream router"
    assert fix.values == (("send-packet-too-big", GATEWAY),)
    assert fix.text.startswith(f"have the upstream router {GATEWAY} (this host's default")
    # no default router known: the words alone, no value
    assert upstream_fix(None, "2001:db8:f00d::1", 1500) == Fix(
        UPSTREAM_FIX, where="upstream router"
    )


def failing(fix: Fix) -> Judgement:
    return Judgement("fail", "x", (), fix)


def test_a_cause_joins_the_values_of_every_network_s_fix_for_the_same_party() -> None:
    one, two = nat64_fix("2001:db8:64::/96"), nat64_fix("64:ff9b::/96")
    joined = joined_fix([failing(one), failing(two), failing(listen_fix(NS6, "x"))])
    assert joined is not None
    assert joined.value_map() == {"nat64-prefix": ["2001:db8:64::/96", "64:ff9b::/96"]}
    assert "64:ff9b::/96" in joined.text  # a value joins with the words that name it
    same = joined_fix([failing(one), failing(dataclasses.replace(one))])
    assert same == one
