"""Is P_{I,J} = {X Yᵀ} closed? Theorems, not-closed certificates, QE fallback, census."""

from .certificates import NotClosedCertificate
from .pipeline import BACKENDS, decide_closedness
from .theorems import absorption, closed_by_theorem
from .verdict import METHODS, Answer, ClosednessVerdict

__all__ = [
    "Answer",
    "ClosednessVerdict",
    "NotClosedCertificate",
    "METHODS",
    "BACKENDS",
    "decide_closedness",
    "closed_by_theorem",
    "absorption",
]
