"""Sparse networks before training: layer masks, consecutive two-factor splits, the L-factor linear set.

A network with weight masks ``M_1, …, M_L`` (``M_ℓ`` is ``out_ℓ × in_ℓ``, the torch ``Linear.weight``
layout, first layer first) computes through ``W_L ⋯ W_1`` with ``supp W_ℓ ⊆ M_ℓ``. Its *linear set* is
``P = {W_L ⋯ W_1}``. The two-factor pattern of the pair ``(W_{ℓ+1}, W_ℓ)`` is ``X = W_{ℓ+1}`` (mask
``M_{ℓ+1}``) and ``Yᵀ = W_ℓ`` (``y_support = M_ℓᵀ``), with ``r = out_ℓ`` the hidden width.

What is proven about ``P`` and how (see ``docs/networks.md`` for the proofs):

* **Linear merge (exact).** If every class of identical rank-one supports of a consecutive pair is
  complete, the set of products of that pair is the linear space of matrices supported on the boolean
  product of the two masks; the pair is replaced by one free factor with that mask. Partial permutation
  masks (identity, diagonal, permutations) always merge. The merged chain has *the same* linear set.
* **Two factors left.** Then ``P`` is a two-factor set: its closedness verdict (with certificate) is
  the one of :func:`wellposed.closedness.decide_closedness`; a not-closed certificate is lifted to an
  explicit curve of the original ``L`` factors and re-verified with exact arithmetic.
* **Chainable Kronecker-sparse chains** are closed (Le, Zheng, Riccietti, Gribonval, arXiv:2411.04506).
* **Full-factor merge (exact).** An all-ones factor next to a mask with a matching covering its nonzero
  columns (rows) also merges: the products are every matrix on the boolean product.
* **Three or more factors** (``docs/chains.md``): direct sums of blocks, restriction certificates (three
  factors), the chain closedness sentences decided by z3 under counted budgets (small chains).
* Anything else is reported as undecided ("open"). Boolean products of masks are only an upper bound
  of the supports of partial products, so the consecutive *splits* of a deep network are reported for
  tractability only, never as a closedness verdict about ``P``.
"""

from .chain_census import chain_classes, run_chain_census, summarize_chain_census
from .chain_verify import verify_chain_certificate
from .chains import direct_sum_blocks
from .kronecker_chains import KS_REFERENCE, ks_chain
from .linear_set import LINEAR_SET_METHODS, LinearSetVerdict, linear_set_verdict
from .masks import LayerInfo, bool_product, layer_info, validate_masks
from .pairs import pair_pattern
from .reduction import ChainReduction, reduce_chain
from .relu import RELU_REFERENCE, ReluReport, relu_report
from .report import NetworkReport, PairReport, SplitReport, analyze_network

__all__ = [
    "LayerInfo",
    "PairReport",
    "SplitReport",
    "ChainReduction",
    "LinearSetVerdict",
    "ReluReport",
    "NetworkReport",
    "validate_masks",
    "bool_product",
    "layer_info",
    "pair_pattern",
    "reduce_chain",
    "ks_chain",
    "direct_sum_blocks",
    "verify_chain_certificate",
    "chain_classes",
    "run_chain_census",
    "summarize_chain_census",
    "linear_set_verdict",
    "relu_report",
    "analyze_network",
    "LINEAR_SET_METHODS",
    "RELU_REFERENCE",
    "KS_REFERENCE",
]
