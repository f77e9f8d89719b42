"""The Docker side without a daemon: network list parsing, daemon versions, the probe rootfs."""

from __future__ import annotations

import io
import json
import struct
import tarfile
from pathlib import Path

import pytest

from probes import docker
from probes.docker import DaemonInfo, NetworkInfo
from probes.errors import HarnessError

BRIDGE_ID = "6338ae73d4cd3ab1a3d28a5bde6f4b7a4a0f0a3e2c1b7d8e9f0a1b2c3d4e5f60"
USER_ID = "f1e2d3c4b5a6978877665544332211ffeeddccbbaa99887766554433221100aa"

# shaped like GET /networks of Docker 20.10
DEFAULT_BRIDGE = {
    "Name": "bridge",
    "Id": BRIDGE_ID,
    "Scope": "local",
    "Driver": "bridge",
    "EnableIPv6": True,
    "IPAM": {
        "Driver": "default",
        "Options": None,
        "Config": [
            {"Subnet": "198.51.100.0/25", "Gateway": "198.51.100.1"},
            {"Subnet": "2001:db8:1::/64"},
        ],
    },
    "Internal": False,
    "Options": {
        "com.docker.network.bridge.default_bridge": "true",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.name": "docker0",
        "com.docker.network.driver.mtu": "1500",
    },
    "Labels": {},
}
USER_NETWORK = {
    "Name": "v6net",
    "Id": USER_ID,
    "Driver": "bridge",
    "EnableIPv6": True,
    "IPAM": {
        "Driver": "default",
        "Options": {},
        "Config": [
            {"Subnet": "198.51.100.128/25", "Gateway": "198.51.100.129"},
            {"Subnet": "2001:db8:1:1::/64", "Gateway": "2001:db8:1:1::fffe"},
        ],
    },
    "Options": {},
    "Labels": {},
}


def test_default_bridge():
    assert NetworkInfo.from_api(DEFAULT_BRIDGE) == NetworkInfo(
        name="bridge",
        id=BRIDGE_ID,
        driver="bridge",
        enable_ipv6=True,
        bridge="docker0",
        subnets6=("2001:db8:1::/64",),
        gateways6=("2001:db8:1::1",),
    )


def test_user_network_bridge_name_from_id_and_configured_gateway():
    net = NetworkInfo.from_api(USER_NETWORK)
    assert net.bridge == "br-f1e2d3c4b5a6"
    assert net.subnets6 == ("2001:db8:1:1::/64",)
    assert net.gateways6 == ("2001:db8:1:1::fffe",)


def test_user_network_with_bridge_name_option():
    data = {**USER_NETWORK, "Options": {"com.docker.network.bridge.name": "br-v6net"}}
    assert NetworkInfo.from_api(data).bridge == "br-v6net"


def test_gateway_given_with_prefix_length():
    data = {
        **USER_NETWORK,
        "IPAM": {"Config": [{"Subnet": "2001:db8:1:1::/64", "Gateway": "2001:db8:1:1::fffe/64"}]},
    }
    assert NetworkInfo.from_api(data).gateways6 == ("2001:db8:1:1::fffe",)


def test_several_ipv6_subnets_keep_their_order():
    data = {
        **USER_NETWORK,
        "IPAM": {
            "Config": [
                {"Subnet": "2001:db8:1:2::/64"},
                {"Subnet": "198.51.100.128/25"},
                {"Subnet": "2001:db8:1:1::/64", "Gateway": "2001:db8:1:1::9"},
            ]
        },
    }
    net = NetworkInfo.from_api(data)
    assert net.subnets6 == ("2001:db8:1:2::/64", "2001:db8:1:1::/64")
    assert net.gateways6 == ("2001:db8:1:2::1", "2001:db8:1:1::9")


def test_ipv4_only_network():
    data = {
        "Name": "legacy",
        "Id": "0123456789abcdef" * 4,
        "Driver": "bridge",
        "EnableIPv6": False,
        "IPAM": {"Config": [{"Subnet": "192.0.2.0/24", "Gateway": "192.0.2.1"}]},
        "Options": None,
    }
    net = NetworkInfo.from_api(data)
    assert net.enable_ipv6 is False
    assert net.subnets6 == ()
    assert net.gateways6 == ()
    assert net.bridge == "br-0123456789ab"


