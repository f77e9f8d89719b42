"""A throwaway ``docker build`` whose one ``RUN`` step reports its resolver (RC-02, RC-03).

Build steps do not run in a container we can enter: the step's resolv.conf is made by the
builder, and the two builders make it differently (the classic builder filters the host's IPv6
nameservers like ``docker run`` does, BuildKit copies them: moby/buildkit#2936). So the build
runs :data:`probes.resolver.SCRIPT` in a ``RUN`` of the probe image, writes what it saw to a file
in the image, and the harness reads that file back out of the built image.

Both builders are driven through the Engine API, not the CLI: the daemon's built-in BuildKit
(API ``version=2``) takes a tar context without a session, so no buildx is needed. Everything a
build leaves is removed afterwards: its image (and with it the classic builder's intermediate
images) and the BuildKit cache records that appeared during the build. A BuildKit build is
preceded by a created, never started container labelled with the run and a :class:`CacheMark`:
what the build's cache records will look like. If the run is killed before it removes them, a
later run's :func:`~probes.stale.remove_stale` finds the mark of a run that is
gone and removes those records (:func:`remove_stale_cache`), and only those.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiodocker.containers import DockerContainer

from probes.docker import CACHE_LABEL, CHANGE_TIMEOUT, IMAGE, DockerEndpoint, run_labels
from probes.errors import DockerUnavailable
from probes.netns import to_the_end
from probes.resolver import Family, ResolverReport, parse_report, script_args

Builder = Literal["classic", "buildkit"]
BUILDERS: tuple[Builder, ...] = ("classic", "buildkit")
BUILDER_NAMES = {"classic": "the classic builder", "buildkit": "BuildKit"}
BUILD_REPO = "v6conform-build"
RESULT_FILE = "/v6conform-resolver.txt"
CACHE_ROUNDS = 5  # prune passes over the records a BuildKit build left
# What a BuildKit build of the harness leaves in the build cache, by the records' descriptions
# (the same on Docker 20.10, 26 and 28): the context tar as uploaded with the request, that tar
# unpacked (its one file, the Dockerfile), the probe image (FROM) and the RUN step (named by its
# command, which writes RESULT_FILE; gone when the build is cancelled before the step ends).
CONTEXT_RECORD = "http url http://build-context-"
UNPACKED_RECORDS = ("fileop target", "copy /context /")  # 20.10; 26 and later
IMAGE_RECORD = "from local"
STEP_RECORD = "mount / from exec "
CACHE_SLACK = 1.0  # seconds either side of a build's span: two clocks read a moment apart
CANCEL_GRACE = 10.0  # how long the daemon may take to stop a build whose client went away
STALE_PATIENCE = 10.0  # how long a later run waits for a gone run's records to be released


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
    """Build, read the step's report out of the image, remove what the build left. A build
    once started runs to its end (its timeout), also when the run is cancelled meanwhile: a
    daemon may go on with a build whose client is gone and tag its image after the client's
    clean-up ran, so a cancelled run waits for it and then removes it."""
    return await to_the_end(
        _build_and_report(docker, builder, names, run_id, family, deadline, timeout)
    )


async def _build_and_report(
    docker: DockerEndpoint,
    builder: Builder,
    names: tuple[str, ...],
    run_id: str,
    family: Family,
    deadline: float,
    timeout: float,
) -> BuildResult:
    tag = f"{BUILD_REPO}:{run_id}-{builder}"
    loop = asyncio.get_running_loop()
    started = loop.time()
    recipe = dockerfile(deadline, family, names)
    cache_before: set[str] = set()
    mark: str | None = None
    if builder == "buildkit":
        cache_before = await _cache_ids(docker)
        mark = await _mark(docker, run_id, recipe, timeout)
    try:
        log, error = await docker.call(_build(docker, builder, tag, recipe, run_id), timeout)
        report = None
        if error is None:
            text = await _read_result(docker, tag, run_id)
            report = parse_report(
                text,
                where=f"build step ({BUILDER_NAMES[builder]})",
                names=names,
                family=family,
                deadline=deadline,
            )
    finally:
        await _remove(docker, builder, tag, cache_before, mark)
    unsupported = error is not None and _means_unsupported(error)
    return BuildResult(builder, report, error, unsupported, loop.time() - started, log[-20:])


async def _build(
    docker: DockerEndpoint, builder: Builder, tag: str, text: str, run_id: str
) -> tuple[tuple[str, ...], str | None]:
    labels = run_labels("build", run_id)
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


async def _read_result(docker: DockerEndpoint, tag: str, run_id: str) -> str:
    """The step's report file, copied out of a created (never started) container."""
    container = await docker.call(
        docker.client.containers.create(
            {"Image": tag, "Cmd": ["/bin/true"], "Labels": run_labels("build", run_id)}
        ),
        CHANGE_TIMEOUT,
    )
    try:
        archive = await docker.call(container.get_archive(RESULT_FILE))
        member = archive.extractfile(RESULT_FILE.lstrip("/"))
        return member.read(1 << 20).decode(errors="replace") if member else ""
    finally:
        await docker.call(container.delete(force=True), CHANGE_TIMEOUT)


