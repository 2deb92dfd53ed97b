"""One import root: the folder ``solvers/`` installs as ``wellposed.solvers``, the case catalogue ``cases/`` as
``wellposed.cases`` (with all its data), and nothing installs ``solvers`` or ``cases``."""

from __future__ import annotations

import subprocess
import sys
from fnmatch import fnmatchcase
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


def _matches(path: str, glob: str) -> bool:
    """Whether ``path`` matches a setuptools package-data ``glob`` (a ``*`` never crosses a ``/``)."""
    parts, globs = path.split("/"), glob.split("/")
    return len(parts) == len(globs) and all(fnmatchcase(p, g) for p, g in zip(parts, globs, strict=True))


def test_the_whole_case_catalogue_is_package_data() -> None:
    """Every file of ``cases/`` (cases, census results, networks) ships in the wheel; no data file is left out
    by a package-data glob that does not match it."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folder = ROOT / setup["package-dir"]["wellposed.cases"]
    globs = setup["package-data"]["wellposed.cases"]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc"))
    assert any(f.startswith("census/") for f in files) and sum("/" not in f for f in files) >= 30
    missing = [f for f in files if not any(_matches(f, g) for g in globs)]
    assert not missing, f"files of {folder.name}/ that the wheel would leave out: {missing}"
    assert not _matches("networks/x.json", "*.json") and _matches("census/c.jsonl", "census/*.jsonl")


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


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved against ``package``)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
            module = ".".join([*base, node.module] if node.level and node.module else
                              base if node.level else [node.module or ""])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_library_modules_never_import_the_cli() -> None:
    """Layers: the CLI imports the library, never the other way (the docs generator reads the parser)."""
    packages, package_dir = _declared()
    offenders = []
    for name, folder in package_dir.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            module = ".".join((name, *rel)).removesuffix(".__init__")
            if module.startswith("wellposed.cli") or module in ("wellposed.__main__", "wellposed.docs_tools"):
                continue
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            bad = sorted(m for m in _imported_modules(path, package) if m == "wellposed.cli" or
                         m.startswith("wellposed.cli."))
            if bad:
                offenders.append(f"{module}: {bad}")
    assert not offenders, offenders
