"""Target and profile logic, and the gateway expectations that depend on them."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from probes.docker import NetworkInfo
from probes.errors import ProfileError
from probes.netns import Netns
from probes.profile import ExpectedName, Profile, load_profile, profile_from_dict
from probes.target import Target
from rules.gw import bridge_expectation, container_gateway

ROOT = Path(__file__).resolve().parents[2]
NET = NetworkInfo(
    "v6net", "abc", "bridge", True, "br-v6net", ("2001:db8:1:1::/64",), ("2001:db8:1:1::1",)
)
NO_SUBNET = NetworkInfo("bare", "def", "bridge", True, "br-def", (), ())


def run_suites_here(*args: str) -> subprocess.CompletedProcess[str]:
    """`pytest suites/` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lab_description(tmp_path: Path) -> dict[str, object]:
    profile = tmp_path / "profile.toml"
    profile.write_text('anchors = ["2001:db8:f00d::1"]\n')
    return {
        "name": "v6c",
        "scenario": "healthy",
        "docker_host": "unix:///x/docker.sock",
        "namespaces": {"host": "v6c-host", "upstream": "v6c-upstream", "inet": "v6c-inet"},
        "host": {"uplink": "uplink0", "resolv_conf": "/var/lib/v6conform-lab/v6c/resolv.conf"},
        "profile": str(profile),
    }


def test_target_from_lab_uses_the_labs_namespace_socket_and_profile(tmp_path: Path) -> None:
    target = Target.from_lab(lab_description(tmp_path))
    assert target.label == "lab:v6c/healthy"
    assert target.netns == Netns("/run/netns/v6c-host", "v6c-host")
    assert target.docker_host == "unix:///x/docker.sock"
    assert target.uplink == "uplink0"
    assert target.resolv_conf == "/var/lib/v6conform-lab/v6c/resolv.conf"
    assert target.profile.anchors == ("2001:db8:f00d::1",)
    assert target.lab is not None


def test_local_target_is_our_own_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    target = Target.local()
    assert target.netns.path is None
    assert target.label.startswith("local:")
    assert target.docker_host == "unix:///run/other.sock"
    assert target.lab is None
    assert Target.local(docker_host="unix:///a.sock").docker_host == "unix:///a.sock"