# the build cache ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CacheMark:
    """What one BuildKit build of the harness will leave in the build cache, written down
    before it starts: when (it cannot outlive its timeout) and the sizes of its two records of
    the context, the uploaded tar and its unpacked Dockerfile."""

    since: float  # the harness's clock (seconds since the epoch), just before the build
    until: float  # past this the build was stopped (its timeout, and the daemon's grace)
    context: int  # bytes of the context tar
    dockerfile: int  # bytes of the Dockerfile

    def label(self) -> str:
        return json.dumps(
            {
                "since": round(self.since, 3),
                "until": round(self.until, 3),
                "context": self.context,
                "dockerfile": self.dockerfile,
            },
            sort_keys=True,
        )

    @classmethod
    def parse(cls, text: str) -> CacheMark | None:
        try:
            data = json.loads(text)
            mark = cls(
                float(data["since"]),
                float(data["until"]),
                int(data["context"]),
                int(data["dockerfile"]),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return mark if mark.since <= mark.until else None

    @classmethod
    def for_build(cls, recipe: str, timeout: float, now: float) -> CacheMark:
        return cls(
            now, now + timeout + CANCEL_GRACE, len(context_tar(recipe)), len(recipe.encode())
        )


@dataclass(frozen=True, slots=True)
class CacheRecord:
    """One BuildKit build-cache record, as ``GET /system/df`` lists it."""

    id: str
    description: str
    size: int
    created: float | None  # seconds since the epoch
    last_used: float | None
    parents: tuple[str, ...]
    in_use: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CacheRecord:
        # Parent up to API 1.41; Parents after, spelt " Parents" (sic) by Docker 23 to 25 at least
        parents = data.get("Parents") or data.get(" Parents") or []
        if not isinstance(parents, list):
            parents = []
        if data.get("Parent"):
            parents = [*parents, data["Parent"]]
        size = data.get("Size")
        return cls(
            str(data.get("ID") or ""),
            str(data.get("Description") or ""),
            size if isinstance(size, int) else -1,
            _when(data.get("CreatedAt")),
            _when(data.get("LastUsedAt")),
            tuple(str(p) for p in parents if p),
            data.get("InUse") is True,
        )


_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def _when(value: object) -> float | None:
    """An RFC 3339 time as Docker writes it (nanoseconds, "Z") in seconds since the epoch."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        at = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return at.timestamp() + float(f"0.{fraction or 0}")


def records_of(mark: CacheMark, records: Iterable[CacheRecord]) -> set[str]:
    """The records the build that ``mark`` stands for made. Its context as uploaded (a record
    of the size of its tar, the first made after the mark: the build was sent right after it)
    gives the build's span, from its upload to its last use; within that span, the unpacked
    Dockerfile (of its size), the probe image's record, its RUN step (the command writes
    RESULT_FILE) and whatever was made on top of those. Every other record, a user's above all,
    is left alone: one made at another time, or of another kind, or of another size."""
    records = list(records)

    def within(r: CacheRecord, lo: float, hi: float) -> bool:
        return r.created is not None and lo <= r.created <= hi

    lo, hi = mark.since - CACHE_SLACK, mark.until + CACHE_SLACK
    uploads = [
        r
        for r in records
        if r.description.startswith(CONTEXT_RECORD) and r.size == mark.context and within(r, lo, hi)
    ]
    ours: set[str] = set()
    upload = min(uploads, key=lambda r: r.created or hi, default=None)
    if upload is not None and upload.created is not None:
        ours.add(upload.id)
        lo = upload.created - CACHE_SLACK
        if upload.last_used is not None:
            hi = min(hi, upload.last_used + CACHE_SLACK)
    for r in records:
        if not within(r, lo, hi) or r.id in ours:
            continue
        made = upload is not None and (
            (r.description in UNPACKED_RECORDS and r.size == mark.dockerfile)
            or r.description.startswith(IMAGE_RECORD)
        )
        if made or (r.description.startswith(STEP_RECORD) and RESULT_FILE in r.description):
            ours.add(r.id)
    grown = True
    while grown:  # and what was made on top of those, in the same span
        more = {r.id for r in records if within(r, lo, hi) and ours & set(r.parents)} - ours
        ours |= more
        grown = bool(more)
    return ours


async def _cache_records(docker: DockerEndpoint) -> list[CacheRecord]:
    # the build cache alone: a bare /system/df also sizes every container, and on Docker 29 it
    # fails (HTTP 500, "rw layer snapshot not found") while one of them is being removed
    query = docker.client._query_json("system/df", params={"type": "build-cache"})
    df = await docker.call(query, 60)
    return [CacheRecord.from_api(r) for r in (df.get("BuildCache") or []) if isinstance(r, dict)]


async def _cache_ids(docker: DockerEndpoint) -> set[str]:
    return {r.id for r in await _cache_records(docker)}


async def _mark(docker: DockerEndpoint, run_id: str, recipe: str, timeout: float) -> str:
    """The container that stands for a BuildKit build until its records are gone."""
    mark = CacheMark.for_build(recipe, timeout, time.time())
    labels = {**run_labels("build", run_id), CACHE_LABEL: mark.label()}
    container = await docker.call(
        docker.client.containers.create(
            {
                "Image": IMAGE,
                "Cmd": ["/bin/true"],
                "Labels": labels,
                "HostConfig": {"NetworkMode": "none"},
            },
            name=f"v6conform-{run_id}-buildkit-cache",
        ),
        CHANGE_TIMEOUT,
    )
    return str(container.id)


async def _prune(
    docker: DockerEndpoint,
    select: Callable[[list[CacheRecord]], set[str]],
    patience: float = 0.0,
) -> list[CacheRecord]:
    """Prune the records ``select`` picks, looking again a few times: BuildKit may hold one
    (in use) for a moment after a build returns, and a record goes only after those made on top
    of it; while one of them is in use, for up to ``patience`` seconds more. The records left
    at the end."""
    records = await _cache_records(docker)
    deadline = asyncio.get_running_loop().time() + patience
    rounds = 0
    while True:
        left = select(records)
        busy = any(r.in_use for r in records if r.id in left)
        late = asyncio.get_running_loop().time() >= deadline
        if not left or (rounds >= CACHE_ROUNDS and (late or not busy)):
            break
        rounds += 1
        for record in sorted(left):
            await docker.call(_prune_one(docker, record), CHANGE_TIMEOUT)
        await asyncio.sleep(0.2)
        records = await _cache_records(docker)
    return records


async def _prune_one(docker: DockerEndpoint, record: str) -> None:
    filters = json.dumps({"id": [record]})
    async with docker.client._query(
        "build/prune", "POST", params={"filters": filters, "all": "1"}
    ) as resp:
        await resp.read()


async def _remove(
    docker: DockerEndpoint, builder: Builder, tag: str, before: set[str], mark: str | None
) -> None:
    try:
        await docker.call(docker.client.images.delete(tag, force=True), CHANGE_TIMEOUT)
    except DockerUnavailable as exc:
        if "No such image" not in exc.reason and "404" not in exc.reason:
            raise
    if builder != "buildkit":
        return
    # only the records this build made: a user's own build cache is not ours to prune
    await _prune(docker, lambda records: {r.id for r in records} - before)
    if mark is not None:  # its records are gone: nothing left for a later run to remove
        await _delete_container(docker, docker.client.containers.container(mark))


async def _delete_container(docker: DockerEndpoint, container: DockerContainer) -> None:
    try:
        await docker.call(container.delete(force=True), CHANGE_TIMEOUT)
    except DockerUnavailable as exc:
        if "HTTP 404" not in exc.reason:  # gone already
            raise


async def remove_stale_cache(
    docker: DockerEndpoint, marks: list[tuple[DockerContainer, str]]
) -> list[str]:
    """Remove the build-cache records of BuildKit builds whose runs are gone, by their marks
    (the containers and their CACHE_LABEL), then the marks whose records are all gone; a mark
    whose records are still there (in use) stays for a later run. What was removed."""
    parsed = [(c, CacheMark.parse(text)) for c, text in marks]

    def select(records: list[CacheRecord]) -> set[str]:
        return {i for _, m in parsed if m is not None for i in records_of(m, records)}

    before = await _cache_records(docker)
    wanted = select(before)
    # a build of a run just killed may still be being stopped: its records are in use until then
    after = await _prune(docker, select, patience=STALE_PATIENCE) if wanted else before
    present = {r.id for r in after}
    removed = sorted(wanted - present)
    for container, mark in parsed:
        if mark is None or not records_of(mark, after):
            await _delete_container(docker, container)
            removed.append(container.id[:12])
    return removed


def _means_unsupported(error: str) -> bool:
    words = error.lower()
    return "buildkit" in words and ("not supported" in words or "not enabled" in words)
