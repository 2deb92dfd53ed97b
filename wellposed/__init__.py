"""wellposed: is a fixed-support matrix factorization problem well-posed and tractable?

Convention: ``A ≈ X @ Y.T`` with ``X`` m×r supported on ``I`` (``x_support``) and ``Y`` n×r supported
on ``J`` (``y_support``). ``SupportPattern`` and ``as_mask`` are loaded on first use, so that importing
a light sub-module (errors, CLI helpers) does not load numpy.
"""

from __future__ import annotations

from ._lazy import lazy_exports
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all

__version__ = "0.1.0"
__all__ = ["SupportPattern", "as_mask", "__version__", *_errors_all]  # noqa: F405 (loaded lazily by __getattr__)

__getattr__, __dir__ = lazy_exports(__name__, {"SupportPattern": "support", "as_mask": "support"})
