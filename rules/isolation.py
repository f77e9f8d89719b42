"""Isolated networks: a network created ``--internal`` (compose's ``internal: true``) is cut off
from everything beyond the host on purpose. What needs the outside does not apply there: it is
not observed, with that reason, never a failure, and no fix would open it. What works inside
the host (the gateway, the containers' addresses) is judged as anywhere else."""

from __future__ import annotations

from probes.docker import NetworkInfo
from rules.judgement import Judgement, not_observed


def isolated(network: NetworkInfo, what: str) -> Judgement | None:
    """Not observed where ``network`` is internal (``what`` needs the outside); else None."""
    if not network.internal:
        return None
    return not_observed(
        f"{network.name} is internal (--internal): it is isolated from beyond the host on "
        f"purpose, so {what} does not apply"
    )
