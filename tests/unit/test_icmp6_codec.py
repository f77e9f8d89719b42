"""Our ICMPv6 codec held to scapy: crafted packets decode right, our encodings parse back."""

from __future__ import annotations

import random
import socket
import warnings

import pytest

from probes.errors import MalformedPacket
from probes.icmp6 import (
    ECHO_REPLY,
    ECHO_REQUEST,
    Echo,
    Icmp6Error,
    NeighborAdvert,
    NeighborSolicit,
    Other,
    decode,
    encode_echo_request,
    encode_neighbor_solicit,
    mac_str,
    solicited_node,
)


def _scapy():
    # scapy may warn at import on some hosts (no routes, optional crypto); filterwarnings=error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scapy.layers import inet6
    return inet6


s6 = _scapy()

SRC = "fe80::42:c6ff:fe33:6402"
DST = "fe80::1"
MAC = "02:42:c6:33:64:02"


def icmp(layer, src: str = SRC, dst: str = DST) -> bytes:
    """As a raw ICMPv6 socket returns it: checksummed over an IPv6 header, then without it."""
    return bytes(s6.IPv6(src=src, dst=dst, hlim=255) / layer)[40:]


def neighbor_advert() -> bytes:
    return icmp(s6.ICMPv6ND_NA(tgt=SRC, R=1, S=1, O=1) / s6.ICMPv6NDOptDstLLAddr(lladdr=MAC))


def echo_reply() -> bytes:
    return icmp(s6.ICMPv6EchoReply(id=0x1234, seq=7, data=b"v6conform"))


def dest_unreach() -> bytes:
    invoking = s6.IPv6(src="2001:db8:0:1::2", dst="2001:db8:f00d::1") / s6.ICMPv6EchoRequest(
        id=0xBEEF, seq=3
    )
    return icmp(s6.ICMPv6DestUnreach(code=3) / invoking, src="2001:db8:0:1::1", dst="2001:db8::2")


# --- decode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (s6.ICMPv6EchoReply(id=0x1234, seq=7), Echo(ECHO_REPLY, 0x1234, 7)),
        (s6.ICMPv6EchoRequest(id=0, seq=0, data=b""), Echo(ECHO_REQUEST, 0, 0)),
        (
            s6.ICMPv6EchoReply(id=0xFFFF, seq=0xFFFF, data=b"x" * 100),
            Echo(ECHO_REPLY, 0xFFFF, 0xFFFF),
        ),
    ],
)
def test_decode_echo(layer, expected):
    assert decode(icmp(layer)) == expected


@pytest.mark.parametrize(("r", "s", "o"), [(1, 1, 1), (0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)])
def test_decode_neighbor_advert_flags(r, s, o):
    data = icmp(s6.ICMPv6ND_NA(tgt=SRC, R=r, S=s, O=o) / s6.ICMPv6NDOptDstLLAddr(lladdr=MAC))
    assert decode(data) == NeighborAdvert(SRC, bool(r), bool(s), bool(o), MAC)


def test_decode_neighbor_advert_without_option():
    assert decode(icmp(s6.ICMPv6ND_NA(tgt="2001:db8::5", R=0, S=1, O=0))) == NeighborAdvert(
        "2001:db8::5", False, True, False, None
    )


def test_decode_neighbor_advert_skips_other_options():
    """The target link-layer address may follow options we do not read (here MTU)."""
    data = icmp(
        s6.ICMPv6ND_NA(tgt=SRC, R=0, S=1, O=1)
        / s6.ICMPv6NDOptMTU(mtu=1500)
        / s6.ICMPv6NDOptDstLLAddr(lladdr=MAC)
    )
    assert decode(data) == NeighborAdvert(SRC, False, True, True, MAC)


def test_decode_neighbor_advert_ignores_source_lladdr_option():
    data = icmp(s6.ICMPv6ND_NA(tgt=SRC, R=0, S=1, O=1) / s6.ICMPv6NDOptSrcLLAddr(lladdr=MAC))
    assert decode(data).target_lladdr is None


def test_decode_neighbor_solicit():
    data = icmp(
        s6.ICMPv6ND_NS(tgt="2001:db8:0:1::2") / s6.ICMPv6NDOptSrcLLAddr(lladdr=MAC),
        dst=solicited_node("2001:db8:0:1::2"),
    )
    assert decode(data) == NeighborSolicit("2001:db8:0:1::2", MAC)


def test_decode_neighbor_solicit_for_dad_has_no_lladdr():
    data = icmp(s6.ICMPv6ND_NS(tgt=SRC), src="::", dst=solicited_node(SRC))
    assert decode(data) == NeighborSolicit(SRC, None)


def test_decode_destination_unreachable_reports_invoking_echo():
    expected = Icmp6Error(1, 3, "2001:db8:f00d::1", Echo(ECHO_REQUEST, 0xBEEF, 3))
    assert decode(dest_unreach()) == expected


