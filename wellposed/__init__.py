"""wellposed: is a fixed-support matrix factorization problem well-posed and tractable?

Convention: ``A ≈ X @ Y.T`` with ``X`` m×r supported on ``I`` (``x_support``) and ``Y`` n×r supported
on ``J`` (``y_support``). The entry points :func:`analyze` (one pattern, or every adjacent pair of a network)
and :func:`classify_many` (many patterns into a table), ``SupportPattern`` and ``as_mask`` are loaded on first
use, so that importing a light sub-module (errors, CLI helpers) does not load numpy.
"""

from __future__ import annotations

from ._lazy import lazy_exports
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all

__version__ = "0.1.0"
__all__ = ["analyze", "classify_many", "BatchTable", "SupportPattern", "as_mask",  # noqa: F405 (loaded lazily)
           "__version__", *_errors_all]

__getattr__, __dir__ = lazy_exports(__name__, {"analyze": "api", "classify_many": "api", "BatchTable": "api",
                                               "SupportPattern": "support", "as_mask": "support"})
