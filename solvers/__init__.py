"""Numeric solvers for wellposed: optimal FSMF on tractable supports, butterfly chains, quantization."""
