"""Malformed firewall dumps, for the readers' fuzz test and ``bench/firewall_scale.py --fuzz``:
seeded random mutations of real dumps (lines and tokens for ``ip6tables-save``, values and
shapes for ``nft -j``) and dumps of random tokens. Pure functions of a ``random.Random``; the
caller gives the real dumps to mutate.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator, Sequence

FUZZ_SEED = 31

# Words ip6tables-save prints, and words it never would.
_SAVE_TOKENS = (
    "*filter", "*nat", "*mangle", "COMMIT", ":FORWARD", ":DOCKER", "ACCEPT", "DROP", "-", "[0:0]",
    "[", "]", "-A", "FORWARD", "DOCKER-USER", "-j", "-g", "--goto", "-m", "-p", "-s", "-d", "-i",
    "-o", "!", "tcp", "udp", "ipv6-icmp", "--dport", "--sport", "--dports", "1:2", "65536", "-1",
    "::", "2001:db8::/129", "fe80::%eth0/64", "--icmpv6-type", "2/", "/4", "255/255", "--ctstate",
    "NEW,,", "--tcp-flags", "ALL", "--syn", "--comment", '"', "'", "\\", "#", "\x00", "\ufeff",
    "\u202e", "é", "multiport", "conntrack", "set", "--match-set", "MASQUERADE", "RETURN",
    "--to-source", "[1:2", "]]", "-c", "99999999999999999999", "0x", "+", "eth+", "-A FORWARD",
    "²", "1:²", "²/0", "1/²", "١٢", "--icmpv6-type ²", "--dport ²", "-p tcp --dport",
)  # fmt: skip
# Values a JSON field may hold that nft never prints there.
_JSON_VALUES: tuple[object, ...] = (
    None, True, False, 0, -1, 2**64, 1.5, "", "@", "@missing", "x" * 300, "2001:db8::/200",
    "\ud800", [], [[]], {}, {"set": None}, {"set": [1, [2]]}, {"range": [5]}, {"prefix": {}},
    {"prefix": {"addr": None, "len": "x"}}, {"elem": {"val": None}}, {"&": [1]}, {"|": {}},
    {"payload": None}, {"meta": []}, {"ct": {"key": None}}, {"jump": None}, {"vmap": {}},
    {"vmap": {"key": None, "data": "@"}}, {"match": None}, {"match": {"left": {}}},
    "syn", ["fin", {"|": ["syn", 3]}], {"range": ["b", "a"]}, {"range": [9, 1]}, "²", "1/²",
    {"set": ["@blk"]}, ["@blk"], {"set": [{"set": [{"set": []}]}]},
)  # fmt: skip

# Expressions as nft prints them, for random rules to mutate.
_EXPRESSIONS: tuple[object, ...] = (
    {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "docker0"}},
    {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}},
               "right": {"prefix": {"addr": "2001:db8::", "len": 32}}}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
               "right": {"set": [53, {"range": [1024, 65535]}]}}},
    {"match": {"op": "<", "left": {"payload": {"protocol": "th", "field": "sport"}},
               "right": 1024}},
    {"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}},
                                          {"|": ["fin", "syn", "rst", "ack"]}]}, "right": "syn"}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
               "right": {"set": ["packet-too-big", "1/4", 128]}}},
    {"match": {"op": "==", "left": {"payload": {"protocol": "icmpv6", "field": "code"}},
               "right": "port-unreachable"}},
    {"vmap": {"key": {"meta": {"key": "iifname"}},
              "data": {"set": [["br-x", {"jump": {"target": "c"}}]]}}},
    {"vmap": {"key": {"meta": {"key": "oifname"}}, "data": "@m"}},
    {"xt": {"type": "target", "name": "MASQUERADE"}}, {"masquerade": {"flags": ["random"]}},
    {"snat": {"family": "ip6", "addr": "2001:db8::1", "port": 80}}, {"jump": {"target": "c"}},
    {"goto": {"target": "forward"}}, {"log": {"prefix": "x"}}, {"limit": {"rate": 1, "per": "s"}},
)  # fmt: skip


def mutate_save(rng: random.Random, text: str) -> str:
    """A real ip6tables-save dump with a few lines or tokens changed."""
    lines = text.splitlines()
    for _ in range(rng.randrange(1, 4)):
        if not lines:
            lines = [rng.choice(_SAVE_TOKENS)]
        i = rng.randrange(len(lines))
        op = rng.randrange(7)
        if op == 0:  # a token replaced, inserted or dropped
            tokens = lines[i].split(" ")
            j = rng.randrange(len(tokens))
            choice = rng.randrange(3)
            if choice == 0:
                tokens[j] = rng.choice(_SAVE_TOKENS)
            elif choice == 1:
                tokens.insert(j, rng.choice(_SAVE_TOKENS))
            else:
                del tokens[j]
            lines[i] = " ".join(tokens)
        elif op == 1:
            del lines[i]
        elif op == 2:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 3:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            cut = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:cut] + _random_chars(rng) + lines[i][cut:]
        elif op == 5:
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: rng.randrange(len(lines[-1]) + 1)]
        else:  # a chain jumping to another: loops, self-jumps, gotos
            names = [ln[1:].split(" ")[0] for ln in lines if ln.startswith(":")] or ["FORWARD"]
            jump = rng.choice(("-j", "-g"))
            lines.insert(i, f"-A {rng.choice(names)} {jump} {rng.choice(names)}")
    return "\n".join(lines) + rng.choice(("\n", "", "\r\n"))


def random_save(rng: random.Random) -> str:
    """Lines of random ip6tables-save tokens, in a table or not."""
    lines = [rng.choice(("*filter", "*nat", "# Generated by ip6tables-save", ""))]
    for _ in range(rng.randrange(1, 12)):
        lines.append(" ".join(rng.choice(_SAVE_TOKENS) for _ in range(rng.randrange(1, 10))))
    if rng.random() < 0.7:
        lines.append("COMMIT")
    return "\n".join(lines)


def mutate_nft(rng: random.Random, text: str) -> str:
    """A real ``nft -j`` dump with values swapped for ones nft never prints, objects dropped or
    copied, or its text cut or spliced."""
    if rng.random() < 0.15:
        cut = rng.randrange(len(text) + 1)
        return text[:cut] + _random_chars(rng) + text[cut + rng.randrange(4) :]
    if rng.random() < 0.05:
        return _nested(rng.randrange(10, 3000))
    document = json.loads(text)
    for _ in range(rng.randrange(1, 5)):
        _mutate_value(rng, document, depth=0)
    if rng.random() < 0.1:
        _self_referring_set(rng, document)
    return json.dumps(document, ensure_ascii=rng.random() < 0.5)


def random_nft(rng: random.Random) -> str:
    """A ``nftables`` list of random objects of the kinds nft prints, with random bodies."""
    kinds = ("table", "chain", "rule", "set", "map", "metainfo", "element", "x")
    items = []
    for _ in range(rng.randrange(1, 12)):
        body = {
            key: rng.choice(_JSON_VALUES)
            for key in rng.sample(
                ["family", "table", "name", "chain", "hook", "prio", "policy", "type", "expr",
                 "elem", "comment", "handle", "version"],
                rng.randrange(0, 8),
            )
        }  # fmt: skip
        if rng.random() < 0.7:
            body["family"] = rng.choice(("ip6", "inet"))
        if "expr" in body and rng.random() < 0.7:
            body["expr"] = [rng.choice(_JSON_VALUES) for _ in range(rng.randrange(0, 5))]
        elif "expr" in body:
            body["expr"] = [copy.deepcopy(rng.choice(_EXPRESSIONS)) for _ in range(3)]
            for _ in range(rng.randrange(0, 4)):
                _mutate_value(rng, body["expr"], depth=0)
        junk = rng.random() < 0.1
        items.append(copy.deepcopy(rng.choice(_JSON_VALUES)) if junk else {rng.choice(kinds): body})
    return json.dumps({"nftables": items})


def fuzz_inputs(
    rng: random.Random, saves: Sequence[str], nfts: Sequence[str], count: int
) -> Iterator[tuple[str, str]]:
    """``count`` (reader, text) pairs, reader "ip6tables-save" or "nft": half mutated real dumps,
    half random ones, for each reader in turn."""
    for i in range(count):
        mutated = rng.random() < 0.5
        if i % 2 == 0:
            text = mutate_save(rng, rng.choice(saves)) if mutated else random_save(rng)
            yield "ip6tables-save", text
        else:
            text = mutate_nft(rng, rng.choice(nfts)) if mutated else random_nft(rng)
            yield "nft", text


def _random_chars(rng: random.Random) -> str:
    alphabet = "\x00\t\n\r \"'\\[]{}:,!-+/#*%é\u2028\ud7ff"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 8)))


def _self_referring_set(rng: random.Random, document: object) -> None:
    """A named set whose elements name the set itself, and a rule that matches on it."""
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return
    name = rng.choice(("blk", "loop"))
    for family, table in (("inet", "filter"), ("ip6", "filter"), ("ip6", "docker-bridges")):
        items.append(
            {"set": {"family": family, "table": table, "name": name, "elem": [f"@{name}"]}}
        )
        port = {"payload": {"protocol": "tcp", "field": "dport"}}
        addr = {"payload": {"protocol": "ip6", "field": "saddr"}}
        for left in (port, addr):
            match = {"match": {"op": "==", "left": left, "right": f"@{name}"}}
            for chain in ("forward", "FORWARD", "DOCKER-USER"):
                rule = {
                    "family": family,
                    "table": table,
                    "chain": chain,
                    "expr": [match, {"drop": None}],
                }
                items.append({"rule": rule})


def _nested(depth: int) -> str:
    """A rule whose expression nests ``depth`` lists deep (as text: json.dumps would recurse)."""
    return '{"nftables": [{"rule": {"family": "inet", "expr": ' + "[" * depth + "]" * depth + "}}]}"


def _mutate_value(rng: random.Random, node: object, *, depth: int) -> None:
    """Change one value somewhere below ``node``: replace it, drop it, or copy a sibling."""
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        child = node[key]
    elif isinstance(node, list) and node:
        key = rng.randrange(len(node))
        child = node[key]
    else:
        return
    if isinstance(child, dict | list) and child and rng.random() < 0.8 and depth < 12:
        _mutate_value(rng, child, depth=depth + 1)
        return
    op = rng.randrange(4)
    if op == 0 or op == 1:
        node[key] = copy.deepcopy(rng.choice(_JSON_VALUES))  # type: ignore[index]
    elif op == 2 and isinstance(node, dict):
        del node[key]
    elif op == 2 and isinstance(node, list):
        del node[key]  # type: ignore[arg-type]
    elif isinstance(node, list):
        node.append(child)
    else:
        node[f"{key}_"] = child  # type: ignore[index]
