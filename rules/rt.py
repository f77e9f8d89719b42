"""Judgement of the routed-prefix checks RT-01, RT-02, RT-04 and RT-05: pure functions over
what the probes saw (sysctls, echoes, the uplink capture, the firewall walk), each returning a
Judgement. RT-03's is rules.rt_prefix.judge_prefix, RT-06's rules.rt_mode.judge_mode."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence

from probes import icmp6
from probes.capture import Frame
from probes.docker import DaemonInfo, NetworkInfo
from probes.firewall import (
    SITE_CHAIN,
    Drop,
    ForwardAssessment,
    dropped_traffic,
    drops_diagnosis,
)
from probes.netmode import Ipv6Mode
from probes.sysctl import ForwardingState, accept_ra_trap
from rules.judgement import Fix, Judgement, fact, failed, not_observed, passed

TROUBLESHOOT = (
    "see RT-01 (forwarding), RT-03 (is the prefix routed to this host?) and RT-04 (firewall)"
)


def judge_forwarding(
    state: ForwardingState,
    *,
    uplink: str | None,
    default_routes: Sequence[str],
    default_protocols: Sequence[str],
) -> Judgement:
    """RT-01: IPv6 forwarding is on; an uplink that learns its default route from RAs has
    accept_ra=2 (with forwarding on, 1 makes the kernel ignore RAs)."""
    evidence = (
        *state.lines(),
        "IPv6 default routes:",
        *(f"  {r}" for r in default_routes or ["(none)"]),
    )
    if state.forwarding != "1":
        # with forwarding on, an uplink at accept_ra 1 would drop the RAs its route comes from
        forwarding_on = dataclasses.replace(state, forwarding="1", uplink_forwarding="1")
        keep_ra = uplink is not None and accept_ra_trap(forwarding_on, [*default_protocols])
        commands = (
            *([f"sysctl -w net.ipv6.conf.{uplink}.accept_ra=2"] if keep_ra else []),
            "sysctl -w net.ipv6.conf.all.forwarding=1",
        )
        return failed(
            f"IPv6 forwarding is off on this host (net.ipv6.conf.all.forwarding = "
            f"{state.forwarding}): containers' packets are not routed beyond the bridge",
            evidence,
            fix=Fix(
                "turn IPv6 forwarding on: "
                + (
                    f"first accept_ra=2 on {uplink}, whose default route comes from RAs (with "
                    "forwarding on, 1 ignores them), then "
                    if keep_ra
                    else ""
                )
                + "net.ipv6.conf.all.forwarding=1, and persist both in /etc/sysctl.d/",
                commands,
            ),
            hop="host",
            breaks=(fact("sysctl", "net.ipv6.conf.all.forwarding"), fact("path", "*")),
        )
    if uplink is None or state.uplink_accept_ra is None:
        return passed("IPv6 forwarding is on (no uplink to judge accept_ra on)", evidence)
    trap = accept_ra_trap(state, list(default_protocols))
    if trap is not None:
        return failed(
            trap,
            evidence,
            fix=Fix(
                f"accept_ra=2 on {uplink} (with forwarding on, 1 drops RAs), persisted in "
                "/etc/sysctl.d/, or a static default route",
                (f"sysctl -w net.ipv6.conf.{uplink}.accept_ra=2",),
            ),
            hop="host",
            # the default route learnt from RAs goes: nothing is forwarded beyond the uplink
            breaks=(fact("sysctl", f"net.ipv6.conf.{uplink}.accept_ra"), fact("path", "*")),
        )
    return passed(f"IPv6 forwarding is on; accept_ra on {uplink} fits its routes", evidence)


def broken_hop(
    frames: Sequence[Frame], *, watched: bool, container: str, outbound: bool
) -> str | None:
    """Where the uplink capture says an echo stopped: the host (it never left, or its answer
    came back and went no further) or beyond the uplink (it left and nothing came back).
    ``outbound``: the container asked (RT-02); else the far end asked the container (RT-05).
    ``watched``: the uplink was captured (else nothing can be said)."""
    if not watched:
        return None
    seen = {
        (f.outgoing, f.message.type, f.src if f.outgoing else f.dst)
        for f in frames
        if isinstance(f.message, icmp6.Echo)
    }  # (sent by the host, echo type, the container's end)
    ask, answer = icmp6.ECHO_REQUEST, icmp6.ECHO_REPLY
    if outbound:
        left, came = (True, ask, container) in seen, (False, answer, container) in seen
        return "host" if not left or came else "upstream"
    came = (False, ask, container) in seen
    left = (True, answer, container) in seen
    return "upstream" if not came or left else "host"


def judge_anchors(
    results: Sequence[icmp6.EchoResult],
    *,
    source: str,
    container: str,
    capture: Sequence[str],
    hop: str | None,
) -> Judgement:
    """RT-02: every anchor answers echo from the container's global address. ``capture``: the
    uplink's frames, described; ``hop``: where the capture says the echoes stopped."""
    silent = [r for r in results if not r.answered]
    evidence = tuple(line for r in results for line in (f"[{r.target}]", *r.evidence)) + tuple(
        capture
    )
    if not silent:
        return passed(f"every anchor answered {source}", evidence)
    why = "; ".join(f"{r.target}: {r.error or 'no reply'}" for r in silent)
    # the container's own kernel would not send them (no route, unreachable network): nothing
    # left the container, whatever the uplink saw
    unsent = all((r.error or "").startswith("not sent") for r in silent)
    return failed(
        f"from {source} (container {container}) {len(silent)} of {len(results)} anchors did "
        f"not answer: {why}",
        evidence,
        fix=(
            "the container's kernel refused to send: see GW-02 (its address and default route) "
            "for this container"
            if unsent
            else TROUBLESHOOT
        ),
        hop="container" if unsent else hop,
    )


