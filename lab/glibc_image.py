"""The lab's glibc image: a container whose C library is Debian's dynamic glibc, beside the
busybox probe image's (glibc too, but linked statically into busybox), for AF-01.

Made from this machine's own Debian binaries and the libraries ``ldd`` says they load — a
shell, ``getent`` (glibc's own getaddrinfo, whole order printed), ``sleep`` and the few tools
AF-01's script uses — imported into the lab's dockerd (no registry). The lab's profile names it
in ``[family] images``: the harness starts a container of it on every IPv6 network (its own,
removed at the end) and asks its C library as it asks the probe containers'.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import urllib.parse
from pathlib import Path

from lab.engine import engine_call, engine_request
from lab.errors import LabError

IMAGE_REPO = "v6conform-lab/glibc"
IMAGE_TAG = "latest"
IMAGE = f"{IMAGE_REPO}:{IMAGE_TAG}"
# where in the image, from which of this machine's commands
TOOLS = {
    "bin/sh": "dash",
    "bin/sleep": "sleep",
    "bin/cat": "cat",
    "bin/rm": "rm",
    "usr/bin/getent": "getent",
    "usr/bin/base64": "base64",
    "usr/bin/tr": "tr",
}
NSSWITCH = b"hosts: files dns\n"
HOST_CONF = b"multi on\n"  # as Debian's: every /etc/hosts line of a name


def _libraries(binary: str) -> set[str]:
    """The shared objects ``binary`` loads, as ldd lists them (absolute paths)."""
    try:
        out = subprocess.run(
            ["ldd", binary], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabError(f"cannot list the libraries of {binary}: {exc}") from exc
    found = set()
    for line in out.splitlines():
        words = line.split()
        if "=>" in words and len(words) > words.index("=>") + 1:
            path = words[words.index("=>") + 1]
        elif words and words[0].startswith("/"):
            path = words[0]
        else:
            continue
        if path.startswith("/"):
            found.add(path)
    return found


def rootfs_tar() -> bytes:
    """The image's root file system, as a tar archive."""
    files: dict[str, str] = {}
    for inside, command in TOOLS.items():
        where = shutil.which(command, path="/usr/bin:/bin")
        if where is None:
            raise LabError(f"{command} not found on this machine: the glibc image needs it")
        files[inside] = where
        for lib in _libraries(where):
            files[lib.lstrip("/")] = lib
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        parents = {str(p) for inside in files for p in Path(inside).parents if str(p) != "."}
        for directory in sorted({"etc", "tmp", "proc", "sys", "dev", *parents}):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        for inside, source in sorted(files.items()):
            # the file itself, not a link to this machine's (the loader's path is a link here)
            real = Path(source).resolve()
            info = tar.gettarinfo(str(real), arcname=inside)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with real.open("rb") as f:
                tar.addfile(info, f)
        for name, text in (("etc/nsswitch.conf", NSSWITCH), ("etc/host.conf", HOST_CONF)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text), 0o644
            tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


def ensure_image(sock: Path) -> str:
    """The glibc image in the lab's daemon (imported once per daemon); its reference."""
    query = urllib.parse.urlencode({"filters": json.dumps({"reference": [IMAGE]})})
    if engine_request(sock, "GET", f"/images/json?{query}"):
        return IMAGE
    query = urllib.parse.urlencode({"fromSrc": "-", "repo": IMAGE_REPO, "tag": IMAGE_TAG})
    progress = engine_call(
        sock, "POST", f"/images/create?{query}", rootfs_tar(), "application/x-tar"
    )
    for line in progress.splitlines():
        if line.strip() and "error" in (message := json.loads(line)):
            raise LabError(f"importing {IMAGE}: {message['error']}")
    return IMAGE
