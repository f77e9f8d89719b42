"""A router that announces a link-local RDNSS server (RFC 8106 allows it): RA-03 must ask it on
the link the RA came in on (fe80::…%uplink0), and a real DNS server there must be found
answering — not "Invalid argument" for a server that works. And DNS-01 holds the servers the
routers announce to its own question: one that answers passes, one that does not fails, naming
the router that announced it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6NDOptRDNSS

from bench.suite_run import lab_up, run_suites
from lab import topology as T
from tests.lab.names import lab_name
from tests.lab.ra_responder import CRAFTED_ROUTER, ROGUE, crafted_router

pytestmark = pytest.mark.lab
NAME = lab_name("v6crll")


def test_a_link_local_rdnss_server_is_asked_on_its_link(tmp_path: Path) -> None:
    advert = bytes(ICMPv6ND_RA(routerlifetime=0)) + bytes(
        ICMPv6NDOptRDNSS(lifetime=3 * T.RA_MAX_INTERVAL, dns=[CRAFTED_ROUTER])
    )
    with lab_up(NAME) as lab, crafted_router(lab, advert):
        # a second real unbound, in the upstream namespace, on the crafted router's
        # link-local address: the server the RA announces
        conf = lab.state / "unbound-ll.conf"
        zone = "".join(
            f'  local-data: "{name} 300 IN AAAA {aaaa}"\n'
            for name, (aaaa, _) in T.ZONE_NAMES.items()
            if aaaa
        )
        conf.write_text(
            "server:\n"
            f'  directory: "{lab.state}"\n  username: ""\n  chroot: ""\n  use-syslog: no\n'
            "  do-daemonize: no\n  interface-automatic: no\n"
            f"  interface: {CRAFTED_ROUTER}%{ROGUE}\n  access-control: ::/0 allow\n"
            f'  local-zone: "." refuse\n  local-zone: "{T.ZONE}." static\n{zone}'
            "remote-control:\n  control-enable: no\n"
        )
        server = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("upstream"), "unbound", "-d", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while f"[{CRAFTED_ROUTER}]" not in lab.in_ns("upstream", "ss", "-lnu", check=False):
                assert time.monotonic() < deadline, "the link-local unbound did not listen"
                time.sleep(0.1)
            # the site's profile names both servers its routers announce (RA-04)
            profile = tmp_path / "profile.toml"
            text = (lab.state / "profile.toml").read_text()
            old = f'rdnss = ["{T.DNS6}"]'
            assert old in text
            profile.write_text(text.replace(old, f'rdnss = ["{T.DNS6}", "{CRAFTED_ROUTER}"]'))
            run = run_suites(
                tmp_path / "out", "--target", "lab", "--lab-name", NAME, "-m", "rdnss or dns",
                "--profile", str(profile),
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=10)
    [ra03] = run.by_check("RA-03")
    assert ra03.outcome == "passed", run.output[-3000:]
    assert not [c for c in run.cases if c.outcome in ("failed", "error")], run.output[-3000:]
    [announced] = [c for c in run.by_check("DNS-01") if "announced" in c.item]
    assert announced.outcome == "passed", run.output[-3000:]
    proof = announced.properties["proof"]
    assert f"{CRAFTED_ROUTER}%{T.UPLINK} (from {CRAFTED_ROUTER}) NOERROR" in proof, proof


def test_an_announced_server_that_does_not_answer_fails_dns01(tmp_path: Path) -> None:
    silent = "2001:db8:53::99"  # in the DNS server's prefix, but nothing listens there
    advert = bytes(ICMPv6ND_RA(routerlifetime=0)) + bytes(
        ICMPv6NDOptRDNSS(lifetime=3 * T.RA_MAX_INTERVAL, dns=[silent])
    )
    with lab_up(NAME) as lab, crafted_router(lab, advert):
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "dns or rdnss")
    [announced] = [c for c in run.by_check("DNS-01") if "announced" in c.item]
    assert announced.outcome == "failed", run.output[-3000:]
    assert announced.properties["diagnosis"].startswith(
        f"nameserver {silent} did not answer over IPv6 UDP"
    ), announced.properties["diagnosis"]
    assert f"configured in: the RDNSS option of {CRAFTED_ROUTER}" in announced.text
    # the host's own nameservers answer: only the announced one is wrong
    others = [c for c in run.by_check("DNS-01") if c is not announced]
    assert others, run.output[-3000:]
    assert all(c.outcome == "passed" for c in others), run.output[-3000:]
    assert run.failed_checks() == {"DNS-01", "RA-03", "RA-04"}, run.output[-3000:]
