"""Reading a namespace's firewall when nft fails: a crash, an error, output that is not its
JSON make the firewall unreadable (never "no rules"); the target's own nft reads, chrooted."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.firewall import FirewallUnreadable, read_ruleset
from probes.firewall import _read as firewall_read
from probes.netns import Netns


@pytest.fixture
def netns_name() -> Iterator[str]:
    """A throwaway namespace; gone afterwards."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    if not (shutil.which("ip") and shutil.which("ip6tables-save")):
        pytest.skip("needs iproute2 and ip6tables")
    name = f"fwread-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def fake_nft(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    monkeypatch.setattr(firewall_read, "NFT_LIST", ("sh", "-c", script, "nft"))


@pytest.mark.parametrize(
    ("script", "said"),
    [
        # as Debian 12's nft 1.0.6 does on what sid's 1.1.7 wrote for Docker 29
        ('echo "{\\"nftables\\": [" ; kill -SEGV $$', r"crashed \(SIGSEGV\)"),
        ("echo 'Error: unknown expression type' >&2; exit 1", "exited 1: Error: unknown expr"),
        ('echo \'{"nftables": [{"table"\'', "nft: "),  # not its JSON
    ],
    ids=["crash", "error", "not-json"],
)
async def test_an_nft_that_fails_makes_the_firewall_unreadable(
    netns_name: str, monkeypatch: pytest.MonkeyPatch, script: str, said: str
) -> None:
    fake_nft(monkeypatch, script)
    with pytest.raises(FirewallUnreadable, match=f"nftables could not be read: .*{said}"):
        await read_ruleset(Netns.named(netns_name), timeout=10.0)


async def test_a_kernel_without_nf_tables_is_no_rules_in_nftables(
    netns_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_nft(monkeypatch, "echo 'netlink: Error: cache initialization failed: Protocol not "
             "supported' >&2; exit 1")  # fmt: skip
    ruleset = await read_ruleset(Netns.named(netns_name), timeout=10.0)
    assert ruleset.nft is None
    assert "Protocol not supported" in ruleset.unread[0]


def test_the_targets_own_nft_reads_chrooted(tmp_path: Path) -> None:
    (tmp_path / "usr/sbin").mkdir(parents=True)
    assert firewall_read._nft_list(str(tmp_path)) == firewall_read.NFT_LIST  # no nft there
    (tmp_path / "usr/sbin/nft").touch()
    assert firewall_read._nft_list(str(tmp_path)) == (
        "chroot", str(tmp_path), *firewall_read.NFT_LIST
    )  # fmt: skip
    assert firewall_read._nft_list(None) == firewall_read.NFT_LIST