def judge_far_end(
    result: icmp6.EchoResult,
    *,
    far_end: str,
    source: str,
    container: str,
    hop: str | None,
    dropped_by: Sequence[Drop] = (),
    network: NetworkInfo | None = None,
    docker: str = "",
) -> Judgement:
    """RT-05: the far end reaches the container's global address directly. ``dropped_by``:
    the host's firewall rules that drop an echo from outside to ``source`` (the forward walk's
    proven drops of it, Docker 28+'s direct-access drop before conntrack among them), which
    explain a failure."""
    if result.answered:
        return passed(f"the far end ({far_end}) reached {source}", result.evidence)
    reason = (
        f"the far end ({far_end}) cannot reach container {container} at {source}: "
        f"{result.error or 'no reply'}"
    )
    fix = (
        "the container prefix must be routed to this host (or ND-proxied on the uplink): "
        "see RT-03; and forwarded by it: RT-01, RT-04"
    )
    if not dropped_by:
        return failed(reason, result.evidence, fix=fix, hop=hop)
    first = dropped_by[0]
    reason += f"; the host's firewall drops it: {first.source} {first.table} {first.chain}: "
    reason += f"`{first.rule}`"
    if first.raw_stage and first.by_docker and network is not None:
        reason += " (Docker's direct-access drop of a network in gateway mode nat)"
        fix = direct_access_fix(network, _major(docker))
    else:
        fix = f"see RT-04: {first.removal() if not first.is_policy else first.rule}"
    evidence = (*(d.describe() for d in dropped_by), *result.evidence)
    rules = [fact("rule", f"{d.source} {d.table} {d.chain}: {d.rule}") for d in dropped_by]
    return failed(reason, evidence, fix=fix, hop="host", breaks=tuple(dict.fromkeys(rules)))


def judge_firewall(
    verdict: ForwardAssessment,
    *,
    network: NetworkInfo,
    mode: Ipv6Mode | None,
    uplink: str | None,
    docker: str,
    ip6tables_text: str = "",
    site_chain: str = SITE_CHAIN,
    backend: str | None = None,
) -> Judgement:
    """RT-04: no forward rule or policy drops the traffic the network's mode needs. A drop that
    depends on a rule we could not evaluate is no verdict either way (not-observed).
    ``site_chain`` is where the host takes a site's own ip6tables rule before Docker's
    (``probes.firewall.site_chain``), ``backend`` Docker's firewall backend as it says."""
    evidence = [*(mode.evidence() if mode else ()), "modelled packets (one per traffic class):"]
    evidence += [f"  {p}" for p in verdict.packets]
    evidence += [f"not modelled: {why}" for why in verdict.left_out]
    evidence += [f"read: {what}" for what in verdict.problems + verdict.skipped]
    evidence += [f"not evaluated: {u}" for u in verdict.uncertain]
    if verdict.drops:
        if ip6tables_text:
            lines = ip6tables_text.splitlines()
            evidence += ["ip6tables-save (as read):", *(f"  {line}" for line in lines[:60])]
        on = f"{network.name} ({', '.join(network.subnets6)})"
        return failed(
            drops_diagnosis(verdict.drops, on),
            (*(d.describe() for d in verdict.drops), *evidence),
            fix=forward_fix(verdict.drops, network, uplink, docker, site_chain, backend),
            hop="host",
            breaks=drop_facts(verdict.drops, network.name),
        )
    if verdict.doubtful_more:
        evidence.append(f"… and {verdict.doubtful_more} more doubtful drops, not listed")
    if verdict.doubtful:
        return not_observed(
            "cannot decide: " + "; ".join(d.describe() for d in verdict.doubtful[:3]),
            tuple(evidence),
        )
    return passed(f"no rule or policy drops {network.name}'s traffic", tuple(evidence))