def test_profile_full(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'link_local_gateway = "fe80::1"\nanchors = ["2001:db8::1"]\ntimeout = 2\n'
        '[[names]]\nname = "www.example"\naaaa = ["2001:db8::80"]\na = ["192.0.2.80"]\n'
    )
    profile = load_profile(path)
    assert profile.link_local_gateway == "fe80::1"
    assert profile.timeout == 2.0
    assert profile.names[0].dual_stack is True
    assert profile.names[0].aaaa == ("2001:db8::80",)
    assert profile.source == str(path)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("anchorz = []\n", ":1: anchorz: unknown key (did you mean anchors?"),
        ('anchors = "2001:db8::1"\n', ':1: anchors: must be a list of strings, not "2001:db8::1"'),
        ("anchors = [1]\n", ":1: anchors[0]: must be a string, not 1"),
        (
            "timeout = -1\n",
            ":1: timeout: must be a positive number of seconds, at most 3600, not -1",
        ),
        (
            "timeout = true\n",
            ":1: timeout: must be a positive number of seconds, at most 3600, not true",
        ),
        (
            "ra_max_interval = 3\n",
            ":1: ra_max_interval: must be 4 to 65535 seconds (RFC 8319: MaxRtrAdvInterval), not 3",
        ),
        (
            "ra_max_interval = 65536\n",
            ":1: ra_max_interval: must be 4 to 65535 seconds (RFC 8319: MaxRtrAdvInterval), "
            "not 65536",
        ),
        ("[[names]]\naaaa = []\n", ":1: names[0]: missing key name (a string"),
        ('[[names]]\nname = "x"\nttl = 3\n', ":3: names[0].ttl: unknown key (known keys: a,"),
        ("anchors = [\n", ": not valid TOML: "),
        ('[[endpoints]]\nscheme = "http"\n', ":1: endpoints[0]: missing key name"),
        ('[[endpoints]]\nname = "x"\nscheme = "ftp"\n', ":3: endpoints[0].scheme: must be one"),
        ('[[endpoints]]\nname = "x"\nscheme = "tcp"\n', ":1: endpoints[0]: missing key port"),
        ('[[endpoints]]\nname = "x"\nport = 70000\n', "endpoints[0].port: must be a port"),
        ('[[endpoints]]\nname = "x"\npath = "a"\n', "endpoints[0].path: must be a path start"),
        ('[[endpoints]]\nname = "x"\nhost = "y"\n', "endpoints[0].host: unknown key"),
        ("ipv4_only = [1]\n", ":1: ipv4_only[0]: must be a string, not 1"),
        ('[[endpoints]]\nname = "x"\nscheme = ["http"]\n', "endpoints[0].scheme: must be one"),
        ('[[endpoints]]\nname = "x"\npath = "/a b"\n', "endpoints[0].path: must be a path"),
        ('[[endpoints]]\nname = "a b"\n', "endpoints[0].name: must be a DNS name"),
    ],
)
def test_broken_profiles_name_the_problem(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    assert error in str(info.value)


BROKEN = [
    # (file content, bytes, or None for a directory; what follows the path; a part of the rest)
    ("# profile\n\nanchros = []\n", ":3: anchros:", "unknown key (did you mean anchors? known"),
    ('timeout = 2\ncolour = "blue"\n', ":2: colour:", "unknown key (known keys: anchors, build"),
    ('dns64 = false\n"timeout" = "fast"\n', ":2: timeout:", '3600, not "fast"'),
    ("\n'dns64' = 1\n", ":2: dns64:", "must be true or false, not 1"),
    ("dns64 = true\ntimeout.fast = 1\n", ":2: timeout:", '3600, not {"fast": 1}'),
    ("timeout = 1\n\n[colour]\nshade = 1\n", ":3: colour:", "unknown key (known keys:"),
    ("anchors = []\n[[names]]\naaaa = []\n", ":2: names[0]:", "missing key name"),
    (
        '[[names]]\nname = "a"\ndual_stack = true\n\n[[names]]\nname = "b"\ndual_stack = 3\n',
        ":7: names[1].dual_stack:",
        "must be true or false, not 3",
    ),
    (
        '[[names]]\nname = "a"\n[[names]]\nname = "b"\nflavour = "x"\n',
        ":5: names[1].flavour:",
        "unknown key (known keys: a, aaaa, dual_stack, name)",
    ),
    (
        'names = [\n  {name = "a"},  # {\n  {name = "b", flavour = 1},\n]\n',
        ":3: names[1].flavour:",
        "unknown key (known keys: a, aaaa, dual_stack, name)",
    ),
    (
        'names = [{name = "a"}, {name = "b", dual_stack = 3}]\n',
        ":1: names[1].dual_stack:",
        "must be true or false, not 3",
    ),
    ('names = [\n  {name = "a"},\n  "b",\n]\n', ":3: names[1]:", 'must be a table, not "b"'),
    ('anchors = [\n  "2001:db8::1",\n  7,\n]\n', ":1: anchors[1]:", "must be a string, not 7"),
    (
        'rdnss = ["2001:db8::53"]\nanchors = [\n  "::1", # [x] = "y"\n  "2001:db8::zz",\n]\n',
        ":2: anchors[1]:",
        'not an IPv6 address: "2001:db8::zz"',
    ),
    (
        '[[names]]\nname = "www.example"\naaaa = ["192.0.2.80"]\n',
        ":3: names[0].aaaa[0]:",
        'not an IPv6 address: "192.0.2.80"',
    ),
    ('names = [{name = "x", a = ["2001:db8::1"]}]\n', ":1: names[0].a[0]:", "not an IPv4 address"),
    ('dns64 = true\nlink_local_gateway = "192.0.2.1"\n', ":2: link_local_gateway:", "IPv6"),
    (
        'far_end_namespace = "timeout = 1 # [x]"\ndns64 = true\ntimeout = "fast"\n',
        ":3: timeout:",
        'not "fast"',
    ),
    (
        'far_end_namespace = """\ntimeout = 1\n[[names]]\n"""\ntimeout = 0\n',
        ":5: timeout:",
        "not 0",
    ),
    ("# timeout = 1\ntimeout = -1  # timeout = 2\n", ":2: timeout:", "not -1"),
    ('dnssl = "' + "x" * 100 + '"\n', ":1: dnssl:", 'not "' + "x" * 36 + "..."),  # cut short
    ('timeout = 1\n\n\nanchors ["x"]\n', ":4:9: not valid TOML:", "Expected '=' after a key"),
    (b"timeout = 1\n# caf\xe9\n", ": not valid TOML:", "not UTF-8 text"),
    (None, ": cannot read:", "directory"),
    # an echo to an IPv4 anchor cannot be ICMPv6: the profile says so, not a crashed probe
    ('timeout = 1\nanchors = ["2001:db8::1", "203.0.113.1"]\n', ":2: anchors[1]:", "not an IPv6"),
    ('ipv6_mode = "rooted"\n', ":1: ipv6_mode:", "must be one of 'routed', 'nat', 'any'"),
    ("[ipv6_mode]\nv6net = 1\n", ":1: ipv6_mode.v6net:", "not 1"),
]


@pytest.mark.parametrize(("content", "where", "what"), BROKEN)
def test_errors_name_file_line_and_key_in_one_line(
    tmp_path: Path, content: str | bytes | None, where: str, what: str
) -> None:
    path = tmp_path / "profile.toml"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where} "), message
    assert what in message
    assert "\n" not in message
    assert "(at line" not in message


