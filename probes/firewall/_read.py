"""Reading the firewall as a namespace sees it: ``ip6tables-save`` and ``nft -j list ruleset``,
read only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass

from probes.firewall._model import FirewallUnreadable, _clip
from probes.firewall._ruleset import Ruleset
from probes.netns import Netns

# Plain ip6tables-save, not ``-t filter``: with the legacy backend naming a table loads its
# kernel module, and a read-only probe must not change a production host.
IP6TABLES_SAVE = ("ip6tables-save",)
IP6TABLES_VERSION = ("ip6tables-save", "--version")
NFT_LIST = ("nft", "-j", "list", "ruleset")


@dataclass(frozen=True, slots=True)
class _Output:
    argv: tuple[str, ...]
    stdout: str = ""
    failure: str | None = None  # why there is no usable output


def _tool_env() -> dict[str, str]:
    """C locale for stable output; sbin on PATH, since sudo and cron often drop it."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    return {**os.environ, "LC_ALL": "C", "PATH": f"{path}:/usr/local/sbin:/usr/sbin:/sbin"}


def _run_tool(argv: tuple[str, ...], deadline: float, where: str) -> _Output:
    """Run one read-only command (in the caller's namespace); only a timeout raises."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FirewallUnreadable(where, f"no time left to run {' '.join(argv)}")
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=remaining, env=_tool_env(), check=False
        )
    except FileNotFoundError:
        return _Output(argv, failure=f"{argv[0]} is not installed")
    except subprocess.TimeoutExpired as exc:
        raise FirewallUnreadable(where, f"{' '.join(argv)} did not finish in time") from exc
    except OSError as exc:
        return _Output(argv, failure=f"{argv[0]}: {exc.strerror or exc}")
    stdout = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = stderr[-1] if stderr else "no message"
        return _Output(
            argv, stdout, f"{' '.join(argv)} exited {done.returncode}: {_clip(reason, 160)}"
        )
    return _Output(argv, stdout)


def _read_all(deadline: float, where: str) -> tuple[_Output, _Output, _Output]:
    """The three reads, in one thread inside the namespace (each takes milliseconds)."""
    return (
        _run_tool(IP6TABLES_VERSION, deadline, where),
        _run_tool(IP6TABLES_SAVE, deadline, where),
        _run_tool(NFT_LIST, deadline, where),
    )


async def read_ruleset(ns: Netns, *, timeout: float) -> Ruleset:
    """Read ip6tables and nftables as ``ns`` sees them; change nothing.

    A missing tool or a failing command is recorded in ``Ruleset.unread``; when neither view
    could be read or parsed, or time runs out, ``FirewallUnreadable`` says why.
    """
    where = str(ns)
    deadline = time.monotonic() + timeout
    try:
        async with asyncio.timeout(timeout):
            version, save, nft = await ns.run(lambda: _read_all(deadline, where))
    except TimeoutError as exc:
        raise FirewallUnreadable(where, f"reading the firewall took over {timeout:g}s") from exc
    unread = [out.failure for out in (save, nft) if out.failure]
    if save.failure and nft.failure:
        raise FirewallUnreadable(where, "; ".join(unread))
    ruleset = Ruleset.parse(
        ip6tables_save=None if save.failure else save.stdout,
        nft_json=None if nft.failure else nft.stdout,
        ip6tables_version=version.stdout,
        unread=[u for u in unread if u],
    )
    if ruleset.ip6tables is None and ruleset.nft is None:  # nothing to judge is no pass
        raise FirewallUnreadable(where, "; ".join(ruleset.unread))
    return ruleset
