"""One survey per run: every probe the collected checks need starts at once, in one task group,
as soon as the target is known; the checks then only judge what it saw.

Each area's probing is a *part* (:class:`Part`, made with :func:`surveyed`: its name, its probe
and the session fixture of that name that hands its result to a check); ``suites.plugin.parts``
lists them all. The survey starts the parts that some collected item (after ``-k`` / ``-m``)
asks for, directly or through another fixture, and a part that needs another's result awaits
it by its typed key (:meth:`Survey.get`), so nothing waits for what
it does not need: the Router Solicitation's window runs while containers start and settle, the
builds while the probe containers pass DAD, and each probe keeps its own deadline. The run waits
for the longest part once, where fixture by fixture it paid one area's timeout after another's.

A part's outcome is kept whole: its value, or the skip, failure or exception that stopped it,
which its fixture raises again for the items that asked for it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pytest

from probes.docker import DockerEndpoint
from probes.target import Target
from reports.results import SUITE_PROPERTIES, SURVEY_READY
from suites.plugin.keys import TARGET, PartKey

T = TypeVar("T")
Probe = Callable[["Survey"], Awaitable[Any]]

_Skipped = pytest.skip.Exception
_Failed = pytest.fail.Exception


@dataclass(slots=True)
class Timing:
    """When a part ran, from the survey's start: where the run's time goes."""

    started: float
    ended: float | None = None


@dataclass(slots=True)
class Survey:
    """The run's survey: what each part found, or what stopped it; and the resources parts
    hold for the whole session (probe containers, the Docker connection), released at its end."""

    config: pytest.Config
    target: Target
    stack: contextlib.AsyncExitStack
    group: asyncio.TaskGroup | None = None
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    timings: dict[str, Timing] = field(default_factory=dict)
    origin: float = field(default_factory=time.monotonic)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # labels what it makes
    # this run's parts, by the name of the fixture that hands each one's result to the checks
    parts: dict[str, Probe] = field(default_factory=dict)

    def start(self, name: str) -> asyncio.Task[Any]:
        """The part's task, started if it was not yet (a part another part needs)."""
        if name not in self.tasks:
            if self.group is None:
                raise RuntimeError(f"survey part {name!r} asked for after the survey ended")
            self.tasks[name] = self.group.create_task(self._kept(name))
        return self.tasks[name]

    async def _kept(self, name: str) -> tuple[bool, Any]:
        with self.timed(name):
            try:
                return True, await self.parts[name](self)
            except (_Skipped, _Failed, Exception) as exc:  # the items that asked for it get it
                return False, exc

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Note when a step ran (a part, or a step inside one: DAD, container start)."""
        timing = self.timings[name] = Timing(time.monotonic() - self.origin)
        try:
            yield
        finally:
            timing.ended = time.monotonic() - self.origin

    async def get(self, part: PartKey[T]) -> T:
        """What another part found; what stopped it stops this one too."""
        ok, value = await asyncio.shield(self.start(part.name))
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    async def maybe(self, part: PartKey[T]) -> T | str:
        """What another part found, or (it was skipped) the reason, for parts that go on
        without it: the DNS checks ask the host's nameservers with or without containers."""
        try:
            return await self.get(part)
        except _Skipped as exc:
            return str(exc.msg)

    def outcome(self, name: str) -> Any:
        """A part's value, for its fixture; or its skip, failure or error raised again."""
        task = self.tasks.get(name)
        if task is None or not task.done():
            raise RuntimeError(f"survey part {name!r} was not run: no collected item asked for it")
        ok, value = task.result()
        if ok:
            return value
        if isinstance(value, _Skipped):
            pytest.skip(str(value.msg))
        if isinstance(value, _Failed):
            pytest.fail(str(value.msg), pytrace=False)
        raise value

    def docker_api_calls(self) -> int:
        """The Docker API calls this run's endpoint made: what the run cost the daemon."""
        done = (t.result() for t in self.tasks.values() if t.done() and not t.cancelled())
        return sum(v.calls_made for ok, v in done if ok and isinstance(v, DockerEndpoint))

    def figures(self) -> str:
        """Each part's start and end (seconds from the survey's start), longest first."""
        done = {n: t for n, t in self.timings.items() if t.ended is not None}
        order = sorted(done, key=lambda n: -(done[n].ended or 0.0))
        return ", ".join(f"{n} {done[n].started:.2f}–{done[n].ended:.2f} s" for n in order)


SURVEY = pytest.StashKey[Survey]()


@dataclass(frozen=True, slots=True, eq=False)
class Part(Generic[T]):
    """One survey part: its typed key, its probe and the session fixture of its name that
    hands its result to the checks (suites/conftest.py exposes it to pytest)."""

    key: PartKey[T]
    probe: Callable[[Survey], Awaitable[T]]
    fixture: Any

    @property
    def name(self) -> str:
        return self.key.name


def surveyed(key: PartKey[T]) -> Callable[[Callable[[Survey], Awaitable[T]]], Part[T]]:
    """Make the decorated probe the survey part of ``key`` (named as its key), with the
    session fixture of that name."""

    def part(probe: Callable[[Survey], Awaitable[T]]) -> Part[T]:
        if probe.__name__ != key.name:
            raise TypeError(f"survey part {probe.__name__} is not named as its key {key.name}")

        @functools.wraps(probe)
        def fixture(survey: Survey) -> T:
            return survey.outcome(key.name)  # type: ignore[no-any-return]

        fixture.__doc__ = probe.__doc__
        return Part(key, probe, pytest.fixture(scope="session", name=key.name)(fixture))

    return part


def wanted(session: pytest.Session, parts: Iterable[str]) -> list[str]:
    """The parts some collected item asks for, directly or through another fixture."""
    names: set[str] = set()
    for item in session.items:
        names.update(getattr(item, "fixturenames", ()))
    return [n for n in parts if n in names]


async def run_survey(
    request: pytest.FixtureRequest, parts: Iterable[Part[Any]]
) -> AsyncIterator[Survey]:
    """Every part the collected checks need, started at once and run to its end before the
    first check judges; what they hold is released when the session ends."""
    config = request.config
    async with contextlib.AsyncExitStack() as stack:
        found = Survey(config, config.stash[TARGET], stack, parts={p.name: p.probe for p in parts})
        config.stash[SURVEY] = found
        async with asyncio.TaskGroup() as tg:
            found.group = tg
            for name in wanted(request.session, found.parts):
                found.start(name)
        found.group = None
        config.stash[SURVEY_READY] = {
            name: timing.ended
            for name, timing in found.timings.items()
            if name in found.parts and timing.ended is not None
        }
        if found.timings:
            properties = config.stash.setdefault(SUITE_PROPERTIES, {})
            properties["survey"] = f"{time.monotonic() - found.origin:.2f} s: {found.figures()}"
            properties["docker_api_calls"] = str(found.docker_api_calls())
        yield found
