"""nft's JSON shown as nft's own text, for evidence (``ip6 saddr 2001:db8::/48 drop``): the
reader (probes.firewall._nft) keeps each rule's words this way; how an expression is read is
there, how it is shown is here."""

from __future__ import annotations

import json
from collections.abc import Mapping

from probes.firewall._model import MAX_NESTING


def _nft_expr(expr: object) -> tuple[str, Mapping[str, object]]:
    if isinstance(expr, dict) and len(expr) == 1:
        ((kind, inner),) = expr.items()
        return str(kind), inner if isinstance(inner, dict) else {}
    return "?", {}


# NAT statements end a rule like a verdict does; named as iptables names the same targets, so
# that ``masquerade`` and iptables-nft's ``xt target MASQUERADE`` read alike.
NFT_NAT_STATEMENTS = {
    "masquerade": "MASQUERADE",
    "snat": "SNAT",
    "dnat": "DNAT",
    "redirect": "REDIRECT",
}


def _render_nft(expr: object) -> str:
    """nft-like text for one expression, for evidence (``ip6 saddr 2001:db8::/48 drop``)."""
    kind, inner = _nft_expr(expr)
    if kind == "match":
        op = inner.get("op", "==")
        left_expr = inner.get("left")
        binary = isinstance(left_expr, dict) and "&" in left_expr  # nft shows == then
        shown_op = "" if op in ("==", "in") and not binary else f"{op} "
        left = _render_nft_value(inner.get("left"))
        quote = left in ("iifname", "oifname", "iif", "oif")
        return f"{left} {shown_op}{_render_nft_value(inner.get('right'), quote=quote)}"
    if kind in ("jump", "goto"):
        return f"{kind} {inner.get('target')}"
    if kind in ("accept", "drop", "reject", "return", "continue", "counter", "notrack"):
        return kind
    if kind == "log" and inner.get("prefix"):
        return f'log prefix "{inner.get("prefix")}"'
    if kind == "xt":
        return f"xt {inner.get('type')} {inner.get('name')}"
    if kind == "limit":
        return f"limit rate {inner.get('rate')}/{inner.get('per')}"
    if kind in NFT_NAT_STATEMENTS:
        return _render_nft_nat(kind, inner)
    if kind == "vmap":
        left = _render_nft_value(inner.get("key"))
        return f"{left} vmap {_render_nft_map(inner.get('data'), quote=left.endswith('ifname'))}"
    return json.dumps(expr, separators=(",", ":"))


def _render_nft_nat(kind: str, inner: Mapping[str, object]) -> str:
    """``masquerade``, ``snat ip6 to 2001:db8::1``, with flags (``random``) where given."""
    parts = [kind]
    if inner.get("family") in ("ip", "ip6"):
        parts.append(str(inner.get("family")))
    if inner.get("addr") is not None:
        target = _render_nft_value(inner.get("addr"))
        if inner.get("port") is not None:
            target += f" port {_render_nft_value(inner.get('port'))}"
        parts.append(f"to {target}")
    flags = inner.get("flags")
    if flags:
        parts.append(",".join(str(f) for f in flags) if isinstance(flags, list) else str(flags))
    return " ".join(parts)


def _render_nft_map(data: object, *, quote: bool) -> str:
    if isinstance(data, dict) and isinstance(data.get("set"), list):
        shown = [
            f"{_render_nft_value(e[0], quote=quote)} : {_render_nft(e[1])}"
            if isinstance(e, list) and len(e) == 2
            else _render_nft_value(e)
            for e in data["set"]
        ]
        return "{ " + ", ".join(shown) + " }"
    return _render_nft_value(data)


def _render_nft_value(value: object, *, quote: bool = False, depth: int = 0) -> str:
    if depth > MAX_NESTING:
        return "…"
    inner_depth = depth + 1
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "payload" and isinstance(inner, dict):
            return f"{inner.get('protocol')} {inner.get('field')}"
        if kind in ("&", "|") and isinstance(inner, list) and len(inner) == 2:
            first, second = inner  # tcp flags & (fin | syn | rst | ack)
            mask = (
                " | ".join(_render_nft_value(v, depth=inner_depth) for v in second)
                if isinstance(second, list)
                else _render_nft_value(second, depth=inner_depth)
            )
            return f"{_render_nft_value(first, depth=inner_depth)} {kind} ({mask})"
        if kind == "meta" and isinstance(inner, dict):
            key = inner.get("key")
            return str(key) if key in ("iifname", "oifname", "iif", "oif") else f"meta {key}"
        if kind == "ct" and isinstance(inner, dict):
            return f"ct {inner.get('key')}"
        if kind == "prefix" and isinstance(inner, dict):
            return f"{inner.get('addr')}/{inner.get('len')}"
        if kind == "set" and isinstance(inner, list):
            return (
                "{ "
                + ", ".join(_render_nft_value(v, quote=quote, depth=inner_depth) for v in inner)
                + " }"
            )
        if kind == "range" and isinstance(inner, list):
            return "-".join(_render_nft_value(v, quote=quote, depth=inner_depth) for v in inner)
    if isinstance(value, list):
        return ",".join(_render_nft_value(v, quote=quote, depth=inner_depth) for v in value)
    if isinstance(value, str) and quote and not value.startswith("@"):
        return json.dumps(value)
    return str(value)