def test_addresses_get_one_spelling() -> None:
    """An anchor written in capitals with zeros matches the reply the kernel reports."""
    profile = profile_from_dict(
        {
            "anchors": ["2001:DB8:F00D:0::1"],
            "nameservers": ["2001:0db8::0053", "203.0.113.053"[:-3] + "53"],
            "rdnss": ["2001:DB8:53::53"],
            "names": [{"name": "x", "aaaa": ["2001:DB8::80"]}],
        },
        source="src",
    )
    assert profile.anchors == ("2001:db8:f00d::1",)
    assert profile.nameservers == ("2001:db8::53", "203.0.113.53")
    assert profile.rdnss == ("2001:db8:53::53",)
    assert profile.names[0].aaaa == ("2001:db8::80",)


def test_ipv6_mode_by_network() -> None:
    profile = profile_from_dict({"ipv6_mode": {"v6net": "routed", "*": "nat"}}, source="src")
    assert profile.wanted_mode("v6net") == "routed"
    assert profile.wanted_mode("other") == "nat"
    assert profile_from_dict({"ipv6_mode": "any"}, source="s").wanted_mode("v6net") is None
    assert Profile().wanted_mode("v6net") is None


def test_profile_from_dict_without_text_gives_no_line() -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_dict({"names": [{"name": "x", "dual_stack": "yes"}]}, source="src")
    assert str(info.value) == 'src: names[0].dual_stack: must be true or false, not "yes"'


