"""What a later run takes for a gone run's leftovers, without a daemon: labels, and the BuildKit
cache records a killed build left (shaped like GET /system/df of Docker 20.10, 26 and 28)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest

from probes import build, docker
from probes.build import CacheMark, CacheRecord, records_of
from probes.netns import to_the_end

T0 = datetime(2026, 12, 1, 19, 33, 25, tzinfo=UTC).timestamp()
RECIPE = build.dockerfile(2.0, "any", ("www.example.com",))
MARK = CacheMark.for_build(RECIPE, 60.0, T0)


def at(seconds: float) -> str:
    """T0 + seconds as Docker writes it: nanoseconds and Z."""
    when = datetime.fromtimestamp(T0 + seconds, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{round(when.microsecond * 1000):09d}Z"


def rec(
    rid: str,
    description: str,
    size: int,
    created: float,
    last_used: float | None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ID": rid,
        "Type": "regular",
        "Description": description,
        "InUse": False,
        "Shared": False,
        "Size": size,
        "CreatedAt": at(created),
        "LastUsedAt": at(last_used) if last_used is not None else None,
        "UsageCount": 1,
        **extra,
    }


CONTEXT = len(build.context_tar(RECIPE))
DOCKERFILE = len(RECIPE.encode())
STEP = "mount / from exec /bin/sh -c exec >/v6conform-resolver.txt 2>&1\n..."


def records(*raw: dict[str, Any]) -> list[CacheRecord]:
    return [CacheRecord.from_api(r) for r in raw]


def test_a_mark_reads_back_and_junk_is_no_mark() -> None:
    assert CacheMark.parse(MARK.label()) == CacheMark(
        round(MARK.since, 3), round(MARK.until, 3), MARK.context, MARK.dockerfile
    )
    assert MARK.context == CONTEXT
    assert MARK.dockerfile == DOCKERFILE
    assert MARK.until == T0 + 60.0 + build.CANCEL_GRACE
    for junk in (
        "",
        "{",
        "[]",
        '{"since": 1}',
        '{"since": 5, "until": 1, "context": 1, "dockerfile": 1}',
        '{"since": "x", "until": 1, "context": 1, "dockerfile": 1}',
    ):
        assert CacheMark.parse(junk) is None, junk


def test_records_read_docker_times_and_every_spelling_of_parents() -> None:
    old, new, sic = records(
        rec("a", "x", 1, 0.5, None, Parent="p"),
        rec("b", "x", 1, 0.5, 2.0, Parents=["p", "q"]),
        rec("c", "x", 1, 0.5, 2.0, **{" Parents": ["p"]}),  # Docker 26's own spelling
    )
    assert old.parents == ("p",)
    assert not old.in_use
    assert CacheRecord.from_api({**rec("d", "x", 1, 0.5, None), "InUse": True}).in_use
    assert new.parents == ("p", "q")
    assert sic.parents == ("p",)
    assert old.created == pytest.approx(T0 + 0.5, abs=1e-5)
    assert old.last_used is None
    assert new.last_used == pytest.approx(T0 + 2.0, abs=1e-5)
    assert build._when("2026-12-01T19:33:25Z") == T0
    assert build._when("2026-12-01T20:33:25.5+01:00") == T0 + 0.5
    for junk in (None, "", "yesterday", 12):
        assert build._when(junk) is None


def test_a_killed_builds_records_are_found_and_nothing_else() -> None:
    """Docker 20.10, the build killed in its RUN step: the step's record is gone, the context's
    two and the probe image's are left; the user's builds before and after it are not ours."""
    found = records(
        # a user's build an hour before: same kinds, same context size
        rec("user-ctx", "http url http://build-context-aaa", CONTEXT, -3600, -3590),
        rec("user-tar", "fileop target", 84, -3600, -3590),
        rec("user-img", "from local ", 0, -3600, -3590),
        rec("user-run", "mount / from exec /bin/busybox true", 0, -3600, -3590),
        # the killed build
        rec("ctx", "http url http://build-context-bbb", CONTEXT, 0.1, 4.0),
        rec("tar", "fileop target", DOCKERFILE, 0.11, 4.0),
        rec("img", "from local ", 0, 0.2, 4.0),
        # a user's build right after it ended, within its timeout
        rec("user-ctx2", "http url http://build-context-ccc", CONTEXT, 20, 21),
        rec("user-tar2", "fileop target", DOCKERFILE, 20.01, 21),
        rec("user-img2", "from local ", 0, 20.02, 21),
        rec("user-run2", STEP, 0, 20.05, 21, Parent="user-img2"),  # even one that looks like ours
    )
    assert records_of(MARK, found) == {"ctx", "tar", "img"}


def test_a_finished_builds_records_are_found_with_what_was_made_on_them() -> None:
    """Docker 28, killed after the build but before its records were pruned."""
    found = records(
        rec("ctx", "http url http://build-context-bbb", CONTEXT, 0.1, 3.0),
        rec("tar", "copy /context /", DOCKERFILE, 0.11, 3.0),
        rec("img", "from local ", 0, 0.12, 3.0, Shared=True),
        rec("run", STEP, 656, 0.15, 3.0, **{" Parents": ["img"]}),
        rec("top", "something on top", 1, 2.0, 3.0, Parents=["run"]),
        # during the build, a user's build of another size and kind: not ours
        rec("user-ctx", "http url http://build-context-ddd", CONTEXT + 512, 1.0, 2.0),
        rec("user-tar", "copy /context /", DOCKERFILE + 1, 1.0, 2.0),
        rec("user-run", "mount / from exec make", 10, 1.1, 2.0, Parents=["user-img"]),
    )
    assert records_of(MARK, found) == {"ctx", "tar", "img", "run", "top"}


def test_without_its_context_record_only_its_own_step_is_ours() -> None:
    found = records(
        rec("tar", "fileop target", DOCKERFILE, 0.11, 3.0),
        rec("img", "from local ", 0, 0.12, 3.0),
        rec("run", STEP, 1, 0.15, 3.0, Parent="img"),
        rec("late", STEP, 1, MARK.until - T0 + 5, None),  # past the build's time
    )
    assert records_of(MARK, found) == {"run"}


def test_labels_name_the_run_its_process_and_host() -> None:
    labels = docker.run_labels("build", "r1")
    assert labels[docker.LABEL] == "build"
    assert labels[docker.RUN_LABEL] == "r1"
    assert labels[docker.PID_LABEL] == str(os.getpid())
    assert labels[docker.START_LABEL] == str(docker.proc_start(os.getpid()))
    assert labels[docker.HOST_LABEL] == socket.gethostname()
    assert docker.run_alive(labels)


def test_a_run_is_gone_when_its_process_is_or_another_has_its_pid() -> None:
    labels = docker.run_labels("probe", "r1")
    assert not docker.run_alive({**labels, docker.START_LABEL: "1"})  # pid reused since
    assert docker.run_alive({k: v for k, v in labels.items() if k != docker.START_LABEL})
    assert not docker.run_alive({**labels, docker.HOST_LABEL: "elsewhere"})
    assert not docker.run_alive({**labels, docker.PID_LABEL: "0"})
    assert not docker.run_alive({docker.LABEL: "probe"})
    ended = subprocess.Popen(["true"])
    ended.wait()
    assert not docker.run_alive({**labels, docker.PID_LABEL: str(ended.pid)})


async def test_a_cancelled_run_waits_for_its_clean_up_to_end() -> None:
    """Ctrl-C during a clean-up: the clean-up still ends before the cancellation goes on (a
    bare asyncio.shield would let the caller go at once, and the probe image's removal after it
    would find the build's leftovers still there)."""
    done: list[str] = []

    async def clean_up() -> str:
        await asyncio.sleep(0.05)
        done.append("removed")
        return "removed"

    async def run() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            await to_the_end(clean_up())
            done.append("after")

    task = asyncio.create_task(run())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    task.cancel()  # a second Ctrl-C while the clean-up runs
    with pytest.raises(asyncio.CancelledError):
        await task
    assert done == ["removed"]  # ended; what follows the clean-up was cancelled, as asked
    assert await to_the_end(clean_up()) == "removed"
