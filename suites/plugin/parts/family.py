"""AF-01's survey part: on each IPv6 network, the probe container's C library (and that of a
container of each image the profile names, the harness's own, started for it and removed)
ordering the profile's dual-stack names, and the sources its kernel picks (probes.family)."""

from __future__ import annotations

import asyncio
import re

from probes import family, ifaddr
from probes.docker import DockerEndpoint, NetworkInfo
from probes.errors import HarnessError
from probes.netns import to_the_end
from suites.plugin.keys import DOCKER_ENDPOINT, FAMILY_ORDERS, SITE_PART, WORKLOAD_VIEWS
from suites.plugin.site import Site, caught
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, guarded


def _suffix(image: str) -> str:
    """A container name's tail for ``image`` ("-af-v6conform-lab-glibc-latest")."""
    return "-af-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", image)[:60]


async def _image_report(
    docker: DockerEndpoint,
    network: NetworkInfo,
    image: str,
    *,
    run_id: str,
    names: tuple[str, ...],
    deadline: float,
    dad: float,
) -> family.FamilyReport:
    """A container of ``image`` on ``network``, past DAD, asked, removed (always)."""
    started = asyncio.ensure_future(
        docker.start_probe(network, run_id, image=image, suffix=_suffix(image))
    )
    try:
        # started to its end even if the run is cancelled meanwhile, so it is removed then
        container = await to_the_end(started)
        await ifaddr.settled_soon(container.netns, container.interface, timeout=dad)
        return await family.in_container(container, names, deadline=deadline)
    finally:
        if started.done() and not started.cancelled() and started.exception() is None:
            await to_the_end(docker.remove_container(started.result().id))


@surveyed(FAMILY_ORDERS)
async def family_orders(
    survey: Survey,
) -> dict[str, list[family.FamilyReport | HarnessError]]:
    """Every IPv6 network's containers, all at once (none without names to ask)."""
    profile = survey.target.profile
    names = profile.family_names()
    if not names:
        return {}
    # a lookup gets the longer of the probe timeout and the resolve threshold: what is still
    # resolving then is reported as such, not judged
    deadline = max(profile.timeout, profile.resolve_threshold)
    site: Site = await survey.get(SITE_PART)
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    async with asyncio.TaskGroup() as tg:
        asks = {
            net: [
                tg.create_task(caught(family.in_container(c, names, deadline=deadline))),
                *(
                    tg.create_task(
                        caught(
                            _image_report(
                                docker,
                                c.network,
                                image,
                                run_id=survey.run_id,
                                names=names,
                                deadline=deadline,
                                dad=profile.dad_timeout,
                            )
                        )
                    )
                    for image in profile.family.images
                ),
            ]
            for net, c in site.containers.items()
        }
    found: dict[str, list[family.FamilyReport | HarnessError]] = {
        n: [t.result() for t in ts] for n, ts in asks.items()
    }
    # the workloads: only read (their C library and gai.conf from outside, their kernel's
    # sources), ordered by the model with the answers their network's probe container got
    views: WorkloadViews = await survey.get(WORKLOAD_VIEWS)

    async def one(key: str) -> None:
        container = views.containers[key]
        asked = next(iter(found.get(container.network.name, [])), None)
        if not isinstance(asked, family.FamilyReport):
            return  # its network's probe container could not be asked: nothing to order
        got = await caught(guarded(views, container, lambda: family.of_workload(container, asked)))
        if not isinstance(got, str):  # a str: it exited meanwhile (its item skips so)
            found[key] = [got]

    async with asyncio.TaskGroup() as tg:
        for key in views.containers:
            tg.create_task(one(key))
    return found