def drop_facts(drops: Sequence[Drop], network: str) -> tuple[str, ...]:
    """What the drops break: each dropping rule or policy (one fault, whichever network it
    drops), and for the network the traffic it loses: its path out and back (new outbound
    traffic or the replies), the way in (inbound new), the ICMPv6 errors (related)."""
    rules = [fact("rule", f"{d.source} {d.table} {d.chain}: {d.rule}") for d in drops]
    kinds = []
    for d in drops:
        if d.direction == "outbound" or d.state == "established":
            kinds.append("path")
        elif d.state == "new":
            kinds.append("inbound")
        else:
            kinds.append("icmp-errors")
    return tuple(dict.fromkeys([*rules, *(fact(k, network) for k in kinds)]))


def forward_fix(
    drops: tuple[Drop, ...],
    network: NetworkInfo,
    uplink: str | None,
    docker: str,
    site_chain: str = SITE_CHAIN,
    backend: str | None = None,
) -> Fix:
    """What to change for each traffic class dropped, never wider than that traffic: no rule
    that accepts every new connection to the bridge (it would open every container port).
    An ip6tables ACCEPT goes into ``site_chain``: DOCKER-USER where Docker made it, FORWARD
    where it did not (its nftables backend makes none)."""
    bridge, up = network.bridge, uplink or "UPLINK"
    # accepts answer the forward hook's drops (the raw stage's, none can)
    first = next((d for d in drops if not d.raw_stage), drops[0])
    in_firewalld = firewalld_policy_fix(drops, first, docker, backend)
    if in_firewalld is not None:
        return in_firewalld
    source = first.source
    commands: list[str] = []

    def accept(ipt: str, nft: str) -> str:
        """One ACCEPT, in the tool and the place that can let the packet past the drop: an
        nftables drop is final whatever another table accepts, so its own chain, first. The
        command is kept (``commands``) where the uplink is known: nothing is run with a
        placeholder in it."""
        if source == "ip6tables":
            command = f"ip6tables -I {site_chain} {ipt} -j ACCEPT"
        else:
            command = "nft " + shlex.quote(f"insert rule {first.table} {first.chain} {nft} accept")
        if uplink is not None and command not in commands:
            commands.append(command)
        return f"`{command}`"

    # What the raw stage drops no ACCEPT on the forward hook lets past: only the forward
    # hook's drops are answered with accepts, class by class.
    classes = dropped_traffic([d for d in drops if not d.raw_stage])
    dropped = {" ".join(c.split()[:2]) for c in classes}  # "outbound new", "inbound related"…
    fixes = []
    by_rule = {(d.source, d.table, d.chain, d.rule): d for d in drops}  # one line per rule
    for rule in (d for d in by_rule.values() if not d.is_policy and not d.by_docker):
        before = "an ACCEPT met after it cannot undo it"
        if rule.raw_stage:
            before = "it drops before conntrack, so no ACCEPT in a forward chain can undo it"
        fixes.append(
            f"`{rule.rule}` ({rule.source} {rule.table} {rule.chain}) is not Docker's: delete "
            f"it if it is not meant to drop this traffic ({rule.removal()}) or narrow it; "
            f"{before}"
        )
    for policy in (d for d in by_rule.values() if d.is_policy and d.raw_stage):
        fixes.append(
            f"the {policy.source} {policy.table} {policy.chain} {policy.rule} drops all traffic "
            "before conntrack: set it back to accept"
            + (" (`ip6tables -t raw -P PREROUTING ACCEPT`)" if policy.source == "ip6tables" else "")
        )
    if any(d.raw_stage and d.by_docker for d in drops):  # Docker's: it writes it again
        fixes.append(direct_access_fix(network, _major(docker)))
    if "outbound new" in dropped:
        fixes.append(
            "let the containers' own connections out: "
            + accept(f"-i {bridge} -o {up}", f'iifname "{bridge}" oifname "{up}"')
        )
    if "inbound established" in dropped:
        also = " (RELATED: the ICMPv6 errors for them too)" if "inbound related" in dropped else ""
        fixes.append(
            "let their replies back: "
            + accept(
                f"-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED",
                f'oifname "{bridge}" ct state established,related',
            )
            + also
        )
    elif "inbound related" in dropped:
        errors = [c.split()[-1] for c in classes if c.startswith("inbound related ICMPv6 ")]
        accepts = " and ".join(
            accept(
                f"-o {bridge} -p ipv6-icmp --icmpv6-type {name} -m conntrack --ctstate RELATED",
                f'oifname "{bridge}" icmpv6 type {name} ct state related',
            )
            for name in errors
        )
        fixes.append(
            "let the ICMPv6 errors for their traffic back, only those (RFC 4890 4.3.1: a "
            "firewall must not drop them; without packet-too-big, path MTU discovery breaks): "
            f"{accepts}"
        )
    direct_access = any(d.raw_stage and d.by_docker for d in drops)
    if "inbound new" in dropped and not direct_access:  # else its fix says how to let it in
        icmp = accept(
            f"-i {up} -o {bridge} -p ipv6-icmp",
            f'iifname "{up}" oifname "{bridge}" meta l4proto ipv6-icmp',
        )
        fixes.append(_inbound_fix(network, _major(docker), icmp))
    where = f"Docker {docker}" if docker else "this Docker"
    nftables_backend = backend is not None and backend.startswith("nftables")
    if first.raw_stage:  # only the raw stage drops: no accept to place
        tail = f" ({where})"
    elif source == "ip6tables" and site_chain == SITE_CHAIN:
        tail = (
            f" (rules in DOCKER-USER survive Docker restarts; {where}: Docker makes that chain "
            "where it manages ip6tables, elsewhere use FORWARD)"
        )
    elif source == "ip6tables":
        tail = f" (in FORWARD, before the drop: this host has no DOCKER-USER chain; {where})"
    else:
        tail = f" (in the nftables chain that drops it, before the drop; {where})"
    if nftables_backend and not first.raw_stage:
        tail += (
            "; Docker's nftables backend makes no DOCKER-USER chain and its accepts are not "
            "final: a drop in another table (an ip6tables FORWARD policy too) still drops what "
            "Docker accepted, and Docker's documentation has a site put its own rules in a "
            "table of its own on the forward hook, or mark what it accepts for Docker's "
            "--bridge-accept-fwmark"
        )
    if any("conntrack" in c for c in commands) and site_chain != SITE_CHAIN and _major(docker) < 27:
        # no DOCKER-USER: Docker tracks no connections here, these rules start it
        tail += (
            "; these accepts track connections (conntrack): from then on the host reassembles "
            "the containers' fragments and sends them on at its own MTU, so where the path "
            "beyond the uplink is narrower its route needs that MTU too (PMTU-03 says so, with "
            "its command)"
        )
    persist = "; then persist the rule set"
    if backend is not None and backend.endswith("+firewalld"):
        # firewalld rewrites the firewall at every reload: a rule added beside it is lost
        persist = (
            "; firewalld manages this host's firewall (Docker says so): the commands take "
            "effect now and are gone at the next `firewall-cmd --reload`, so make the same "
            "change permanent in firewalld (Docker puts its bridges in the zone `docker`: a "
            "policy from that zone to the uplink's zone, `firewall-cmd --permanent "
            "--new-policy …`, or the uplink's zone's rich rules), then `firewall-cmd --reload`"
        )
    text = "; ".join(fixes) + tail + persist
    return Fix(text, tuple(commands), docker=docker or None, backend=backend)


