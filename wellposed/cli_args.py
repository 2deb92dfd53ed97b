"""Argument types and helpers shared by the CLI sub-command modules (cheap to import: no numpy at import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["positive_float", "positive_int", "usage_error", "load_matrix_npy"]


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (seconds, tolerances)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be ≥ 1")
    return value


def usage_error(message: str) -> int:
    """Print a one-line ``error: ...`` to stderr and return the bad-input exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def load_matrix_npy(path: str, parameter: str = "MATRIX") -> Any:
    """Read a numeric matrix from a ``.npy`` file or raise InvalidMatrixError naming the parameter and the fix."""
    import numpy as np

    from .errors import InvalidMatrixError

    if not path.lower().endswith(".npy"):
        raise InvalidMatrixError(f"{parameter} = {path!r} must be a .npy file; save A with numpy.save('A.npy', A).")
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidMatrixError(f"{parameter} file {path!r} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise InvalidMatrixError(f"cannot read {parameter} {path!r} as a .npy array: {exc}") from None