@pytest.mark.parametrize(
    ("layer", "kind", "code", "mtu"),
    [
        (s6.ICMPv6PacketTooBig(mtu=1280), 2, 0, 1280),
        (s6.ICMPv6PacketTooBig(mtu=1400), 2, 0, 1400),
        (s6.ICMPv6TimeExceeded(code=0), 3, 0, None),
        (s6.ICMPv6ParamProblem(code=1, ptr=40), 4, 1, None),
        (s6.ICMPv6DestUnreach(code=1), 1, 1, None),
    ],
)
def test_decode_errors_of_every_type(layer, kind, code, mtu):
    invoking = s6.IPv6(src="2001:db8::2", dst="2001:db8:f00d::2") / s6.ICMPv6EchoRequest(
        id=9, seq=4
    )
    assert decode(icmp(layer / invoking)) == Icmp6Error(
        kind, code, "2001:db8:f00d::2", Echo(ECHO_REQUEST, 9, 4), mtu
    )


def test_packet_too_big_cut_before_its_mtu_is_malformed():
    with pytest.raises(MalformedPacket):
        decode(bytes([2, 0, 0, 0, 0, 0]))


def test_decode_error_invoked_by_udp_has_no_echo():
    invoking = s6.IPv6(src="2001:db8::2", dst="2001:db8:53::53") / s6.UDP(sport=5353, dport=53)
    assert decode(icmp(s6.ICMPv6DestUnreach(code=4) / invoking)) == Icmp6Error(
        1, 4, "2001:db8:53::53", None
    )


def test_decode_error_invoked_by_echo_reply_has_no_echo():
    invoking = s6.IPv6(src="2001:db8::2", dst="2001:db8::9") / s6.ICMPv6EchoReply(id=9, seq=4)
    assert decode(icmp(s6.ICMPv6DestUnreach(code=3) / invoking)).invoking_echo is None


@pytest.mark.parametrize(
    ("keep", "dst"),
    [(0, None), (39, None), (40, "2001:db8:f00d::1"), (47, "2001:db8:f00d::1")],
)
def test_decode_error_with_truncated_invoking_packet(keep, dst):
    """Routers may quote little of the invoking packet: what is there is used, nothing more."""
    data = dest_unreach()[: 8 + keep]
    assert decode(data) == Icmp6Error(1, 3, dst, None)


def test_decode_error_invoking_packet_not_ipv6():
    data = bytearray(dest_unreach())
    data[8] = 0x45  # an IPv4 header where the IPv6 one should be
    assert decode(bytes(data)) == Icmp6Error(1, 3, None, None)


@pytest.mark.parametrize(
    ("layer", "kind"),
    [
        (s6.ICMPv6ND_RS(), 133),
        (s6.ICMPv6ND_RA(), 134),
        (s6.ICMPv6ND_Redirect(tgt="fe80::1", dst="2001:db8::1"), 137),
        (s6.ICMPv6MLReport(), 131),
    ],
)
def test_decode_other_informational_messages(layer, kind):
    assert decode(icmp(layer)) == Other(kind, 0)


# --- malformed input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter than its header"),
        (b"\x81\x00\x00", "shorter than its header"),
        (echo_reply()[:7], "echo message truncated"),
        (echo_reply()[:4], "echo message truncated"),
        (neighbor_advert()[:23], "neighbor discovery message truncated"),
        (neighbor_advert()[:8], "neighbor discovery message truncated"),
        (neighbor_advert()[:25], "option header truncated"),
        (neighbor_advert()[:31], "runs past the packet end"),
        (neighbor_advert()[:24] + b"\x02\x00" + bytes(6), "length 0"),
        (neighbor_advert()[:24] + b"\x02\x02" + bytes(6), "runs past the packet end"),
        (icmp(s6.ICMPv6ND_NS(tgt=SRC)) + b"\x01\x00" + bytes(6), "length 0"),
        (icmp(s6.ICMPv6ND_NS(tgt=SRC)) + b"\x01\x01" + bytes(5), "runs past the packet end"),
    ],
    ids=[
        "empty",
        "3-bytes",
        "echo-7",
        "echo-4",
        "na-23",
        "na-8",
        "na-option-header",
        "na-option-cut",
        "na-option-len0",
        "na-option-overrun",
        "ns-option-len0",
        "ns-option-overrun",
    ],
)
def test_decode_malformed(data, reason):
    with pytest.raises(MalformedPacket, match=reason) as info:
        decode(data)
    assert info.value.reason
    assert isinstance(info.value.data, bytes)


@pytest.mark.parametrize(
    "trailer",
    [b"\x05\x00" + bytes(6), b"\x05\x02" + bytes(6), b"\x05"],
    ids=["len0", "overrun", "cut"],
)
def test_decode_rejects_invalid_option_after_the_lladdr_option(trailer):
    with pytest.raises(MalformedPacket):
        decode(neighbor_advert() + trailer)


def test_decode_rejects_invalid_option_before_the_lladdr_option():
    """The same bad option placed before the wanted one is rejected today."""
    options = neighbor_advert()[24:]
    with pytest.raises(MalformedPacket, match="length 0"):
        decode(neighbor_advert()[:24] + b"\x05\x00" + bytes(6) + options)


