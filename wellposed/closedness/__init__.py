"""Is P_{I,J} = {X Yᵀ} closed? Theorems, not-closed certificates, QE fallback, census."""

from ..backends.answer import Answer
from .certificates import NotClosedCertificate
from .pipeline import decide_closedness
from .theorems import absorption, closed_by_theorem
from .verdict import METHODS, ClosednessVerdict

__all__ = [
    "Answer",
    "ClosednessVerdict",
    "NotClosedCertificate",
    "METHODS",
    "decide_closedness",
    "closed_by_theorem",
    "absorption",
]
