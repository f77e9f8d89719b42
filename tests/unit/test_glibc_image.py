"""The lab's glibc image (AF-01's dynamic glibc beside busybox's static one) and the lab
profile's [family] table."""

from __future__ import annotations

import io
import tarfile

from lab.glibc_image import IMAGE, rootfs_tar
from probes.profile import parse_profile


def test_rootfs_holds_the_tools_and_the_glibc_they_load() -> None:
    with tarfile.open(fileobj=io.BytesIO(rootfs_tar())) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for path in ("bin/sh", "bin/sleep", "usr/bin/getent", "usr/bin/base64", "bin/cat"):
        assert members[path].isfile(), path
        assert members[path].mode & 0o111, path
    assert any(n.endswith("/libc.so.6") and members[n].isfile() for n in members)
    assert any("ld-linux" in n and members[n].isfile() for n in members)  # no host link
    assert members["tmp"].isdir()
    assert members["etc/nsswitch.conf"].isfile()
    # every file's directory is in the archive
    for name, m in members.items():
        if m.isfile() and "/" in name:
            assert name.rsplit("/", 1)[0] in members, name


def test_lab_profile_names_the_image_and_the_preference() -> None:
    from lab.describe import profile_toml

    d = {
        "name": "x",
        "scenario": "ula-pool",
        "anchors": [],
        "far_end": {"namespace": "x-inet"},
        "dns": {"servers": [], "names": {}},
        "nat64": {"expected": False, "ipv4_only": []},
        "endpoints": [],
        "family": {"prefer": "any", "images": [IMAGE]},
    }
    profile = parse_profile(profile_toml(d), source="lab")
    assert profile.family.prefer == "any"
    assert profile.family.images == (IMAGE,)
