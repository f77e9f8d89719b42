"""AF-01's survey part: on each IPv6 network, the probe container's C library (and that of a
container of each image the profile names, the harness's own, started for it) ordering the
profile's dual-stack names, and the sources its kernel picks (probes.family); the workloads'
order as the model predicts it from what is read of them."""

from __future__ import annotations

import asyncio
import re

from probes import family, ifaddr
from probes.docker import DockerEndpoint, NetworkInfo, ProbeContainer
from probes.errors import HarnessError
from probes.netns import to_the_end
from suites.plugin.keys import (
    BRIDGES_SETTLED,
    DOCKER_ENDPOINT,
    FAMILY_ORDERS,
    SITE_PART,
    WORKLOAD_VIEWS,
)
from suites.plugin.networks import ipv6_networks
from suites.plugin.site import Site, caught
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, guarded


def _suffix(image: str) -> str:
    """A container name's tail for ``image`` ("-af-v6conform-lab-glibc-latest")."""
    return "-af-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", image)[:60]


async def _image_report(
    survey: Survey,
    docker: DockerEndpoint,
    network: NetworkInfo,
    image: str,
    *,
    names: tuple[str, ...],
    deadline: float,
) -> family.FamilyReport:
    """A container of ``image`` on ``network``, started at once (beside the probe
    containers), past DAD, asked once the bridges are; removed when the run's survey ends
    (the probe fleet's clean-up removes it too: it carries the run's probe labels)."""
    started = asyncio.ensure_future(
        docker.start_probe(network, survey.run_id, image=image, suffix=_suffix(image))
    )
    # started to its end even if the run is cancelled meanwhile, so that it is removed then
    container: ProbeContainer = await to_the_end(started)
    survey.stack.push_async_callback(lambda: to_the_end(docker.remove_container(container.id)))
    dad = survey.target.profile.dad_timeout
    await ifaddr.settled_soon(container.netns, container.interface, timeout=dad)
    await survey.get(BRIDGES_SETTLED)  # its gateway answers: the lookups can leave
    return await family.in_container(container, names, deadline=deadline)


@surveyed(FAMILY_ORDERS)
async def family_orders(
    survey: Survey,
) -> dict[str, list[family.FamilyReport | HarnessError]]:
    """Every IPv6 network's containers and workloads, all at once (none without names)."""
    profile = survey.target.profile
    names = profile.family_names()
    if not names:
        return {}
    # a lookup gets the longer of the probe timeout and the resolve threshold: what is still
    # resolving then is reported as such, not judged
    deadline = max(profile.timeout, profile.resolve_threshold)
    networks = ipv6_networks(survey.config)
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    found: dict[str, list[family.FamilyReport | HarnessError]] = {}

    async def network_containers(net: str) -> None:
        site: Site = await survey.get(SITE_PART)
        if net in site.containers:
            found.setdefault(net, []).insert(
                0, await caught(family.in_container(site.containers[net], names, deadline=deadline))
            )

    async def image(network: NetworkInfo, ref: str) -> None:
        got = await caught(
            _image_report(survey, docker, network, ref, names=names, deadline=deadline)
        )
        found.setdefault(network.name, []).append(got)

    async with asyncio.TaskGroup() as tg:
        # an internal network is isolated on purpose: AF-01 does not apply there
        for network in [] if isinstance(networks, str) else networks:
            if network.internal:
                continue
            tg.create_task(network_containers(network.name))
            for ref in profile.family.images:
                tg.create_task(image(network, ref))
    # only networks whose probe container was asked (it comes first; the images' beside it)
    found = {
        n: reports for n, reports in found.items() if n in (await survey.get(SITE_PART)).containers
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
