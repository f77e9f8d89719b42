"""The commands the lab's messages tell a person to run (lab/hints.py): they name the lab,
carry what made it, and paste into a shell."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from lab import Lab, LabError
from lab.hints import as_root, fleet_command, lab_command, this_command, up_command


def test_lab_commands_name_the_lab() -> None:
    assert lab_command("ux3", "down") == "python -m lab --name ux3 down"
    assert up_command("ux3") == "python -m lab --name ux3 up"
    assert up_command("ux3", "forward-drop", "29", "nftables") == (
        "python -m lab --name ux3 up --scenario forward-drop --docker 29 "
        "--firewall-backend nftables"
    )
    assert fleet_command("v6fl", "up") == "python -m lab fleet --fleet-name v6fl up"


def test_sudo_repeats_this_command_as_typed() -> None:
    # a module run's argv[0] is its __main__.py: typed again as python -m PACKAGE
    assert this_command(["/src/lab/__main__.py", "--name", "ux3", "down"]) == [
        sys.executable, "-m", "lab", "--name", "ux3", "down",
    ]  # fmt: skip
    said = as_root(["/venv/bin/pytest", "suites/", "--profile", "my host.toml"])
    assert said == "sudo /venv/bin/pytest suites/ --profile 'my host.toml'"
    assert shlex.split(said)[-1] == "my host.toml"


def test_up_again_makes_the_lab_as_it_was() -> None:
    lab = Lab("ux3")
    assert lab.up_again() == "python -m lab --name ux3 up"
    described = {
        "scenario": "nat66",
        "docker": {"generation": "28", "firewall_backend": "iptables"},
    }
    # iptables is dockerd's default: not asked for, not repeated
    assert lab.up_again(described) == "python -m lab --name ux3 up --scenario nat66 --docker 28"


def test_no_lab_names_the_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lab.lab.STATE_ROOT", tmp_path)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    with pytest.raises(LabError) as caught:
        Lab("ux3").description()
    assert str(caught.value) == "no lab 'ux3' is up: run `python -m lab --name ux3 up` first"


def test_not_root_says_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 65534)
    monkeypatch.setattr(sys, "argv", ["/src/lab/__main__.py", "--name", "ux3", "down"])
    with pytest.raises(LabError) as caught:
        Lab("ux3").down()
    assert str(caught.value).endswith(
        f"run it with sudo: sudo {sys.executable} -m lab --name ux3 down"
    )
    assert "broken" not in str(caught.value)
