"""The result of a butterfly factorization: the factor chain, its error and the certificate of near-optimality."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from wellposed.solvers.butterfly.factors import FactorChain

__all__ = ["ButterflyResult"]


@dataclass(frozen=True)
class ButterflyResult:
    """Outcome of :func:`~wellposed.solvers.butterfly.factorize`.

    Attributes
    ----------
    chain : FactorChain
        The approximation: ``A ≈ chain.to_dense()``, ``A @ X ≈ chain @ X`` (with ``bit_reversal`` the chain holds
        the column permutation: its factors approximate ``A[:, perm]``).
    error, rel_error : float
        ``‖A − Â‖_F`` and ``‖A − Â‖_F / ‖A‖_F``, measured on the computed factors (by the residual inside the
        product's pattern, or, for the compiled orthonormalized left-to-right tree, as the sum of the energies
        its splits drop, read on their blocks; both to rounding, ``O(L·eps·‖A‖)``).
    split_errors : numpy.ndarray
        Length ``L−1``: entry ``s`` is a lower bound on the optimal two-factor error ``E_s`` of ``A`` at the
        split between factors ``s`` and ``s+1`` (``nan`` where not computed). Every chain lies in every
        two-factor set, so ``E* ≥ max_s split_errors[s]``.
    certificate_ratio : float
        ``error / max_s split_errors``: an upper bound on ``error / E*`` (``inf`` if the lower bound is 0
        and the error is not, ``1.0`` if both are 0).
    seconds : float
        Wall-clock time of the factorization (validation included, error measurement included).
    kernel : str
        The split kernels that ran: ``'compiled'`` (numba), ``'numpy'`` (the fused numpy kernels) or
        ``'reference'`` (the two-pass kernels, every tree but left-to-right), with the reason in parentheses
        when ``kernel='auto'`` ran numpy: numba is missing
        (``"numpy (numba is not installed: pip install 'wellposed[fast]')"``) or ``A`` is below the size rule
        (``"numpy (auto: entries of A 4096 <= 65536, too small for loading the compiled kernels to pay off)"``).
    """

    chain: FactorChain
    error: float
    rel_error: float
    split_errors: np.ndarray
    certificate_ratio: float
    seconds: float
    order: str
    orthonormalized: bool
    off_support_error: float
    kernel: str = "reference"

    @property
    def column_permutation(self) -> np.ndarray | None:
        """The bit-reversal permutation ``perm`` of a ``bit_reversal`` factorization (the factors approximate
        ``A[:, perm]``), else None; the chain's own ``column_permutation``."""
        return self.chain.column_permutation

    @property
    def lower_bound(self) -> float:
        """``max_s split_errors[s]``: a certified lower bound on the best error over the whole chain set."""
        finite = self.split_errors[np.isfinite(self.split_errors)]
        return float(finite.max()) if finite.size else self.off_support_error

    def to_dense(self) -> np.ndarray:
        """Dense approximation of ``A`` (``chain.to_dense()``)."""
        return self.chain.to_dense()

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Approximation of ``A @ X`` through the factors (``chain @ X``, ``O(nnz * batch)``)."""
        return self.chain.apply(X)

    def save(self, path: str) -> str:
        """Save the chain as ``.npz`` (see :meth:`FactorChain.save`; the permutation is part of the chain) with
        the result's metadata; return the file name written."""
        meta: dict[str, Any] = {
            "rel_error": np.float64(self.rel_error),
            "error": np.float64(self.error),
            "split_errors": self.split_errors,
            "certificate_ratio": np.float64(self.certificate_ratio),
            "order": np.array(self.order),
            "orthonormalized": np.bool_(self.orthonormalized),
        }
        return self.chain.save(path, **meta)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (no factor data)."""

        def num(x: float) -> float | str | None:
            return None if math.isnan(x) else (str(x) if math.isinf(x) else float(x))

        return {
            "shape": list(self.chain.shape),
            "patterns": [list(p.abcd) for p in self.chain.patterns],
            "nnz": self.chain.nnz,
            "dtype": str(self.chain.dtype),
            "order": self.order,
            "orthonormalized": self.orthonormalized,
            "kernel": self.kernel,
            "bit_reversal": self.column_permutation is not None,
            "error": num(self.error),
            "rel_error": num(self.rel_error),
            "off_support_error": num(self.off_support_error),
            "split_errors": [num(float(x)) for x in self.split_errors],
            "lower_bound": num(self.lower_bound),
            "certificate_ratio": num(self.certificate_ratio),
            "seconds": self.seconds,
        }