FIREWALLD_TABLE = "inet firewalld"
FIREWALLD_POLICY_CHAIN = "filter_FWD_policy_"  # firewalld's forward chain of one policy


def firewalld_policy_fix(
    drops: Sequence[Drop], first: Drop, docker: str, backend: str | None
) -> Fix | None:
    """Where firewalld manages the firewall and what drops the containers' own traffic out is
    one firewalld policy's target (its chain's last rule, ``drop`` or ``reject``): the fix in
    firewalld's words, made permanent and loaded (``--reload``: firewalld writes its table
    anew, so an nft command beside it would be gone at the next reload). The target becomes
    CONTINUE: what the policy's own rules do not decide goes on to the zones, where Docker's
    zone ``docker`` (target ACCEPT) lets its bridges' traffic out; nothing inbound is opened
    (a policy from the bridges' zone carries only what comes from them). Not per network: the
    policy covers every bridge in that zone. None: not this case, the generic fix says what
    to do."""
    if backend is None or not backend.endswith("+firewalld") or first.raw_stage:
        return None
    if first.table != FIREWALLD_TABLE or not first.chain.startswith(FIREWALLD_POLICY_CHAIN):
        return None
    policy = first.chain.removeprefix(FIREWALLD_POLICY_CHAIN)
    forward = [d for d in drops if not d.raw_stage]
    if any(
        (d.table, d.chain) != (first.table, first.chain)
        or d.direction != "outbound"
        or d.rule.split()[0] not in ("drop", "reject")
        for d in forward
    ):
        return None  # another chain, a rich rule of the policy's, or traffic coming in
    commands = (
        f"firewall-cmd --permanent --policy={shlex.quote(policy)} --set-target=CONTINUE",
        "firewall-cmd --reload",
    )
    where = f"Docker {docker}" if docker else "this Docker"
    text = (
        f"firewalld's policy {policy} ends in `{first.rule}` ({first.table} {first.chain}), "
        "and so drops the containers' own connections out (its ingress zone holds their "
        "bridges: Docker puts them in the zone `docker`), of both families: let what the "
        "policy's own rules do not decide go on to the zones (the zone `docker` lets its "
        f"bridges' traffic out, as on a healthy host): `{commands[0]}`, then `{commands[1]}` "
        "(permanent, so a reload keeps it; the policy's services and rich rules still apply), "
        f"or remove the policy if it is not meant to be (`firewall-cmd --permanent "
        f"--delete-policy={policy}`; {where}, firewall backend {backend})"
    )
    return Fix(text, commands, docker=docker or None, backend=backend)


