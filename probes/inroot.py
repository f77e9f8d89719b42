"""A file of a container's own file system, read as container runtimes read one.

The harness runs as root on the host and reads what a container wrote (its ``/etc/resolv.conf``)
through ``/proc/PID/root``. A container controls every name in that tree: it can make the file a
symbolic link to the host's file of another name, a device node of its choosing (``mknod`` is a
default capability, and no device cgroup applies to the host's root), a FIFO that never answers,
and it can swap a directory for a link while the harness walks the path. So, as runc and crun do:

- the path is resolved by the kernel *inside* the container's root: ``openat2`` with
  ``RESOLVE_IN_ROOT`` (an absolute link or ``..`` never leaves that root) and
  ``RESOLVE_NO_MAGICLINKS`` (no ``/proc/self/...`` jump out of it), in one system call, so a
  swap mid-walk cannot lead elsewhere;
- what it names is opened ``O_PATH`` first, which opens no device and blocks on nothing, and its
  type is checked on that descriptor; only a regular file is opened for reading, through the
  descriptor itself (``/proc/self/fd/N``: the same inode, never the name again), ``O_NONBLOCK``
  and ``O_NOCTTY``, and read up to a size cap. Anything else is said, never opened
  ("/etc/resolv.conf is a character device");
- where ``openat2`` is missing (Linux before 5.6, or a seccomp filter that refuses it), the walk
  is done here with the same guarantees: one ``O_PATH | O_NOFOLLOW`` descriptor per component,
  each opened relative to the one before, links read from their descriptor and resolved inside
  the root, ``..`` never above it.

Raises :class:`NotRegular` (an OSError) for what is no regular file, OSError for what cannot
be found or read; ``strerror`` says what was found.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from pathlib import PurePosixPath

MAX_LINKS = 40  # symbolic links followed in one path, as the kernel does
SYS_OPENAT2 = 437  # the same number on every architecture (the unified syscall table)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


class NotRegular(OSError):
    """What the path names is no regular file (a device, a FIFO, a directory…): not opened, not
    read. Evidence about the container, not a harness failure."""


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


_libc = ctypes.CDLL(None, use_errno=True)
_openat2_missing = False  # learnt once: the kernel or a seccomp filter refuses it


def read_in_root(root: str, path: str, *, limit: int) -> bytes:
    """``path`` inside the tree at ``root`` (``/proc/PID/root``), read only if it is a regular
    file, at most ``limit`` bytes."""
    dirfd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        found = _resolve(dirfd, path)
    finally:
        os.close(dirfd)
    try:
        mode = os.fstat(found).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise NotRegular(errno.EINVAL, f"{path} is {kind}: not read")
        # the inode just checked, opened by its descriptor: never the name again
        fd = os.open(
            f"/proc/self/fd/{found}", os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        )
    finally:
        os.close(found)
    try:
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _resolve(dirfd: int, path: str) -> int:
    """An ``O_PATH`` descriptor of ``path`` resolved inside ``dirfd``'s tree."""
    global _openat2_missing
    if not _openat2_missing:
        try:
            return _openat2(dirfd, path)
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EPERM):
                raise
            _openat2_missing = True
    return _walk(dirfd, path)


def _openat2(dirfd: int, path: str) -> int:
    how = _OpenHow(os.O_PATH | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    fd: int = _libc.syscall(
        SYS_OPENAT2, dirfd, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how)
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{path}: {os.strerror(err)}")
    return fd


def _walk(rootfd: int, path: str) -> int:
    """The fallback: the kernel's walk, done one held descriptor at a time."""
    stack = [os.dup(rootfd)]  # stack[0] is the root; a component is opened beside its parent
    parts = list(
        PurePosixPath(path).parts[1:] if path.startswith("/") else PurePosixPath(path).parts
    )
    links = 0
    try:
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if len(stack) > 1:  # never above the container's root
                    os.close(stack.pop())
                continue
            fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                try:
                    target = PurePosixPath(os.readlink("", dir_fd=fd))
                finally:
                    os.close(fd)
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, f"too many levels of symbolic links in {path}")
                if target.is_absolute():
                    while len(stack) > 1:
                        os.close(stack.pop())
                    parts = list(target.parts[1:]) + parts
                else:
                    parts = list(target.parts) + parts
                continue
            stack.append(fd)
        if len(stack) == 1:
            return os.dup(stack[0])
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)
