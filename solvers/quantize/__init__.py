"""Optimal quantization of rank-one matrices and butterfly factors in t-bit floating point."""

from .butterfly import (
    METHODS,
    ChainQuantization,
    pair_supports_disjoint,
    quantize_chain,
    quantize_factors,
    quantize_pair,
)
from .floats import PRESETS, FloatFormat, as_format, round_to_format, round_to_format_reference
from .rank_one import (
    BatchQuantization,
    RankOneQuantization,
    naive_rank_one,
    quantize_rank_one,
    quantize_rank_one_batch,
)
from .rank_one_error import rank_one_error
from .rank_one_reference import quantize_rank_one_reference

__all__ = [
    "FloatFormat",
    "PRESETS",
    "as_format",
    "round_to_format",
    "round_to_format_reference",
    "RankOneQuantization",
    "BatchQuantization",
    "quantize_rank_one",
    "quantize_rank_one_batch",
    "quantize_rank_one_reference",
    "naive_rank_one",
    "rank_one_error",
    "ChainQuantization",
    "METHODS",
    "quantize_pair",
    "quantize_factors",
    "quantize_chain",
    "pair_supports_disjoint",
]