def _major(docker: str) -> int:
    return DaemonInfo(docker, "").major if docker else 0


GATEWAY_MODE = "com.docker.network.bridge.gateway_mode_ipv6"


def _inbound_fix(network: NetworkInfo, major: int, icmp: str) -> str:
    """How to let in what the site serves from outside, and nothing more, on this Docker: its
    gateway modes (routed from 27, nat-unprotected from 28), else accepts of the site's own."""
    head = "for connections from outside, open only what the site serves: "
    own = f"accept ICMPv6 ({icmp}) and each service port (`-p tcp --dport PORT`), not all traffic"
    create = f"`docker network create --ipv6 -o {GATEWAY_MODE}=routed … {network.name}`"
    mode = network.options.get(GATEWAY_MODE)
    if 0 < major < 27:
        return head + f"Docker {major} has no gateway modes: {own}"
    if major >= 27 and mode in ("routed", "nat-unprotected"):
        return (
            head + f"{network.name} is in gateway mode {mode} already (Docker lets in ICMPv6 "
            "and published ports there): the drop above is the host's own; before it, " + own
        )
    if major >= 27:
        since = f"Docker {major}" if major else "Docker 27+"
        modes = (
            f"recreate {network.name} in gateway mode routed ({create}; the mode is fixed when "
            "a network is created), where Docker lets in ICMPv6 and published ports only, and "
            "publish the service ports (`-p`)"
        )
        if major >= 28:
            modes += (
                f" (gateway mode nat-unprotected, {since}, keeps NAT and lets every port of "
                "every container be reached directly: wider)"
            )
        return head + f"on {since} " + modes + f"; with ip6tables off, {own}"
    return (
        head + f"on Docker 27 and later recreate the network in gateway mode routed ({create}: "
        "ICMPv6 and published ports only) and publish the service ports (`-p`); on Docker 26 "
        f"and older (no gateway modes), or with ip6tables off, {own}"
    )


def direct_access_fix(network: NetworkInfo, major: int) -> str:
    """Docker 28+ drops traffic from outside addressed to the containers of a network in
    gateway mode nat, before conntrack (and so the replies to their own connections too,
    where it is not masqueraded): what Docker offers to let it in."""
    since = f"Docker {major}" if major else "Docker 28+"
    return (
        f"{since} drops traffic from outside addressed directly to {network.name}'s containers "
        "(gateway mode nat's protection, in raw PREROUTING before conntrack: without "
        "masquerade, the replies to their own connections too); to let it in, recreate "
        f"{network.name} in gateway mode routed (`-o {GATEWAY_MODE}=routed`: ICMPv6 and "
        "published ports only) or nat-unprotected, or name the interfaces it comes in by "
        "(`-o com.docker.network.bridge.trusted_host_interfaces=IF1:IF2`), or set "
        '"allow-direct-routing": true in /etc/docker/daemon.json (every network); deleting '
        "the rule does not last: Docker writes it again"
    )
