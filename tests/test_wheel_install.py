"""The wheel is shippable: built from the declared sources, installed into a fresh virtual environment, it carries
the case catalogue, LICENSE and the right version, and ``wellposed`` runs from a folder outside the repository.

The fresh environment gets the dependencies without downloading them: a ``.pth`` line puts this environment's
site-packages on its path. Python does not process the ``.pth`` files of a directory added that way, so the
editable install of this checkout (a finder started by a ``.pth`` file there) stays off, and ``wellposed``
imports from the wheel; the test checks that it does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import tomllib

import wellposed

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout)
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _copy_sources(dest: Path) -> None:
    """The files a build reads, as pyproject.toml declares them (the package folders, the readme and the
    licence), so that no build/ or egg-info folder is written into the checkout."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in sorted(set(meta["tool"]["setuptools"]["package-dir"].values())):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    for name in ["pyproject.toml", meta["project"]["readme"], *meta["project"]["license-files"]]:
        shutil.copy2(ROOT / name, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(the wheel, the fresh environment's python, a working folder outside the repository)."""
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents, "the temporary folder must lie outside the repository"
    src, dist, venv, work = base / "src", base / "dist", base / "venv", base / "work"
    src.mkdir()
    work.mkdir()
    (work / "cases").mkdir()  # the user's own folder called cases must not shadow the catalogue
    (work / "cases" / "__init__.py").write_text("raise ImportError('the user folder, not the catalogue')\n")
    (work / "cases" / "lu-2.json").write_text('{"x_support": ["1"], "y_support": ["1"]}\n')
    _copy_sources(src)
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w",
          str(dist)], cwd=work, timeout=300)
    (wheel,) = dist.glob("wellposed-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=work).stdout.strip())
    (site / "deps-from-the-test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], cwd=work, timeout=300)
    return wheel, python, work


def test_the_wheel_carries_the_catalogue_the_licence_and_the_version(installed: tuple[Path, Path, Path]) -> None:
    wheel, _, _ = installed
    assert wheel.name.startswith(f"wellposed-{wellposed.__version__}-")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(f"wellposed-{wellposed.__version__}.dist-info/METADATA").decode()
    catalogue = sorted(p.relative_to(ROOT / "cases").as_posix() for p in (ROOT / "cases").rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    assert "lu-2.json" in catalogue and any(f.startswith("census/") for f in catalogue)
    missing = [f for f in catalogue if f"wellposed/cases/{f}" not in names]
    assert not missing, f"files of cases/ missing from the wheel: {missing}"
    assert f"wellposed-{wellposed.__version__}.dist-info/licenses/LICENSE" in names
    assert f"Version: {wellposed.__version__}\n" in metadata
    assert not any(name.startswith(("solvers/", "cases/", "tests/")) for name in names), "a top-level folder leaked"


def test_the_installed_command_runs_outside_the_repository(installed: tuple[Path, Path, Path]) -> None:
    _, python, work = installed
    where = _run([str(python), "-c", "import wellposed, wellposed.cases as c; print(wellposed.__file__); "
                                     "print(c.__file__); print(wellposed.__version__)"], cwd=work).stdout.split()
    venv = python.parent.parent
    assert all(venv in Path(path).parents for path in where[:2]), f"imported from outside the fresh venv: {where}"
    assert where[2] == wellposed.__version__
    command = str(python.parent / "wellposed")
    analyze = _run([command, "analyze", "case:lu-2"], cwd=work).stdout
    assert analyze.startswith("lu-2: A is 2×2, r = 2 components")
    assert "  tractable: no [none]\n" in analyze
    assert "  closed: no (ill-posed for some A) [certificate:lu-obstruction]\n" in analyze
    listing = _run([command, "cases"], cwd=work).stdout
    count = len(list((ROOT / "cases").glob("*.json")))
    assert f"\n{count} cases; " in listing
    assert any(line.split()[:5] == ["t-shape-3x3", "3×3,", "r=2", "yes", "yes"] for line in listing.splitlines())
    folder = Path(_run([command, "cases", "--path"], cwd=work).stdout.strip())
    assert venv in folder.parents and (folder / "lu-2.json").is_file() and (folder / "census").is_dir()
