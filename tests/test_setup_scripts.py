"""`make run` / `make test` set up what they need: packaging/system_deps.sh installs the system tools
with apt-get (root or sudo) and otherwise stops with one line naming the packages and the command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "packaging" / "system_deps.sh"


def _bin(tmp_path: Path, fakes: dict[str, str]) -> Path:
    """A PATH with the few real tools the script uses and fakes for the rest (no espeak-ng, no Xvfb...)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("ls", "grep", "cat", "true"):
        real = shutil.which(tool)
        assert real, tool
        (folder / tool).symlink_to(real)
    for name, body in fakes.items():
        path = folder / name
        path.write_text("#!/bin/bash\n" + body + "\n")
        path.chmod(0o755)
    return folder


def _run(folder: Path) -> subprocess.CompletedProcess:
    env = {"PATH": str(folder), "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_without_root_or_sudo_it_names_the_packages_and_the_command(tmp_path):
    log = tmp_path / "apt.log"
    folder = _bin(tmp_path, {"id": "echo 1000", "apt-get": f"echo \"$@\" >> {log}; exit 0", "ldconfig": "true"})
    proc = _run(folder)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "espeak-ng" in lines[0] and "xvfb" in lines[0] and "sudo apt-get install -y" in lines[0]
    assert not log.exists()  # nothing was attempted without the rights to do it


def test_as_root_it_installs_the_missing_packages_with_apt(tmp_path):
    log = tmp_path / "apt.log"
    folder = _bin(tmp_path, {"id": "echo 0", "apt-get": f"echo \"$@\" >> {log}; exit 0", "ldconfig": "true"})
    proc = _run(folder)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update")
    assert "install" in calls[1] and all(p in calls[1].split() for p in ("espeak-ng", "apertium", "xvfb", "g++"))


def test_a_failing_apt_is_one_clear_line(tmp_path):
    folder = _bin(tmp_path, {"id": "echo 0", "apt-get": "exit 100", "ldconfig": "true"})
    proc = _run(folder)
    assert proc.returncode == 1
    assert "Could not install" in proc.stderr and "sudo apt-get install -y" in proc.stderr


def test_without_apt_it_stops_and_says_what_is_missing(tmp_path):
    folder = _bin(tmp_path, {"id": "echo 0", "ldconfig": "true"})
    proc = _run(folder)
    assert proc.returncode == 1
    assert "espeak-ng" in proc.stderr and "package manager" in proc.stderr


def test_on_this_machine_nothing_is_missing_after_make():
    """make test ran the script before the tests: every tool is there now, so it does nothing."""
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
