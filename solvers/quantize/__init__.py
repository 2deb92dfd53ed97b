"""Optimal quantization of rank-one matrices and butterfly factors in t-bit floating point."""
