import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    skip_qepcad = pytest.mark.skip(reason="qepcad not installed (apt-get install qepcad)")
    have_qepcad = shutil.which("qepcad") is not None
    for item in items:
        if "requires_qepcad" in item.keywords and not have_qepcad:
            item.add_marker(skip_qepcad)
