"""RT-04: does a host firewall rule drop forwarded IPv6 container traffic? And RT-06's half:
is a container subnet masqueraded (NAT66) on its way out?

Routed IPv6 (no NAT) only works when the host's FORWARD path lets container packets through.
Docker writes ip6tables rules only with ``--ip6tables`` (default since 27), so a host firewall
with ``policy DROP`` or a stray rule silently eats container traffic while IPv4 works.

We read the rules as text (``ip6tables-save``, ``nft -j list ruleset``), model one packet of
each traffic class containers need (their own ICMPv6 echo, TCP and UDP, the replies, the ICMPv6
errors that come back for them, echo from outside) to and from each of the profile's anchors,
and walk the forward-hook chains as the kernel would, so a rule that drops only container TCP,
DNS replies or Packet Too Big is seen. The walk is three-valued: a match we do not understand
neither matches nor fails, so a drop reached past such a rule is reported as doubtful, never as
proven. The same packets cross the raw stage first (ip6tables' raw PREROUTING, nft prerouting
chains before conntrack), where Docker 28+ drops traffic from outside addressed directly to a
nat-mode network's containers, one rule per container; inbound ones are walked there only where
they come addressed to the containers (the network not masqueraded), each address a rule singles
out with packets of its own. The NAT search walks the nat chains on the postrouting hook the same
way, with one outbound packet, looking for MASQUERADE / SNAT.

One private module per concern; import from the package:

- ``_model``: the packets we model, the matches (True / False / None), rules, chains, tables;
- ``_ip6tables``, ``_nft``: the two readers (``ip6tables-save``, ``nft -j list ruleset``);
- ``_ruleset``: both views as read, and what could not be read;
- ``_walk``: the one chain walker, which the forward walk (``_forward``, RT-04) and the NAT
  search (``_nat``, RT-06) both use, each saying what it looks for; linear in the rule set
  for each packet (each chain walked once per class of packets it treats alike), under one
  ``Deadline`` per judgement;
- ``_reads``: which packet fields each chain's outcome depends on (what makes packets alike);
- ``_docker``: Docker's own chains and tables, recognised in one place;
- ``_read``: reading them from a namespace.
"""

from probes.firewall._docker import (
    CHAIN_PREFIX,
    DIRECT_ACCESS_COMMENT,
    NFT_TABLE,
    SITE_CHAIN,
    TRUSTED_HOST_INTERFACES,
    direct_access_rule,
    firewall_backend,
    site_chain,
    unpublished_ports_drop,
    written_by_docker,
)
from probes.firewall._forward import (
    DIRECT_UNKNOWN,
    INBOUND_NEW_LEFT_OUT,
    MAX_CARVED,
    OUTSIDE,
    Drop,
    ForwardAssessment,
    assess_forward,
    dropped_traffic,
    drops_diagnosis,
    forward_drops,
    traffic_phrase,
)
from probes.firewall._ip6tables import (
    BUILTIN_TARGETS,
    NON_TERMINATING_TARGETS,
    Ip6tablesSave,
    parse_ip6tables_save,
)
from probes.firewall._model import (
    DNS,
    EPHEMERAL,
    HTTPS,
    ICMPV6_CODES,
    ICMPV6_NAMES,
    ICMPV6_TYPES,
    INTERNET,
    MAX_NESTING,
    PROTOCOL_NAMES,
    RAW_STAGE,
    SERVICES,
    TCP_FLAGS,
    Action,
    ActionKind,
    AddressMatch,
    Chain,
    CtState,
    FamilyMatch,
    FirewallUnreadable,
    IcmpCodeMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    Match,
    NeverMatch,
    Packet,
    PortMatch,
    Ports,
    ProtocolMatch,
    Rule,
    StateMatch,
    Table,
    TcpFlagsMatch,
    Transport,
    Tri,
    UnknownMatch,
)
from probes.firewall._nat import (
    SNAT_TARGETS,
    NatFinding,
    NatRule,
    find_masquerade,
)
from probes.firewall._nft import (
    NFT_FAMILIES,
    NFT_PASSIVE,
    NFT_VERDICTS,
    NftRuleset,
    parse_nft_json,
)
from probes.firewall._nft_text import NFT_NAT_STATEMENTS
from probes.firewall._read import (
    READ_TIMEOUT,
    read_ruleset,
)
from probes.firewall._ruleset import (
    XTABLES_TABLES,
    Ruleset,
)
from probes.firewall._walk import (
    JUDGE_TIMEOUT,
    Deadline,
)

__all__ = [
    "BUILTIN_TARGETS",
    "CHAIN_PREFIX",
    "DIRECT_ACCESS_COMMENT",
    "DIRECT_UNKNOWN",
    "DNS",
    "EPHEMERAL",
    "HTTPS",
    "ICMPV6_CODES",
    "ICMPV6_NAMES",
    "ICMPV6_TYPES",
    "INBOUND_NEW_LEFT_OUT",
    "INTERNET",
    "JUDGE_TIMEOUT",
    "MAX_CARVED",
    "MAX_NESTING",
    "NFT_FAMILIES",
    "NFT_NAT_STATEMENTS",
    "NFT_PASSIVE",
    "NFT_TABLE",
    "NFT_VERDICTS",
    "NON_TERMINATING_TARGETS",
    "OUTSIDE",
    "PROTOCOL_NAMES",
    "RAW_STAGE",
    "READ_TIMEOUT",
    "SERVICES",
    "SITE_CHAIN",
    "SNAT_TARGETS",
    "TCP_FLAGS",
    "TRUSTED_HOST_INTERFACES",
    "XTABLES_TABLES",
    "Action",
    "ActionKind",
    "AddressMatch",
    "Chain",
    "CtState",
    "Deadline",
    "Drop",
    "FamilyMatch",
    "FirewallUnreadable",
    "ForwardAssessment",
    "IcmpCodeMatch",
    "IcmpTypeMatch",
    "InterfaceMatch",
    "Ip6tablesSave",
    "Match",
    "NatFinding",
    "NatRule",
    "NeverMatch",
    "NftRuleset",
    "Packet",
    "PortMatch",
    "Ports",
    "ProtocolMatch",
    "Rule",
    "Ruleset",
    "StateMatch",
    "Table",
    "TcpFlagsMatch",
    "Transport",
    "Tri",
    "UnknownMatch",
    "assess_forward",
    "direct_access_rule",
    "dropped_traffic",
    "drops_diagnosis",
    "find_masquerade",
    "firewall_backend",
    "forward_drops",
    "parse_ip6tables_save",
    "parse_nft_json",
    "read_ruleset",
    "site_chain",
    "traffic_phrase",
    "unpublished_ports_drop",
    "written_by_docker",
]