@pytest.mark.parametrize(
    ("name", "driver"), [("host", "host"), ("none", "null"), ("mv", "macvlan")]
)
def test_non_bridge_networks_have_no_bridge(name, driver):
    # host and none come with an empty Config list (20.10) or a null one
    for config in ([], None):
        data = {
            "Name": name,
            "Id": "ab" * 32,
            "Driver": driver,
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": config},
            "Options": {},
        }
        net = NetworkInfo.from_api(data)
        assert (net.name, net.driver, net.bridge, net.subnets6) == (name, driver, None, ())


def test_missing_ipam():
    net = NetworkInfo.from_api({"Name": "odd", "Id": "cd" * 32, "Driver": "bridge"})
    assert (net.subnets6, net.gateways6, net.enable_ipv6) == ((), (), False)


@pytest.mark.parametrize(
    ("version", "major"),
    [
        ("20.10.24+dfsg1", 20),
        ("27.1.0", 27),
        ("garbage", 0),
        ("", 0),
        ("None", 0),
        ("26.1.5-1", 26),
    ],
)
def test_daemon_major(version, major):
    assert DaemonInfo(version, "1.41").major == major


# --- the probe image's root file system ----------------------------------------------------


def _elf64(program_header_types: list[int], ei_class: int = 2) -> bytes:
    """An ELF header and a program header table, nothing else: enough for _is_static_elf."""
    phoff, phentsize = 64, 56
    header = bytearray(64)
    header[:7] = b"\x7fELF" + bytes((ei_class, 1, 1))
    header[0x20:0x28] = phoff.to_bytes(8, "little")
    header[0x36:0x38] = phentsize.to_bytes(2, "little")
    header[0x38:0x3A] = len(program_header_types).to_bytes(2, "little")
    table = b"".join(struct.pack("<I", t) + bytes(phentsize - 4) for t in program_header_types)
    return bytes(header) + table


@pytest.mark.parametrize(
    ("content", "static"),
    [
        (_elf64([6, 1, 1, 4]), True),  # PHDR, LOAD, LOAD, NOTE
        (_elf64([]), False),  # no program headers: nothing that can run
        (_elf64([6, 3, 1, 2]), False),  # PT_INTERP: needs a dynamic loader
        (_elf64([3]), False),
        (_elf64([1], ei_class=1), False),  # 32-bit: not handled, so not taken
        (b"#!/bin/sh\necho busybox\n", False),
        (b"", False),
    ],
    ids=["static", "no-phdrs", "dynamic", "interp-only", "elf32", "script", "empty"],
)
def test_is_static_elf(tmp_path, content, static):
    path = tmp_path / "busybox"
    path.write_bytes(content)
    assert docker._is_static_elf(path) is static


@pytest.mark.parametrize(
    "content", [b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(25)], ids=["magic-only", "cut-header"]
)
def test_is_static_elf_truncated_file(tmp_path, content):
    path = tmp_path / "busybox"
    path.write_bytes(content)
    assert docker._is_static_elf(path) is False


def test_is_static_elf_on_host_binaries():
    if not Path("/bin/ls").exists() or Path("/bin/ls").read_bytes()[:5] != b"\x7fELF\x02":
        pytest.skip("no 64-bit ELF /bin/ls to compare with")
    assert docker._is_static_elf(Path("/bin/ls")) is False


def _static_busybox() -> Path:
    try:
        return docker.find_static_busybox()
    except HarnessError as exc:
        pytest.skip(f"no static busybox on this host: {exc}")