def test_every_key_loads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "full.toml"
    path.write_text(
        """# every key a profile may have
link_local_gateway = "fe80::1"
default_gateway_v6 = "2001:db8::9"
anchors = [
    "2001:db8:f00d::1",  # comment, with a ] in it
    "2001:db8:f00d::2",
]
far_end_namespace = "far = [end]"
nameservers = ["2001:db8::53", "192.0.2.53"]
rdnss = ["2001:db8::53"]
dnssl = ["example.test"]
dns64 = false
ra_managed = true
ra_other = false
ra_max_interval = 600
timeout = 2
dad_timeout = 4.5
resolve_threshold = 0.5
build_timeout = 90

[[names]]
name = "www.example"
aaaa = ["2001:db8::80"]
a = ["192.0.2.80"]

[[names]]
name = "v6only.example"
dual_stack = false
"""
    )
    assert load_profile(path) == Profile(
        link_local_gateway="fe80::1",
        default_gateway_v6="2001:db8::9",
        anchors=("2001:db8:f00d::1", "2001:db8:f00d::2"),
        far_end_namespace="far = [end]",
        nameservers=("2001:db8::53", "192.0.2.53"),
        rdnss=("2001:db8::53",),
        dnssl=("example.test",),
        names=(
            ExpectedName("www.example", ("2001:db8::80",), ("192.0.2.80",), True),
            ExpectedName("v6only.example"),
        ),
        dns64=False,
        ra_managed=True,
        ra_other=False,
        ra_max_interval=600.0,
        timeout=2.0,
        dad_timeout=4.5,
        resolve_threshold=0.5,
        build_timeout=90.0,
        source=str(path),
    )


def test_missing_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "absent.toml")


