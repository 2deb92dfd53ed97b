"""The doctests of ``wellposed.solvers``: its folder is outside the ``wellposed/`` tree, so pytest's
``--doctest-modules`` (which imports by path) would import it under a second name; here each module is imported
under its one installed name and its examples are run with the same option flags as the rest of the suite."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import wellposed.solvers

_FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules() -> list[str]:
    names = [wellposed.solvers.__name__]
    for info in pkgutil.walk_packages(wellposed.solvers.__path__, prefix="wellposed.solvers."):
        names.append(info.name)
    return sorted(names)


def _examples() -> list:
    params = []
    finder = doctest.DocTestFinder()
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module built on an optional package (torch_module: torch;
            # _numba_kernels: numba)
            if exc.name not in ("torch", "numba"):
                raise
            marker = getattr(pytest.mark, f"requires_{exc.name}")  # conftest skips it, or CI refuses the skip
            params.append(pytest.param(None, id=name, marks=marker))
            continue
        for test in finder.find(module, name):
            if test.examples:
                params.append(pytest.param(test, id=test.name))
    return params


@pytest.mark.parametrize("test", _examples())
def test_docstring_examples(test: doctest.DocTest) -> None:
    report: list[str] = []
    result = doctest.DocTestRunner(optionflags=_FLAGS).run(test, out=report.append)
    if result.failed:
        pytest.fail("".join(report), pytrace=False)
