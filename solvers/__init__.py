"""Numeric solvers for wellposed: optimal FSMF on tractable supports, baselines, butterfly chains, quantization.

Sub-packages: :mod:`wellposed.solvers.butterfly` (Kronecker-sparse chains, hierarchical factorization, fast apply) and
:mod:`wellposed.solvers.quantize` (t-bit rounding, optimal rank-one and butterfly quantization). The FSMF solver and the
baseline are re-exported lazily, so that importing a sub-module (e.g. a CLI module) stays cheap.
"""

from __future__ import annotations

from wellposed._lazy import lazy_exports

__all__ = ["solve_fsmf", "FSMFResult", "fit_fsmf_baseline", "BaselineResult"]

_LAZY = {"solve_fsmf": "fsmf", "FSMFResult": "fsmf_result", "fit_fsmf_baseline": "baselines",
         "BaselineResult": "baselines"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
