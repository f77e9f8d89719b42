"""What was read of a host's firewall: both views, their texts, and what could not be read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from probes.firewall._ip6tables import Ip6tablesSave, parse_ip6tables_save
from probes.firewall._model import FirewallUnreadable, OutOfTime, Table
from probes.firewall._nft import NftRuleset, parse_nft_json
from probes.firewall._walk import Deadline

# Tables iptables-nft keeps in nftables; judged through ip6tables-save, not twice.
XTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Both views of a host's firewall, the raw texts (evidence), and what could not be read."""

    ip6tables: Ip6tablesSave | None = None
    nft: NftRuleset | None = None
    ip6tables_nf_tables: bool = False  # ip6tables is iptables-nft: its tables show in nft too
    ip6tables_text: str = ""
    nft_text: str = ""
    unread: tuple[str, ...] = ()  # what could not be read, and why

    @classmethod
    def parse(
        cls,
        *,
        ip6tables_save: str | None = None,
        nft_json: str | None = None,
        ip6tables_version: str = "",
        unread: Sequence[str] = (),
        deadline: Deadline | None = None,
    ) -> Ruleset:
        """Parse whatever was read; a dump that is not what it claims goes to ``unread``. One
        not read by ``deadline`` raises ``FirewallUnreadable``: it may be sound, only big."""
        missing = list(unread)
        ip6tables = nft = None
        if ip6tables_save is not None:
            try:
                ip6tables = parse_ip6tables_save(ip6tables_save, deadline)
            except OutOfTime:
                raise
            except FirewallUnreadable as exc:
                missing.append(f"ip6tables-save: {exc.reason}")
        nf_tables = "nf_tables" in ip6tables_version or bool(ip6tables and ip6tables.nf_tables)
        # iptables-nft's copies are judged from ip6tables-save: their rules are not read twice
        # (10,000 rules: seconds of parsing for nothing)
        copies = {("ip6", t) for t in XTABLES_TABLES} if ip6tables and nf_tables else set()
        if nft_json is not None:
            try:
                nft = parse_nft_json(nft_json, deadline, copies)
            except OutOfTime:
                raise
            except FirewallUnreadable as exc:
                missing.append(f"nft: {exc.reason}")
        return cls(ip6tables, nft, nf_tables, ip6tables_save or "", nft_json or "", tuple(missing))

    def _xtables_copy(self, table: Table) -> bool:
        """An nft table that is iptables-nft's copy of an ip6tables table we already judge."""
        return (
            self.ip6tables is not None
            and self.ip6tables_nf_tables
            and table.source == "nftables"
            and table.family == "ip6"
            and table.name in XTABLES_TABLES
        )

    def tables(self) -> tuple[Table, ...]:
        """The tables to judge: ip6tables' filter and raw tables, then nftables' own tables."""
        ipt = self.ip6tables
        found = [t for t in (ipt.filter, ipt.raw) if t is not None] if ipt else []
        nft_tables = self.nft.tables if self.nft else ()
        return (*found, *(t for t in nft_tables if not self._xtables_copy(t)))

    @property
    def skipped(self) -> tuple[str, ...]:
        """nft tables left out because ip6tables-save already showed them."""
        nft_tables = self.nft.tables if self.nft else ()
        return tuple(
            f"nftables {t.label}: iptables-nft table, judged from ip6tables-save"
            for t in nft_tables
            if self._xtables_copy(t)
        )

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything that makes the picture less than complete, one line each."""
        parsed = [
            f"ip6tables-save: {p}" for p in (self.ip6tables.problems if self.ip6tables else ())
        ]
        parsed += [f"nft: {p}" for p in (self.nft.problems if self.nft else ())]
        return (*self.unread, *parsed)


def _ruleset_of(ruleset: Ruleset | Ip6tablesSave | NftRuleset) -> Ruleset:
    if isinstance(ruleset, Ip6tablesSave):
        return Ruleset(ip6tables=ruleset, ip6tables_nf_tables=ruleset.nf_tables)
    if isinstance(ruleset, NftRuleset):
        return Ruleset(nft=ruleset)
    return ruleset