def test_decode_option_length_zero_does_not_loop():
    """A zero-length option must be rejected, not spun on (RFC 4861 4.6)."""
    data = neighbor_advert()[:24] + b"\x0e\x00" + bytes(30)
    with pytest.raises(MalformedPacket):
        decode(data)


def _decodes_or_malformed(data: bytes) -> None:
    try:
        message = decode(data)
    except MalformedPacket:
        return
    assert isinstance(message, Echo | NeighborAdvert | NeighborSolicit | Icmp6Error | Other)


def test_fuzz_random_bytes():
    rng = random.Random(0x6C0F)
    interesting = (1, 2, 3, 4, 128, 129, 133, 134, 135, 136)
    for i in range(2000):
        data = bytearray(rng.randbytes(rng.randrange(0, 96)))
        if data and i % 2:  # half of them on the types with a layout we parse
            data[0] = rng.choice(interesting)
        _decodes_or_malformed(bytes(data))


@pytest.mark.parametrize(
    "valid",
    [
        neighbor_advert(),
        echo_reply(),
        dest_unreach(),
        icmp(s6.ICMPv6ND_NS(tgt=SRC) / s6.ICMPv6NDOptSrcLLAddr(lladdr=MAC)),
    ],
    ids=["na", "echo", "unreach", "ns"],
)
def test_fuzz_truncations_and_mutations(valid):
    for end in range(len(valid) + 1):
        _decodes_or_malformed(valid[:end])
    rng = random.Random(len(valid))
    for _ in range(1000):
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        elif rng.random() < 0.3:
            data += rng.randbytes(rng.randrange(1, 24))
        _decodes_or_malformed(bytes(data))


# --- describe ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "text"),
    [
        (1, 0, "destination unreachable (code 0: no route)"),
        (1, 1, "destination unreachable (code 1: administratively prohibited)"),
        (1, 3, "destination unreachable (code 3: address unreachable)"),
        (1, 4, "destination unreachable (code 4: port unreachable)"),
        (1, 6, "destination unreachable (code 6: reject route)"),
        (1, 9, "destination unreachable (code 9)"),
        (2, 0, "packet too big (code 0)"),
        (3, 1, "time exceeded (code 1)"),  # code 1 is not "administratively prohibited" here
        (4, 0, "parameter problem (code 0)"),
        (100, 2, "type 100 (code 2)"),
    ],
)
def test_error_describe(kind, code, text):
    assert Icmp6Error(kind, code, None, None).describe() == text


# --- encoders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ident", "seq", "payload"),
    [(0x1234, 1, b"v6conform"), (0, 0, b""), (0xFFFF, 0xFFFF, bytes(range(64)))],
)
def test_encode_echo_request_parses_in_scapy(ident, seq, payload):
    wire = encode_echo_request(ident, seq, payload)
    parsed = s6.ICMPv6EchoRequest(wire)
    assert (parsed.type, parsed.code, parsed.id, parsed.seq) == (128, 0, ident, seq)
    assert bytes(parsed.data) == payload
    assert decode(wire) == Echo(ECHO_REQUEST, ident, seq)


def test_encode_echo_request_default_payload():
    assert encode_echo_request(1, 2).endswith(b"v6conform")
    assert len(encode_echo_request(1, 2)) == 8 + len(b"v6conform")


@pytest.mark.parametrize("target", ["2001:db8:0:1::2", "fe80::1", "2001:db8::242:c633:6402"])
def test_encode_neighbor_solicit_parses_in_scapy(target):
    wire = encode_neighbor_solicit(target, bytes.fromhex("0242c6336402"))
    parsed = s6.ICMPv6ND_NS(wire)
    assert (parsed.type, parsed.code, parsed.res) == (135, 0, 0)
    assert parsed.tgt == target
    option = parsed[s6.ICMPv6NDOptSrcLLAddr]
    assert (option.len, option.lladdr) == (1, MAC)
    assert len(wire) == 32
    assert decode(wire) == NeighborSolicit(target, MAC)


@pytest.mark.parametrize("mac", [None, b""])
def test_encode_neighbor_solicit_without_source_lladdr(mac):
    wire = encode_neighbor_solicit("2001:db8::7", mac)
    parsed = s6.ICMPv6ND_NS(wire)
    assert parsed.tgt == "2001:db8::7"
    assert s6.ICMPv6NDOptSrcLLAddr not in parsed
    assert len(wire) == 24


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addr", "group"),
    [
        ("fe80::1", "ff02::1:ff00:1"),
        ("2001:db8::242:c633:6402", "ff02::1:ff33:6402"),
        ("::", "ff02::1:ff00:0"),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "ff02::1:ffff:ffff"),
    ],
)
def test_solicited_node(addr, group):
    assert solicited_node(addr) == group
    ours = socket.inet_pton(socket.AF_INET6, solicited_node(addr))
    assert ours == s6.in6_getnsma(socket.inet_pton(socket.AF_INET6, addr))


def test_mac_str():
    assert mac_str(bytes.fromhex("0242c633640a")) == "02:42:c6:33:64:0a"
    assert mac_str(b"") == ""
