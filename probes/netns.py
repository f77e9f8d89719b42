"""Network namespaces: run blocking work (socket creation, netlink) inside one from asyncio.

A socket keeps the namespace it was created in, so probes open their sockets in a short-lived
worker thread that has ``setns``-ed into the target namespace, then use them from the event loop.
Each call gets a fresh thread: ``setns`` changes only the calling thread, and a fresh thread
cannot leak a foreign namespace into a pool other code shares.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from probes.errors import NetnsError

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


async def to_the_end(aw: Awaitable[T]) -> T:
    """Await work to its end even if the caller is cancelled meanwhile (Ctrl-C, SIGTERM):
    ``asyncio.shield`` alone lets a cancelled caller go on at once, and what it shielded is lost
    when the loop closes, or still runs when the next clean-up needs it done. The cancellation
    is raised again once the work has ended."""
    task = asyncio.ensure_future(aw)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


def outcome(task: asyncio.Future[T]) -> T | None:
    """What ``task`` returned, or None if it has no value: still running, cancelled, or
    raised (what a clean-up after a cancellation undoes)."""
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()
    return None


def _close_sockets(value: object) -> None:
    """Close the sockets in what a cancelled call made (a socket, or a tuple holding one)."""
    if isinstance(value, socket.socket):
        value.close()
    elif isinstance(value, tuple | list):
        for item in value:
            _close_sockets(item)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@dataclass(frozen=True, slots=True)
class Netns:
    """A network namespace, named by a file that refers to it; ``path=None`` is our own."""

    path: str | None = None
    label: str = "current"

    @classmethod
    def named(cls, name: str) -> Netns:
        """A namespace created with ``ip netns add NAME``."""
        return cls(f"/run/netns/{name}", name)

    @classmethod
    def of_pid(cls, pid: int, label: str | None = None) -> Netns:
        """The namespace a process (say a container's init) lives in."""
        return cls(f"/proc/{pid}/ns/net", label or f"pid {pid}")

    def __str__(self) -> str:
        return self.label

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in this namespace, blocking; from a fresh thread so nothing leaks."""
        if self.path is None:
            return fn()
        box: dict[str, object] = {}

        def worker() -> None:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)  # type: ignore[arg-type]
            except OSError as exc:
                box["error"] = NetnsError(self.label, f"cannot open {self.path}: {exc.strerror}")
                return
            try:
                _setns(fd)
            except OSError as exc:
                box["error"] = NetnsError(self.label, f"setns failed: {exc.strerror} (root needed)")
                return
            finally:
                os.close(fd)
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=worker, name=f"netns:{self.label}", daemon=True)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in this namespace without blocking the event loop. Cancelled meanwhile,
        it still waits for ``fn`` (a socket opened, a netlink read: milliseconds) and closes
        the sockets it made before the cancellation goes on: left to the garbage collector,
        they are ResourceWarnings, which the suites turn into errors (an interrupted run
        exited 1, as if the host were broken, instead of 2)."""
        work = asyncio.ensure_future(asyncio.to_thread(self.call, fn))
        try:
            return await to_the_end(work)
        except asyncio.CancelledError:
            made = outcome(work)
            _close_sockets(made)
            raise

    def exists(self) -> bool:
        return self.path is None or os.path.exists(self.path)