def test_bad_profile_stops_the_suites_with_the_harness_status(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("colour = 'blue'\n")
    proc = run_suites_here(
        "--target",
        "lab",
        "--lab-name",
        "v6cnone",
        "--profile",
        str(path),
        "--report-dir",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if "colour" in line]
    assert len(said) == 1, said
    assert said[0].startswith(f"Exit: v6conform: {path}:1: colour: unknown key (known keys: ")
    # both reports say why, rather than holding an earlier run's results
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    (error,) = junit.iter("error")
    assert error.get("message") == said[0].removeprefix("Exit: v6conform: ")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "HARNESS ERROR" in html
    assert f"{path}:1: colour: unknown key" in html


def test_a_mistyped_uplink_is_one_line_and_the_harness_status(tmp_path: Path) -> None:
    """Stopped at configure time, before anything is collected or sent: safe to run here."""
    proc = run_suites_here("--uplink", "eth9x", "--report-dir", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if "eth9x" in line]
    assert len(said) == 1, said
    assert said[0].startswith("Exit: v6conform: --uplink eth9x: no such interface on this host")
    assert "Traceback" not in proc.stdout + proc.stderr
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert [e.get("message") for e in junit.iter("error")] == [
        said[0].removeprefix("Exit: v6conform: ")
    ]
    assert not list(junit.iter("testcase"))[1:]  # no check ran, none passed


def test_docker_without_lab_is_one_line(tmp_path: Path) -> None:
    proc = run_suites_here("--docker", "28", "--report-dir", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Exit: v6conform: --docker 28 picks the Docker the lab brings up" in proc.stderr


@pytest.mark.parametrize(
    ("major", "network", "profile", "address", "prefixlen", "note"),
    [
        (20, NET, Profile(), "fe80::1", 64, False),
        (26, NET, Profile(), "fe80::1", 64, False),
        (27, NET, Profile(), "2001:db8:1:1::1", 64, True),
        (28, NET, Profile(link_local_gateway="fe80::1"), "fe80::1", 64, False),
        (27, NO_SUBNET, Profile(), "fe80::1", 64, False),
    ],
)
def test_bridge_expectation(
    major: int, network: NetworkInfo, profile: Profile, address: str, prefixlen: int, note: bool
) -> None:
    expect = bridge_expectation(major, network, profile)
    assert (expect.address, expect.prefixlen) == (address, prefixlen)
    assert (expect.note is not None) is note


def test_container_gateway() -> None:
    assert container_gateway(NET, Profile()) == "2001:db8:1:1::1"
    assert container_gateway(NO_SUBNET, Profile()) == "fe80::1"
    # default-gateway-v6 is the default bridge's alone, as in Docker: v6net keeps its own
    custom = Profile(default_gateway_v6="2001:db8::9")
    assert container_gateway(NET, custom) == "2001:db8:1:1::1"
    docker0 = NetworkInfo(
        "bridge", "d0", "bridge", True, "docker0", ("2001:db8:1::/64",), ("2001:db8:1::1",)
    )
    assert container_gateway(docker0, custom) == "2001:db8::9"
    assert container_gateway(docker0, Profile()) == "2001:db8:1::1"


def test_no_docker_skips_with_the_reason_and_a_harness_exit_status(tmp_path: Path) -> None:
    # -m gateway: only checks that need Docker, so nothing is sent from this machine
    proc = run_suites_here(
        "-m",
        "gateway",
        "-rs",
        "--docker-host",
        f"unix://{tmp_path}/absent.sock",
        "--report-dir",
        str(tmp_path / "o"),
    )
    # Docker checks were asked for and there is no Docker: not a verdict on the host
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "exit status 3: not a verdict on the host" in proc.stdout
    assert "passed" not in proc.stdout.splitlines()[-1]
    assert "skipped" in proc.stdout.splitlines()[-1]
    assert "no Docker" in proc.stdout
    assert "no socket there: is dockerd running?" in proc.stdout


def test_endpoints_take_their_scheme_s_port() -> None:
    p = profile_from_dict(
        {
            "endpoints": [
                {"name": "example.com", "scheme": "https"},
                {"name": "www.example.com"},
                {"name": "mail.example.com", "scheme": "tcp", "port": 25},
            ],
            "ipv4_only": ["legacy.example.com"],
        },
        source="t",
    )
    assert [(e.scheme, e.port, e.path) for e in p.endpoints] == [
        ("https", 443, "/"),
        ("http", 80, "/"),
        ("tcp", 25, "/"),
    ]
    assert p.endpoints[2].label == "mail.example.com tcp/25"
    assert p.ipv4_only == ("legacy.example.com",)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "timeout = inf\n",
            ":1: timeout: must be a positive number of seconds, at most 3600, not inf",
        ),
        ("dad_timeout = 1e400\n", ":1: dad_timeout: must be a positive number of seconds"),
        ("build_timeout = nan\n", ":1: build_timeout: must be a positive number of seconds"),
        ("timeout = 3601\n", ":1: timeout: must be a positive number of seconds, at most 3600"),
        ("ra_max_interval = nan\n", ":1: ra_max_interval: must be 4 to 65535 seconds"),
        ("timeout = " + "9" * 400 + "\n", ":1: timeout: must be a positive number of seconds"),
        ("timeout = " + "9" * 5000 + "\n", ": not valid TOML: Exceeds the limit (4300 digits)"),
        ("anchors = [" + "9" * 5000 + "]\n", ": not valid TOML: Exceeds the limit"),
        ("anchors = " + "[" * 2000 + "]" * 2000 + "\n", ":1: not a profile: nested more than 16"),
        ('[[names]]\nname = "x"\naaaa = ' + "[" * 20 + "\n", ":3: not a profile: nested more"),
        ("a" + ".a" * 20_000 + " = 1\n", ":1: not a profile: a dotted key of 20001 parts"),
        ("timeout" + ".a" * 20_000 + " = 1\n", ":1: not a profile: a dotted key of 20001 parts"),
        ("[a" + ".a" * 20_000 + "]\n", ":1: not a profile: a dotted key of 20001 parts"),
    ],
)
def test_what_escaped_the_profile_error_is_one(tmp_path: Path, text: str, error: str) -> None:
    """Found by the fuzz (tests/unit/test_fuzz_parsers.py): infinite or huge timings were taken
    or crashed the loader (OverflowError, ValueError), deep nesting raised RecursionError, and
    a dotted key of 20,000 parts took tomllib 9 s. Each is now a one-line ProfileError, at once."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert time.monotonic() - started < 1.0
    assert error in str(info.value)
    assert "\n" not in str(info.value)
    assert len(str(info.value)) < 400


def test_a_profile_larger_than_a_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(ProfileError, match="not a profile: larger than 1048576 bytes"):
        load_profile(path)


def test_dotted_keys_and_floats_a_profile_uses_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('ipv6_mode.v6net = "routed"\ntimeout = 1.5\nanchors = ["2001:db8::1"]\n')
    profile = load_profile(path)
    assert profile.timeout == 1.5
    assert profile.wanted_mode("v6net") == "routed"
