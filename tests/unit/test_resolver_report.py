"""The in-container resolver report: what the script prints, read back whatever it contains."""

from __future__ import annotations

import base64
import io
import json
import random
import tarfile

import pytest

from probes import build, resolver


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


RESOLV = "nameserver 127.0.0.11\nnameserver 2001:db8:53::53\noptions ndots:0\n"
ROUTES = "2001:db8:1:1::/64 dev eth0  metric 256\nfe80::/64 dev eth0  metric 256\n"
NAMES = ("www.lab.example", "v6only.lab.example")
ANSWER = "Server: x\nName: y\n"


def output(*extra: str, done: bool = True) -> str:
    lines = [
        f"resolv {b64(RESOLV)}",
        f"route6 {b64(ROUTES)}",
        "lookup 1 10.00 10.02 1 "
        + b64("PING v6only.lab.example (2001:db8:f00d::66): 56 data bytes\nsendto: unreachable"),
        f"lookup 0 10.00 11.25 137 {b64('')}",
        f"server 0 10.00 11.25 137 {b64('127.0.0.11')} {b64('')}",
        f"server 1 10.00 10.01 0 {b64('2001:db8:53::53')} {b64(ANSWER)}",
        *extra,
    ]
    return "\n".join([*lines, "done"] if done else lines) + "\n"


def parse(text: str) -> resolver.ResolverReport:
    return resolver.parse_report(
        text, where="container c", names=NAMES, family="IPv6", deadline=1.25
    )


def test_a_full_report_reads_back_every_fact() -> None:
    r = parse(output())
    assert r.complete
    assert [str(ns) for ns in r.resolv_conf.nameservers] == ["127.0.0.11", "2001:db8:53::53"]
    assert r.has_ipv6_route
    www, v6only = r.lookups
    assert (www.name, www.resolved, www.killed) == ("www.lab.example", False, True)
    assert (v6only.address, round(v6only.elapsed_s or 0, 2)) == ("2001:db8:f00d::66", 0.02)
    assert "still resolving after 1.25 s" in www.describe(r.deadline)
    embedded, six = r.servers
    assert (embedded.server, embedded.answered) == ("127.0.0.11", False)
    assert (six.rcode, six.answered) == ("NOERROR", True)
    assert r.server("2001:db8:53::53") is six
    assert any("IPv6 routes: 2001:db8:1:1::/64" in line for line in r.lines())


def test_link_local_routes_alone_are_no_ipv6_route() -> None:
    text = output().replace(b64(ROUTES), b64("fe80::/64 dev eth0 metric 256\n"))
    assert not parse(text).has_ipv6_route
    assert not parse(output().replace(b64(ROUTES), "")).has_ipv6_route


def test_a_cut_short_report_says_so_and_keeps_every_name() -> None:
    text = "\n".join(output(done=False).splitlines()[:2])
    r = parse(text)
    assert not r.complete
    assert [lk.name for lk in r.lookups] == list(NAMES)
    assert all(not lk.resolved and lk.elapsed_s is None for lk in r.lookups)
    assert any("did not run to its end" in line for line in r.lines())


@pytest.mark.parametrize(
    ("rc", "text", "rcode", "reason"),
    [
        ("0", "Server: 203.0.113.53\nName: www\nAddress: 203.0.113.80\n", "NOERROR", "answered"),
        ("1", "** server can't find nonex.lab.example: NXDOMAIN\n", "NXDOMAIN", "answered"),
        ("1", "** server can't find x: REFUSED\n", "REFUSED", "answered"),
        (
            "1",
            "nslookup: can't connect to remote host: Cannot assign requested address\n",
            None,
            "cannot send to it (cannot assign requested address)",
        ),
        # found by the fuzz (test_fuzz_parsers): output cut at the colon raised IndexError
        ("1", "nslookup: can't connect to remote host:", None, "(no reason given): no route"),
        ("1", "nslookup: can't connect to remote host: \x1b[2J", None, "(\\x1b[2j): no route"),
        ("1", "nslookup: read: Connection refused\n", None, "refused"),
        ("1", ";; connection timed out; no servers could be reached\n", None, "timed out"),
        ("137", "", None, "deadline"),
        ("1", "\x00\x01 weird", None, "\\x00"),
    ],
)
def test_nslookup_outcomes_become_an_rcode_or_a_reason(
    rc: str, text: str, rcode: str | None, reason: str
) -> None:
    line = f"server 0 1.00 1.50 {rc} {b64('192.0.2.53')} {b64(text)}"
    (answer,) = parse(f"{line}\ndone\n").servers
    assert answer.rcode == rcode
    assert reason in answer.reason


def test_junk_output_never_raises() -> None:
    rng = random.Random(7)
    pieces = output().split(" ")
    for _ in range(2000):
        words = [rng.choice([*pieces, "lookup", "server", "9", "x", "", "=="]) for _ in range(12)]
        junk = (
            " ".join(words)
            + "\n"
            + bytes(rng.randrange(256) for _ in range(40)).decode(errors="replace")
        )
        r = parse(junk)
        assert len(r.lookups) == len(NAMES)


def test_the_script_takes_names_as_arguments_never_as_code() -> None:
    args = resolver.script_args(1.25, "IPv6", ("a.example", "$(reboot)"))
    assert args[:2] == ["/bin/sh", "-c"]
    assert args[3:] == ["sh", "1.25", "-6", "a.example", "$(reboot)"]
    assert "$(reboot)" not in args[2]
    redirected = resolver.script_args(1, "any", (), output="/out.txt")
    assert redirected[2].startswith("exec >/out.txt 2>&1\n")
    assert redirected[5] == "any"


def test_the_build_runs_the_script_in_exec_form() -> None:
    text = build.dockerfile(1.25, "any", ("www.lab.example",))
    first, run = text.splitlines()
    assert first == "FROM v6conform-probe:busybox"
    argv = json.loads(run.removeprefix("RUN "))
    assert argv[-3:] == ["1.25", "any", "www.lab.example"]
    assert build.RESULT_FILE in argv[2]
    with tarfile.open(fileobj=io.BytesIO(build.context_tar(text))) as tar:
        member = tar.extractfile("Dockerfile")
        assert member is not None
        assert member.read().decode() == text
