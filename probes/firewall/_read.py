"""Reading the firewall as a namespace sees it: ``ip6tables-save`` and ``nft -j list ruleset``,
read only.

``nft`` is read with the ``nft`` that wrote the rules where the target says which (the lab's
dockerd runs from a root of its own: its ``nft`` is run chrooted there, in the same namespace);
an older ``nft`` can crash on, or misread, what a newer one wrote. An ``nft`` that fails while
the kernel speaks nf_tables makes the firewall unreadable: what it could not show is never read
as "no rules". So does an ``ip6tables-save`` that ran and failed, or wrote what is not its dump,
while ``nft`` read: nft shows no ip6tables-legacy rule, so judging nft's view alone would pass a
host whose legacy rules drop container traffic. (A tool that is not installed wrote no rules.)
Both dumps are parsed under one ``Deadline``: a dump too big to read in time is unreadable.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from probes.firewall._model import FirewallUnreadable, _clip
from probes.firewall._nft import NFT_FAMILIES
from probes.firewall._ruleset import XTABLES_TABLES, Ruleset
from probes.firewall._walk import JUDGE_TIMEOUT, Deadline
from probes.netns import Netns

# Plain ip6tables-save, not ``-t filter``: with the legacy backend naming a table loads its
# kernel module, and a read-only probe must not change a production host.
IP6TABLES_SAVE = ("ip6tables-save",)
IP6TABLES_VERSION = ("ip6tables-save", "--version")
NFT_LIST = ("nft", "-j", "list", "ruleset")
# Seconds the tools may take at least, whatever the profile's probe timeout: their output grows
# with the rule set (a 10,000-rule host: ip6tables-save 0.8 s, nft -j 2 s on a busy machine).
READ_TIMEOUT = 10.0
# nft's words when the kernel has no nf_tables at all: then nothing is in nftables to miss
NO_NF_TABLES = ("Protocol not supported", "Operation not supported")


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
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return _Output(argv, stdout, f"{' '.join(argv)} crashed ({name})")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = stderr[-1] if stderr else "no message"
        return _Output(
            argv, stdout, f"{' '.join(argv)} exited {done.returncode}: {_clip(reason, 160)}"
        )
    return _Output(argv, stdout)


def _nft_list(tool_root: str | None) -> tuple[str, ...]:
    """``nft -j list ruleset``, with the root's own ``nft`` where the target names one."""
    if tool_root and any((Path(tool_root) / d / "nft").exists() for d in ("usr/sbin", "sbin")):
        return ("chroot", tool_root, *NFT_LIST)
    return NFT_LIST


async def _read_all(
    ns: Netns, deadline: float, where: str, tool_root: str | None
) -> tuple[_Output, _Output, _Output]:
    """The three reads side by side, each in a thread inside the namespace: a small firewall
    takes milliseconds, a big one seconds (10,000 rules: nft -j about 2 s on a busy machine)."""
    version = await ns.run(functools.partial(_run_tool, IP6TABLES_VERSION, deadline, where))
    copies = "nf_tables" in version.stdout  # then nft's ip6 filter, nat… are ip6tables-save's
    reads = (
        functools.partial(_run_tool, IP6TABLES_SAVE, deadline, where),
        functools.partial(_read_nft, _nft_list(tool_root), deadline, where, copies=copies),
    )
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(ns.run(read)) for read in reads]
    except ExceptionGroup as failed:  # the first read's failure, as one read would raise it
        raise failed.exceptions[0] from None
    save, nft = (task.result() for task in tasks)
    return version, save, nft


def _read_nft(argv: tuple[str, ...], deadline: float, where: str, *, copies: bool) -> _Output:
    """``nft -j list ruleset``; where ip6tables is iptables-nft, the same less the rules of its
    copies (judged from ip6tables-save; 10,000 of them cost nft seconds to print): the chains
    of every table (``list chains``), then each other ip6 / inet table with a chain whole
    (``list table``), as one document. Output that is not nft's JSON is handed on as it is, for
    the reader to refuse."""
    if not copies or argv[-1] != "ruleset":
        return _run_tool(argv, deadline, where)
    lister = argv[:-1]
    chains = _run_tool((*lister, "chains"), deadline, where)
    items = _nft_items(chains.stdout) if chains.failure is None else None
    if items is None:
        return chains
    whole: list[tuple[str, str]] = []
    kept: list[object] = []
    for item in items:
        head = item.get("chain") if isinstance(item, dict) else None
        if not isinstance(head, dict):
            kept.append(item)  # the metainfo
            continue
        key = (str(head.get("family")), str(head.get("table")))
        if key[0] not in NFT_FAMILIES or key in whole:
            continue
        if key[0] == "ip6" and key[1] in XTABLES_TABLES:
            kept.append(item)  # a copy: its chains, not its rules
        else:
            whole.append(key)
    for family, table in whole:
        out = _run_tool((*lister, "table", family, table), deadline, where)
        listed = _nft_items(out.stdout) if out.failure is None else None
        if listed is None:
            return out
        kept += [i for i in listed if not (isinstance(i, dict) and "metainfo" in i)]
    return _Output(argv, json.dumps({"nftables": kept}))


