"""Kronecker-sparse (butterfly) factors: hierarchical factorization, factor chains with fast apply, chain files.

The patterns, chains and their spec grammar are the core model: :mod:`wellposed.kronecker` (``KSPattern``,
``dyadic_butterfly``, ``monarch``, ``debut``, ``check_chain``, ``product_pattern``) and
:mod:`wellposed.kronecker_spec` (``parse_chain_spec``).
"""

from wellposed.solvers.butterfly.chain_file import NPZ_FORMAT, load_metadata
from wellposed.solvers.butterfly.factorize import (
    bit_reversal_permutation,
    factorize,
    split_errors_exact,
    two_factor_reference,
)
from wellposed.solvers.butterfly.factors import FactorChain, KSFactor, ks_apply, ks_apply_reference
from wellposed.solvers.butterfly.result import ButterflyResult
from wellposed.solvers.butterfly.trees import ORDERS

__all__ = [
    "KSFactor",
    "FactorChain",
    "ButterflyResult",
    "factorize",
    "split_errors_exact",
    "two_factor_reference",
    "bit_reversal_permutation",
    "ks_apply",
    "ks_apply_reference",
    "load_metadata",
    "NPZ_FORMAT",
    "ORDERS",
]
