"""A throwaway ``docker build`` whose one ``RUN`` step reports its resolver (RC-02, RC-03).

Build steps do not run in a container we can enter: the step's resolv.conf is made by the
builder, and the two builders make it differently (the classic builder filters the host's IPv6
nameservers like ``docker run`` does, BuildKit copies them: moby/buildkit#2936). So the build
runs :data:`probes.resolver.SCRIPT` in a ``RUN`` of the probe image, writes what it saw to a file
in the image, and the harness reads that file back out of the built image.

Both builders are driven through the Engine API, not the CLI: the daemon's built-in BuildKit
(API ``version=2``) takes a tar context without a session, so no buildx is needed. Everything a
build leaves is removed afterwards: its image (and with it the classic builder's intermediate
images) and the BuildKit cache records that appeared during the build.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import tarfile
from dataclasses import dataclass
from typing import Any, Literal

from probes.docker import HOST_LABEL, IMAGE, LABEL, PID_LABEL, RUN_LABEL, DockerEndpoint
from probes.errors import DockerUnavailable
from probes.resolver import Family, ResolverReport, parse_report, script_args

Builder = Literal["classic", "buildkit"]
BUILDERS: tuple[Builder, ...] = ("classic", "buildkit")
BUILDER_NAMES = {"classic": "the classic builder", "buildkit": "BuildKit"}
BUILD_REPO = "v6conform-build"
RESULT_FILE = "/v6conform-resolver.txt"
CACHE_ROUNDS = 5  # prune passes over the records a BuildKit build left


@dataclass(frozen=True, slots=True)
class BuildResult:
    """One throwaway build: what its RUN step saw, or why there is nothing to read."""

    builder: Builder
    report: ResolverReport | None
    error: str | None  # the build could not run (the daemon's words)
    unsupported: bool  # the daemon has no such builder
    elapsed_s: float
    log: tuple[str, ...]  # the build's own output, last lines

    @property
    def name(self) -> str:
        return BUILDER_NAMES[self.builder]


def dockerfile(deadline: float, family: Family, names: tuple[str, ...]) -> str:
    run = json.dumps(script_args(deadline, family, names, output=RESULT_FILE))
    return f"FROM {IMAGE}\nRUN {run}\n"


def context_tar(dockerfile_text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = dockerfile_text.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def build_and_report(
    docker: DockerEndpoint,
    builder: Builder,
    names: tuple[str, ...],
    *,
    run_id: str,
    family: Family = "any",
    deadline: float = 2.0,
    timeout: float = 60.0,
) -> BuildResult:
    """Build, read the step's report out of the image, remove what the build left."""
    tag = f"{BUILD_REPO}:{run_id}-{builder}"
    loop = asyncio.get_running_loop()
    started = loop.time()
    cache_before = await _cache_ids(docker) if builder == "buildkit" else set()
    try:
        log, error = await docker.call(
            _build(docker, builder, tag, dockerfile(deadline, family, names), run_id), timeout
        )
        report = None
        if error is None:
            text = await _read_result(docker, tag)
            report = parse_report(
                text,
                where=f"build step ({BUILDER_NAMES[builder]})",
                names=names,
                family=family,
                deadline=deadline,
            )
    finally:
        await asyncio.shield(_remove(docker, builder, tag, cache_before))
    unsupported = error is not None and _means_unsupported(error)
    return BuildResult(builder, report, error, unsupported, loop.time() - started, log[-20:])


async def _build(
    docker: DockerEndpoint, builder: Builder, tag: str, text: str, run_id: str
) -> tuple[tuple[str, ...], str | None]:
    labels = {
        LABEL: "build",
        RUN_LABEL: run_id,
        PID_LABEL: str(os.getpid()),
        HOST_LABEL: socket.gethostname(),
    }
    params: dict[str, Any] = {
        "version": "2" if builder == "buildkit" else "1",
        "t": tag,
        "nocache": "1",
        "rm": "1",
        "forcerm": "1",
        "pull": "0",
        "labels": json.dumps(labels),
    }
    log: list[str] = []
    error: str | None = None
    async with docker.client._query(
        "build",
        "POST",
        params=params,
        data=io.BytesIO(context_tar(text)),
        headers={"Content-Type": "application/x-tar"},
    ) as resp:
        async for raw in resp.content:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("error"):
                error = str(msg["error"]).strip()
            elif isinstance(msg.get("stream"), str) and msg["stream"].strip():
                log.append(msg["stream"].rstrip())
    return tuple(log), error


async def _read_result(docker: DockerEndpoint, tag: str) -> str:
    """The step's report file, copied out of a created (never started) container."""
    container = await docker.call(
        docker.client.containers.create(
            {"Image": tag, "Cmd": ["/bin/true"], "Labels": {LABEL: "build"}}
        )
    )
    try:
        archive = await docker.call(container.get_archive(RESULT_FILE))
        member = archive.extractfile(RESULT_FILE.lstrip("/"))
        return member.read(1 << 20).decode(errors="replace") if member else ""
    finally:
        await asyncio.shield(docker.call(container.delete(force=True)))


async def _cache_ids(docker: DockerEndpoint) -> set[str]:
    df = await docker.call(docker.client._query_json("system/df"), 60)
    return {str(r.get("ID")) for r in (df.get("BuildCache") or [])}


async def _remove(docker: DockerEndpoint, builder: Builder, tag: str, before: set[str]) -> None:
    try:
        await docker.call(docker.client.images.delete(tag, force=True))
    except DockerUnavailable as exc:
        if "No such image" not in exc.reason and "404" not in exc.reason:
            raise
    if builder != "buildkit":
        return
    # only the records this build made: a user's own build cache is not ours to prune. BuildKit
    # may still hold one (in use) for a moment after the build returns: look again, briefly.
    for _ in range(CACHE_ROUNDS):
        left = await _cache_ids(docker) - before
        if not left:
            return
        for record in sorted(left):
            filters = json.dumps({"id": [record]})
            async with docker.client._query(
                "build/prune", "POST", params={"filters": filters, "all": "1"}
            ) as resp:
                await resp.read()
        await asyncio.sleep(0.2)


def _means_unsupported(error: str) -> bool:
    words = error.lower()
    return "buildkit" in words and ("not supported" in words or "not enabled" in words)