def _nft_items(text: str) -> list[object] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    items = document.get("nftables") if isinstance(document, dict) else None
    return items if isinstance(items, list) else None


def _not_installed(out: _Output) -> bool:
    return out.failure is not None and out.failure.endswith("is not installed")


def _nft_unreadable(nft: _Output) -> bool:
    """nft ran and failed where nftables may hold rules: a crash, an error other than the
    kernel having no nf_tables. (Not installed: nothing wrote rules with it here.)"""
    if nft.failure is None or _not_installed(nft):
        return False
    return not any(words in nft.failure for words in NO_NF_TABLES)


async def read_ruleset(
    ns: Netns, *, timeout: float, tool_root: str | None = None, parse_by: Deadline | None = None
) -> Ruleset:
    """Read ip6tables and nftables as ``ns`` sees them; change nothing.

    ``tool_root`` is a root whose ``nft`` wrote the rules (a lab's dockerd runs from one); its
    ``nft`` reads them, chrooted, in ``ns``. A missing tool is recorded in ``Ruleset.unread``;
    when neither view could be read or parsed, when either tool ran and failed or gave what is
    not its dump, or time runs out (``timeout`` for the tools, ``parse_by`` — by default
    ``JUDGE_TIMEOUT`` from when they are done — for parsing), ``FirewallUnreadable`` says why.
    """
    where = str(ns)
    deadline = time.monotonic() + timeout
    try:
        async with asyncio.timeout(timeout):
            version, save, nft = await _read_all(ns, deadline, where, tool_root)
    except TimeoutError as exc:
        raise FirewallUnreadable(where, f"reading the firewall took over {timeout:g}s") from exc
    parse_by = parse_by or Deadline.after(JUDGE_TIMEOUT)
    return await asyncio.to_thread(combine, where, version, save, nft, parse_by)


def combine(
    where: str, version: _Output, save: _Output, nft: _Output, deadline: Deadline
) -> Ruleset:
    """The two views as read, parsed; ``FirewallUnreadable`` when one that may hold rules could
    not be read (see the module's doc)."""
    unread = [out.failure for out in (save, nft) if out.failure]
    if save.failure and nft.failure:
        raise FirewallUnreadable(where, "; ".join(unread))
    if _nft_unreadable(nft):
        raise FirewallUnreadable(where, f"nftables could not be read: {nft.failure}")
    if save.failure and not _not_installed(save):
        raise FirewallUnreadable(
            where,
            f"ip6tables could not be read: {save.failure} (nftables alone does not show "
            "ip6tables-legacy rules)",
        )
    ruleset = Ruleset.parse(
        ip6tables_save=None if save.failure else save.stdout,
        nft_json=None if nft.failure else nft.stdout,
        ip6tables_version=version.stdout,
        unread=[u for u in unread if u],
        deadline=deadline,
    )
    if ruleset.ip6tables is None and ruleset.nft is None:  # nothing to judge is no pass
        raise FirewallUnreadable(where, "; ".join(ruleset.unread))
    if nft.failure is None and ruleset.nft is None:
        said = next((u for u in ruleset.unread if u.startswith("nft:")), "not its JSON")
        raise FirewallUnreadable(where, f"nftables could not be read: {said}")
    if save.failure is None and ruleset.ip6tables is None:
        said = next((u for u in ruleset.unread if u.startswith("ip6tables-save:")), "")
        raise FirewallUnreadable(
            where,
            f"ip6tables could not be read: {said or 'not its dump'} (nftables alone does not "
            "show ip6tables-legacy rules)",
        )
    return ruleset
