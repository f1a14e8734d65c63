"""The wheel `pip install .` installs: what it holds, and the server running from it alone.

The wheel is built from a copy of the sources (nothing is written into the checkout), without
build isolation so that no network is needed, and unpacked as pip would install it. The server
then runs from that folder with `python -S` (no site-packages processing, so the checkout's
editable install cannot answer instead) and the project's dependencies on an explicit path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from fieldapp import __version__
from tests.conftest import stop_process
from tests.server.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVER = "from sync.server.cli import main; raise SystemExit(main())"  # the console script
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("fieldapp", "sync"):
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "-w", str(out), "."],
                   cwd=source, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("fieldapp-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked, as pip lays it out in site-packages."""
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def wheel_env(installed: Path, home: Path) -> dict[str, str]:
    """Only the unpacked wheel and the venv's dependencies on the path (no editable install)."""
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return {"PATH": "/usr/bin:/bin", "HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(installed), *sorted(dependencies)])}


def from_wheel(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -S ARGS` in `cwd`, seeing the unpacked wheel and the dependencies, nothing else."""
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=wheel_env(installed, cwd),
                          text=True, capture_output=True, timeout=60, check=False)


@contextmanager
def serving(installed: Path, data: Path, cwd: Path) -> Iterator[str]:
    """`fieldapp-server serve` from the unpacked wheel on a free loopback port; its address.
    Always stopped on leaving."""
    port = free_port()
    log = cwd / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-S", "-c", SERVER, "--data", str(data), "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd, env=wheel_env(installed, cwd), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server from the wheel did not answer: {log.read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        stop_process(process)


def _answers(url: str) -> bool:
    with suppress(httpx.TransportError):
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    return False


def test_the_wheel_holds_both_commands_the_resources_and_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"fieldapp-{__version__}.dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert "fieldapp = fieldapp.app:main" in entry_points
    assert "fieldapp-server = sync.server.cli:main" in entry_points
    assert {"fieldapp/resources/part2-notice.txt", "fieldapp/resources/passphrase-blocklist.txt",
            "fieldapp/py.typed", "sync/server/cli.py", "fieldapp/ui/selftest.py"} <= names
    assert not {name for name in names if name.startswith(("tests/", "bench/", "scripts/"))}


def test_the_client_finds_its_resources_inside_the_installed_package(
        installed: Path, tmp_path: Path) -> None:
    result = from_wheel(installed, "-c", "from fieldapp.storage.resources import "
                        "resources_dir, part2_notice, passphrase_blocklist; "
                        "print(resources_dir()); print(len(passphrase_blocklist())); "
                        "print(part2_notice().short)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder, blocked, short = result.stdout.splitlines()
    assert Path(folder) == installed / "fieldapp" / "resources"
    assert int(blocked) > 100
    assert "42 CFR part 2" in short


def test_the_server_runs_from_the_wheel_alone(installed: Path, tmp_path: Path) -> None:
    where = from_wheel(installed, "-c", "import sync.server.cli as m; print(m.__file__)",
                       cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    version = from_wheel(installed, "-c", SERVER, "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"fieldapp-server {__version__}", version.stderr
    data = tmp_path / "data"
    init = from_wheel(installed, "-c", SERVER, "--data", str(data), "init",
                      "--name", "Wheel Program", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    with serving(installed, data, tmp_path) as url:
        health = httpx.get(f"{url}/health", timeout=5).json()
    assert health == {"status": "ok", "version": __version__}
