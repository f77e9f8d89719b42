"""What runs that are gone left on the Docker host, removed by the next run.

Only what the harness labelled, only where the run that labelled it is gone (its pid and the
pid's start time, on this host): never a live run's, nor a user's. Its own module because it
needs both the endpoint (probes.docker) and the builds' cache records (probes.build), which
needs the endpoint too.
"""

from __future__ import annotations

import json

from probes import build
from probes.docker import CACHE_LABEL, CHANGE_TIMEOUT, IMAGE, LABEL, DockerEndpoint, run_alive


async def remove_stale(docker: DockerEndpoint) -> list[str]:
    """Remove what runs that are gone (crashed, killed outright) left: their probe and build
    containers, their build images, the BuildKit cache records of their builds and the probe
    image a gone run imported, unless a container still uses it. Only what the harness
    labelled, only where the run that labelled it is gone: never a live run's, nor a user's
    (a user's container from the probe image inherits its labels, ``io.v6conform=image``)."""
    removed = []
    found = await docker.call(
        docker.client.containers.list(all=True, filters=json.dumps({"label": [LABEL]}))
    )
    marks = []
    for c in found:
        labels = c._container.get("Labels") or {}
        if labels.get(LABEL) not in ("probe", "build") or run_alive(labels):
            continue
        if CACHE_LABEL in labels:  # a BuildKit build's record of its cache: read first
            marks.append((c, labels[CACHE_LABEL]))
            continue
        await docker.call(c.delete(force=True), CHANGE_TIMEOUT)
        removed.append(c.id[:12])
    if marks:
        removed += await build.remove_stale_cache(docker, marks)
    images = await docker.call(docker.client.images.list(filters={"label": [LABEL]}))
    for image in images:
        labels = image.get("Labels") or {}
        stale = labels.get(LABEL) == "build" and not run_alive(labels)
        if stale and await docker.delete_image(str(image["Id"])):
            removed.append(str(image["Id"])[7:19])
    for image in images:
        labels = image.get("Labels") or {}
        # the probe image (`probe`: as imported before it said `image`), once its importer
        # is gone and nothing uses it; a live run that found it here has containers from it
        ours = labels.get(LABEL) in ("image", "probe") and IMAGE in (image.get("RepoTags") or [])
        if ours and not run_alive(labels) and await docker.remove_unused_image(image["Id"]):
            removed.append(str(image["Id"])[7:19])
    return removed
