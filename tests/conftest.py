"""Shared test configuration: optional tools are skipped when missing, unless CI demands them all."""

import importlib.util
import os
import shutil

import pytest

_OPTIONAL = {
    "requires_qepcad": (lambda: shutil.which("qepcad") is not None, "qepcad not installed (apt-get install qepcad)"),
    "requires_dask": (lambda: importlib.util.find_spec("distributed") is not None,
                      'dask.distributed not installed (pip install "dask[distributed]")'),
    "requires_torch": (lambda: importlib.util.find_spec("torch") is not None,
                       "torch not installed (pip install torch==2.13.0)"),
    "requires_lazylinop": (lambda: importlib.util.find_spec("lazylinop") is not None,
                           'lazylinop not installed (pip install "wellposed[interop]")'),
    "requires_pyfaust": (lambda: importlib.util.find_spec("pyfaust") is not None,
                         'pyfaust not installed (pip install "wellposed[interop]")'),
    "requires_pandas": (lambda: importlib.util.find_spec("pandas") is not None,
                        'pandas not installed (pip install "wellposed[frame]")'),
    "requires_numba": (lambda: importlib.util.find_spec("numba") is not None,
                       'numba not installed (pip install "wellposed[fast]")'),
    "requires_chromium": (lambda: shutil.which("chromium") is not None,
                          "chromium not installed (apt-get install chromium)"),
}


def pytest_configure(config):
    if os.environ.get("WELLPOSED_REQUIRE_ALL_BACKENDS") == "1":
        missing = [why for check, why in _OPTIONAL.values() if not check()]
        if missing:
            raise pytest.UsageError("WELLPOSED_REQUIRE_ALL_BACKENDS=1 but: " + "; ".join(missing))


def pytest_collection_modifyitems(config, items):
    available = {name: check() for name, (check, _) in _OPTIONAL.items()}
    for item in items:
        for name, (_, why) in _OPTIONAL.items():
            if name in item.keywords and not available[name]:
                item.add_marker(pytest.mark.skip(reason=why))
