"""The fleet's playbook and role parse (ansible-playbook --syntax-check), and the wrapper
turns a play that never reached the merge into status 3, not Ansible's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lab.fleet import ansible_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env(tmp_path: Path) -> dict[str, str]:
    return ansible_env(results=tmp_path / "results", home=tmp_path / "ansible", bin_dir=BIN)


def test_the_playbook_parses(tmp_path: Path) -> None:
    done = subprocess.run(
        [BIN / "ansible-playbook", "--syntax-check", "-i", "nohost,",
         ROOT / "ansible" / "v6conform.yml"],
        capture_output=True, text=True, env=env(tmp_path), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_play_that_stops_before_the_merge_is_no_verdict(tmp_path: Path) -> None:
    # an inventory file that does not parse: Ansible stops at once, before any host
    bad = tmp_path / "hosts.yml"
    bad.write_text("all: [unclosed\n")
    done = subprocess.run(
        [ROOT / "ansible/v6conform-fleet", "-i", str(bad)],
        capture_output=True, text=True, env=env(tmp_path), check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert "before the merge: no verdict" in done.stderr
