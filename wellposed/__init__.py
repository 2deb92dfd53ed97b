"""wellposed: is a fixed-support matrix factorization problem well-posed and tractable?

Convention: ``A ≈ X @ Y.T`` with ``X`` m×r supported on ``I`` (``x_support``) and ``Y`` n×r supported
on ``J`` (``y_support``).
"""

from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .support import SupportPattern, as_mask

__version__ = "0.1.0"
__all__ = ["SupportPattern", "as_mask", "__version__", *_errors_all]
