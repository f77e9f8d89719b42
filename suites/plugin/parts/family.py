"""AF-01's survey part: each IPv6 network's probe container's C library ordering the profile's
dual-stack names, and the sources its kernel picks (probes.family)."""

from __future__ import annotations

import asyncio

from probes import family
from probes.errors import HarnessError
from suites.plugin.keys import FAMILY_ORDERS, SITE_PART
from suites.plugin.site import Site, caught
from suites.plugin.survey import Survey, surveyed


@surveyed(FAMILY_ORDERS)
async def family_orders(survey: Survey) -> dict[str, family.FamilyReport | HarnessError]:
    """Every IPv6 network's probe container, all at once (none without names to ask)."""
    profile = survey.target.profile
    names = profile.family_names()
    if not names:
        return {}
    # a lookup gets the longer of the probe timeout and the resolve threshold: what is still
    # resolving then is reported as such, not judged
    deadline = max(profile.timeout, profile.resolve_threshold)
    site: Site = await survey.get(SITE_PART)
    async with asyncio.TaskGroup() as tg:
        asks = {
            net: tg.create_task(caught(family.in_container(c, names, deadline=deadline)))
            for net, c in site.containers.items()
        }
    return {n: t.result() for n, t in asks.items()}
