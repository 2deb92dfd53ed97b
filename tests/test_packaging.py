"""One import root: the folder ``solvers/`` installs as ``wellposed.solvers`` and nothing installs ``solvers``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> tuple[list[str], dict[str, str]]:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return setup["packages"], setup["package-dir"]


def test_every_package_folder_is_declared_under_the_wellposed_root() -> None:
    packages, package_dir = _declared()
    assert all(name == "wellposed" or name.startswith("wellposed.") for name in packages)
    found = []
    for name, folder in package_dir.items():
        base = ROOT / folder
        for init in sorted(base.rglob("__init__.py")):
            rel = init.parent.relative_to(base).parts
            found.append(".".join((name, *rel)))
    assert sorted(set(found)) == sorted(packages)


def test_imports_work_from_a_folder_with_its_own_solvers_package(tmp_path: Path) -> None:
    (tmp_path / "solvers").mkdir()
    (tmp_path / "solvers" / "__init__.py").write_text("raise ImportError('the user package, not ours')\n")
    code = ("import wellposed.solvers, wellposed.solvers.butterfly, wellposed.solvers.quantize\n"
            "from wellposed.solvers import solve_fsmf\n"
            "import sys; assert 'solvers' not in sys.modules, 'a top-level solvers was imported'\n"
            "print(wellposed.solvers.__name__)\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": ""}
    probe = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "wellposed.solvers"
    cli = subprocess.run([sys.executable, "-m", "wellposed", "--help"], cwd=tmp_path, capture_output=True,
                         text=True, env=env)
    assert cli.returncode == 0, cli.stderr
    assert "usage: wellposed" in cli.stdout
    factor = subprocess.run([sys.executable, "-m", "wellposed", "factor", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, env=env)
    assert factor.returncode == 0, factor.stderr