def _rootfs() -> tuple[dict[str, tarfile.TarInfo], bytes | None]:
    """The probe rootfs's members by name, and the content of bin/busybox if it is a file."""
    with tarfile.open(fileobj=io.BytesIO(docker.probe_rootfs_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
        extracted = tar.extractfile("bin/busybox") if members["bin/busybox"].isfile() else None
        return members, extracted.read() if extracted else None


def test_probe_rootfs_tar():
    busybox = _static_busybox()
    members, content = _rootfs()
    assert set(members) == {
        "bin",
        "etc",
        "tmp",
        "bin/busybox",
        "bin/sh",
        "bin/sleep",
        "bin/cat",
        "bin/nslookup",
        "bin/ping",
    }
    for d in ("bin", "etc", "tmp"):
        assert members[d].isdir()
    assert members["tmp"].mode == 0o1777
    assert members["bin/busybox"].isfile()
    assert members["bin/busybox"].mode & 0o111
    assert content == busybox.read_bytes()
    for applet in ("sh", "sleep", "cat", "nslookup", "ping"):
        link = members[f"bin/{applet}"]
        assert link.issym()
        assert link.linkname == "busybox"


def test_probe_rootfs_tar_with_busybox_behind_a_symlink(tmp_path, monkeypatch):
    real = _static_busybox()
    link = tmp_path / "busybox"
    link.symlink_to(real)
    monkeypatch.setattr(docker, "BUSYBOX_CANDIDATES", (str(link),))
    assert docker.find_static_busybox() == link
    members, content = _rootfs()
    assert members["bin/busybox"].isfile()
    assert content == real.read_bytes()


def test_find_static_busybox_rejects_dynamic(tmp_path, monkeypatch):
    dynamic = tmp_path / "busybox"
    dynamic.write_bytes(_elf64([6, 3, 1]))
    monkeypatch.setattr(docker, "BUSYBOX_CANDIDATES", (str(dynamic), str(tmp_path / "absent")))
    with pytest.raises(HarnessError, match="busybox-static"):
        docker.find_static_busybox()


def test_find_static_busybox_takes_first_static(tmp_path, monkeypatch):
    dynamic, static = tmp_path / "dyn", tmp_path / "static"
    dynamic.write_bytes(_elf64([3]))
    static.write_bytes(_elf64([1]))
    monkeypatch.setattr(
        docker, "BUSYBOX_CANDIDATES", (str(tmp_path / "absent"), str(dynamic), str(static))
    )
    assert docker.find_static_busybox() == static


# --- driver options, IPv4, --internal (netmode reads them) ---------------------------------


def test_options_enable_ipv4_and_internal_from_the_api():
    net = NetworkInfo.from_api(
        {
            **USER_NETWORK,
            "EnableIPv4": False,
            "Internal": True,
            "Options": {
                "com.docker.network.bridge.name": "br-v6net",
                "com.docker.network.bridge.gateway_mode_ipv6": "routed",
            },
        }
    )
    assert net.options == {
        "com.docker.network.bridge.name": "br-v6net",
        "com.docker.network.bridge.gateway_mode_ipv6": "routed",
    }
    assert (net.enable_ipv4, net.internal, net.is_default_bridge) == (False, True, False)
    hash(net)  # still a usable pytest parameter
    net.options["x"] = "y"  # a copy: the network itself cannot change
    assert "x" not in net.options


def test_daemons_without_enable_ipv4_have_ipv4():
    net = NetworkInfo.from_api(USER_NETWORK)  # shaped like Docker 20.10: no EnableIPv4 key
    assert (net.enable_ipv4, net.internal, net.options) == (True, False, {})


def test_default_bridge_by_option_or_name():
    assert NetworkInfo.from_api(DEFAULT_BRIDGE).is_default_bridge
    renamed = {**DEFAULT_BRIDGE, "Name": "docker-default"}
    assert NetworkInfo.from_api(renamed).is_default_bridge  # the option says so
    assert NetworkInfo("bridge", "x", "bridge", True, "docker0", (), ()).is_default_bridge
    assert not NetworkInfo.from_api(USER_NETWORK).is_default_bridge


def test_real_docker_28_networks():
    data = Path(__file__).parent / "data" / "docker" / "d28.networks.json"
    nets = {n.name: n for n in map(NetworkInfo.from_api, json.loads(data.read_text()))}
    assert nets["routed"].options["com.docker.network.bridge.gateway_mode_ipv6"] == "routed"
    assert nets["bridge"].options["com.docker.network.bridge.enable_ip_masquerade"] == "true"
    assert [n.name for n in nets.values() if n.is_default_bridge] == ["bridge"]
    assert all(n.enable_ipv4 and not n.internal for n in nets.values())


def test_podman_is_named_never_judged_as_docker_5() -> None:
    """Podman's Docker-compatible /version names its engine; its version is Podman's own."""
    from probes.docker import not_docker

    podman = {
        "Version": "5.2.2",
        "ApiVersion": "1.41",
        "Components": [{"Name": "Podman Engine", "Version": "5.2.2"}],
    }
    assert not_docker(podman) == "Podman Engine 5.2.2"
    docker = {"Version": "29.7.2", "Components": [{"Name": "Engine", "Version": "29.7.2"}]}
    assert not_docker(docker) is None
    assert not_docker({"Components": "junk"}) is None
