"""The resolv.conf checks' survey parts: each probe container's resolver from inside (RC-01) and
the throwaway builds (RC-02, RC-03)."""

from __future__ import annotations

import asyncio

from probes import build, ifaddr, resolver
from probes.docker import DockerEndpoint
from probes.errors import HarnessError
from probes.target import Target
from suites.plugin.keys import (
    BRIDGES_SETTLED,
    BUILD_STEPS,
    CONTAINER_RESOLVERS,
    DOCKER_ENDPOINT,
    SITE_PART,
)
from suites.plugin.networks import resolver_networks
from suites.plugin.site import Site, caught, resolver_deadline
from suites.plugin.survey import Survey, surveyed


def lookup_names(target: Target) -> tuple[str, ...]:
    """What a build step resolves: the profile's names, else what a build resolves first."""
    return tuple(n.name for n in target.profile.names) or ("registry-1.docker.io",)


@surveyed(CONTAINER_RESOLVERS)
async def container_resolvers(survey: Survey) -> dict[str, resolver.ResolverReport | HarnessError]:
    """Every probe container's resolver at work (RC-01, RC-03), by network, all at once."""
    names = lookup_names(survey.target)
    wait = resolver_deadline(survey.target)
    site: Site = await survey.get(SITE_PART)
    async with asyncio.TaskGroup() as tg:
        asks = {
            net: tg.create_task(
                caught(resolver.in_container(c, names, family="any", deadline=wait))
            )
            for net, c in site.every_container.items()
        }
    return {n: t.result() for n, t in asks.items()}


async def default_bridge_ready(survey: Survey) -> None:
    """Return once a build step's IPv6 can leave the default bridge: at once where the bridge's
    addresses are past DAD already (they stay so while it has no carrier), else once a probe
    container gave it carrier and its DAD is done (a fresh daemon's bridge: until then no IPv6
    leaves a build step)."""
    found = resolver_networks(survey.config)
    default = [] if isinstance(found, str) else [n for n in found if n.is_default_bridge]
    bridge = default[0].bridge if default else None
    if bridge:
        mine = (await ifaddr.snapshot(survey.target.netns)).on(bridge)
        if mine and all(a.usable for a in mine):
            return
    await survey.get(BRIDGES_SETTLED)


@surveyed(BUILD_STEPS)
async def build_steps(survey: Survey) -> dict[build.Builder, build.BuildResult]:
    """Both throwaway builds (RC-02, RC-03), on the default bridge once it is ready (see
    :func:`default_bridge_ready`). They run while the probe containers start, settle and are
    probed."""
    target = survey.target
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    with survey.timed("default bridge ready"):
        await default_bridge_ready(survey)
    async with asyncio.TaskGroup() as tg:
        builds = {
            b: tg.create_task(
                build.build_and_report(
                    docker,
                    b,
                    lookup_names(target),
                    run_id=survey.run_id,
                    deadline=resolver_deadline(target),
                    timeout=target.profile.build_timeout,
                )
            )
            for b in build.BUILDERS
        }
    return {b: t.result() for b, t in builds.items()}
