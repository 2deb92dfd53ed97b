"""Kronecker-sparse (butterfly) chains: patterns, factors, hierarchical factorization and fast apply."""

from wellposed.solvers.butterfly.factorize import (
    ORDERS,
    ButterflyResult,
    bit_reversal_permutation,
    factorize,
    split_errors_exact,
    two_factor_reference,
)
from wellposed.solvers.butterfly.factors import FactorChain, KSFactor, ks_apply, ks_apply_reference, load_metadata
from wellposed.solvers.butterfly.pattern import (
    CHAIN_SPEC_GRAMMAR,
    KSPattern,
    chain_shape,
    check_chain,
    debut,
    dyadic_butterfly,
    monarch,
    parse_chain_spec,
    product_pattern,
)

__all__ = [
    "KSPattern",
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
    "dyadic_butterfly",
    "monarch",
    "debut",
    "check_chain",
    "chain_shape",
    "product_pattern",
    "parse_chain_spec",
    "CHAIN_SPEC_GRAMMAR",
    "ORDERS",
]
