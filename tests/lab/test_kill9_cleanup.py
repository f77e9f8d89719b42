"""A run killed outright (SIGKILL: no cleanup of its own) leaves probe containers, the probe image
it imported and the BuildKit cache records of the build it was in; the next run removes them all,
and nothing of a user's."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.suite_run import ROOT, lab_command, run_suites, suites_command
from lab import Lab
from probes import stale
from probes.docker import DockerEndpoint, probe_rootfs_tar
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cdk")
USER_IMAGE = "user/own:1"
USER_BUILT = "user/built:1"


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(120)
        sock.connect(self._path)
        self.sock = sock


def engine(lab: Lab, method: str, path: str, body: bytes | None = None) -> Any:
    """One Engine API call to the lab's dockerd; its JSON answer (a stream: its last object)."""
    conn = _UnixHTTPConnection(str(lab.state / "docker.sock"))
    try:
        headers = {"Content-Type": "application/x-tar"} if body is not None else {}
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        data = resp.read().decode(errors="replace")
    finally:
        conn.close()
    assert resp.status < 300, f"{method} {path}: HTTP {resp.status}: {data}"
    lines = [line for line in data.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def build_cache(lab: Lab) -> dict[str, str]:
    """Every build-cache record of the lab's dockerd: ID -> description."""
    df = engine(lab, "GET", "/system/df")
    return {r["ID"]: r["Description"] for r in df.get("BuildCache") or []}


def harness_leftovers(lab: Lab, user_cache: set[str]) -> dict[str, Any]:
    """Whatever the harness labelled or made that is still there."""
    return {
        "containers": lab.docker("ps", "-aq", "--filter", "label=io.v6conform").split(),
        "images": lab.docker("images", "-aq", "--filter", "label=io.v6conform").split(),
        "probe image": lab.docker("images", "-q", "v6conform-probe").split(),
        "build images": lab.docker("images", "-q", "v6conform-build").split(),
        # the lab's dockerd is the harness's and this test's own: every other record is the
        # harness's, and so is every image not the user's
        "build cache": {i: d[:60] for i, d in build_cache(lab).items() if i not in user_cache},
        "other images": sorted(
            set(lab.docker("images", "-aq").split()) - set(user_images(lab)) - set(site_images(lab))
        ),
    }


def user_images(lab: Lab) -> list[str]:
    return [i for ref in (USER_IMAGE, USER_BUILT) for i in lab.docker("images", "-q", ref).split()]


def site_images(lab: Lab) -> list[str]:
    """The lab site's own images (its workloads' and its glibc one, v6conform-lab/*): like the
    user's, not the harness's."""
    return lab.docker("images", "-q", "--filter", "reference=v6conform-lab/*").split()


def nothing(left: dict[str, Any]) -> bool:
    return not any(left.values())


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    up = lab_command(NAME, "up")
    assert up.returncode == 0, up.stderr
    try:
        yield Lab(NAME)
    finally:
        down = lab_command(NAME, "down")
        assert down.returncode == 0, down.stderr


def user_build(lab: Lab, tmp_path: Path) -> tuple[set[str], str]:
    """A user's own image, a container of theirs, and a BuildKit build of theirs (its cache
    records): what the harness must leave alone. Their cache record IDs and container."""
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(probe_rootfs_tar())
    lab.docker("import", str(rootfs), USER_IMAGE)
    container = lab.docker("create", USER_IMAGE, "/bin/busybox", "true").strip()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        text = f'FROM {USER_IMAGE}\nRUN ["/bin/busybox", "true"]\n'.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    answer = engine(lab, "POST", f"/build?version=2&t={USER_BUILT}&pull=0", context.getvalue())
    assert "error" not in (answer or {}), answer
    records = set(build_cache(lab))
    assert records, "the user's BuildKit build left no cache record"
    return records, container


def test_run_after_kill9_removes_what_the_killed_run_left(lab: Lab, tmp_path: Path) -> None:
    user_cache, user_container = user_build(lab, tmp_path)
    assert nothing(harness_leftovers(lab, user_cache)), harness_leftovers(lab, user_cache)
    killed = subprocess.Popen(
        suites_command(tmp_path / "killed", "--target", "lab", "--lab-name", NAME),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # kill it once its probe containers run and its BuildKit build is in its RUN step
        deadline = time.monotonic() + 300
        while True:
            assert killed.poll() is None, "the run ended before its build could be caught"
            assert time.monotonic() < deadline, "no probe container and build seen in time"
            probes = lab.docker("ps", "-q", "--filter", "label=io.v6conform=probe").split()
            new = {i: d for i, d in build_cache(lab).items() if i not in user_cache}
            if probes and any(d.startswith("mount / from exec ") for d in new.values()):
                break
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    assert killed.returncode == -signal.SIGKILL
    time.sleep(1)  # the daemon sees the build's client gone and stops the build
    left = harness_leftovers(lab, user_cache)
    # what the kill left, else this test would prove nothing
    assert left["containers"], left
    assert left["probe image"], left
    assert left["build cache"], left

    again = run_suites(tmp_path / "again", "--target", "lab", "--lab-name", NAME)
    assert again.returncode == 0, again.output
    left = harness_leftovers(lab, user_cache)
    assert nothing(left), left
    # and the user's own: their cache records, image and container, all there still
    assert user_cache <= set(build_cache(lab)), (user_cache, build_cache(lab))
    assert len(user_images(lab)) == 2
    assert user_container in lab.docker("ps", "-aq", "--no-trunc").split()


def remove_stale(lab: Lab) -> list[str]:
    async def go() -> list[str]:
        async with DockerEndpoint(lab.docker_host) as docker:
            return await stale.remove_stale(docker)

    return asyncio.run(go())


def test_a_probe_image_in_use_stays_until_nothing_uses_it(lab: Lab, tmp_path: Path) -> None:
    """The probe image of a run that is gone stays while a live run's container (one that found
    the image there) or a user's container from it still uses it."""
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(probe_rootfs_tar())
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid no process has (for now): the run that imported the image is gone
    host = socket.gethostname()
    lab.docker(
        "import",
        "--change",
        f"LABEL io.v6conform=image io.v6conform.run=gone io.v6conform.pid={gone.pid} "
        f"io.v6conform.host={host}",
        str(rootfs),
        "v6conform-probe:busybox",
    )
    live = lab.docker(
        "create",
        *("--label", "io.v6conform=probe", "--label", "io.v6conform.run=live"),
        *("--label", f"io.v6conform.pid={os.getpid()}", "--label", f"io.v6conform.host={host}"),
        "v6conform-probe:busybox",
        *("/bin/busybox", "sleep", "300"),
    ).strip()
    # a user's own container from it: it inherits the image's labels, and is not the harness's
    users = lab.docker("create", "v6conform-probe:busybox", "/bin/busybox", "true").strip()
    try:
        assert remove_stale(lab) == []
        assert lab.docker("images", "-q", "v6conform-probe").split()
        lab.docker("rm", "-f", live)
        assert remove_stale(lab) == []  # the user's container still uses it
        assert users in lab.docker("ps", "-aq", "--no-trunc").split()
        lab.docker("rm", "-f", users)
        assert len(remove_stale(lab)) == 1
        assert lab.docker("images", "-q", "v6conform-probe").split() == []
    finally:
        lab.docker("rm", "-f", live, users, check=False)
        lab.docker("rmi", "-f", "v6conform-probe:busybox", check=False)
