"""Numeric solvers for wellposed: optimal FSMF on tractable supports, baselines, butterfly chains, quantization.

Sub-packages: :mod:`solvers.butterfly` (Kronecker-sparse chains, hierarchical factorization, fast apply) and
:mod:`solvers.quantize` (t-bit rounding, optimal rank-one and butterfly quantization).
"""

from .baselines import BaselineResult, fit_fsmf_baseline
from .fsmf import FSMFResult, solve_fsmf

__all__ = ["solve_fsmf", "FSMFResult", "fit_fsmf_baseline", "BaselineResult"]
