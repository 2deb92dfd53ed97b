"""Hypothesis strategies: random support patterns, and malformed inputs for the fuzz suite.

Every input strategy returns what a user could put on disk: ``bytes`` of a file (case file, JSONL batch,
``.npy``/``.npz``), or a ``str`` for the command line (family spec, chain spec, option value). Sizes stay
small so that a valid draw is cheap to process.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from hypothesis import strategies as st

from wellposed.errors import InvalidChainError
from wellposed.kronecker import KSPattern, check_chain
from wellposed.support import SupportPattern

__all__ = [
    "patterns", "symmetries", "json_values", "mask_values", "case_records", "case_file_bytes", "batch_line",
    "batch_file_bytes", "spec_strings", "chain_specs", "numeric_arrays", "npy_bytes", "npz_bytes",
    "corrupt_bytes", "pattern_npz_bytes", "batch_npz_bytes", "matrix_npy_bytes", "factor_file_bytes",
    "mask_file", "option_values", "SPEC_ALPHABET",
]


@st.composite
def patterns(draw, max_m: int = 4, max_n: int = 4, max_r: int = 4, min_dim: int = 1) -> SupportPattern:
    m = draw(st.integers(min_dim, max_m))
    n = draw(st.integers(min_dim, max_n))
    r = draw(st.integers(1, max_r))
    x = draw(st.lists(st.booleans(), min_size=m * r, max_size=m * r))
    y = draw(st.lists(st.booleans(), min_size=n * r, max_size=n * r))
    return SupportPattern(np.array(x).reshape(m, r), np.array(y).reshape(n, r))


@st.composite
def symmetries(draw, p: SupportPattern):
    """Random row, column and component permutations of ``p``."""
    rp = draw(st.permutations(range(p.m)))
    cp = draw(st.permutations(range(p.n)))
    kp = draw(st.permutations(range(p.r)))
    return rp, cp, kp


# ---------------------------------------------------------------- JSON values and case records
_HUGE_INTS = st.sampled_from([-1, 0, 2, 10**18, -(10**18), 2**63, 10**30, 10**99, -(10**99)])
_ODD_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, -0.0, 0.5])
_ODD_TEXT = st.sampled_from(["", "1", "0", "2", "é", "\x00", "\u2028", "\r\n", "ﬀ", "１", "10" * 3000, "🙂"])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), _HUGE_INTS, _ODD_FLOATS,
                         st.floats(allow_nan=True, allow_infinity=True), _ODD_TEXT, st.text(max_size=8))
#: Any JSON-like value, NaN and infinities included (``json.dumps`` writes them as NaN/Infinity literals).
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def _row_strings(draw) -> list[str]:
    """Rows of a mask as strings: mostly '0'/'1', sometimes ragged, empty or with foreign characters."""
    r = draw(st.integers(0, 4))
    rows = draw(st.lists(st.text(alphabet="01", min_size=r, max_size=r), min_size=0, max_size=4))
    if rows and draw(st.booleans()):
        i = draw(st.integers(0, len(rows) - 1))
        bad = draw(st.sampled_from(["2", "a", " ", "-", "é", "\x00", "１", "T", "01", "", "\ud800"]))
        j = draw(st.integers(0, len(rows[i])))
        rows[i] = rows[i][:j] + bad + rows[i][j + 1:]
    return rows


@st.composite
def mask_values(draw) -> object:
    """A value for ``x_support``/``y_support``: a plausible mask, a near miss, or something else."""
    kind = draw(st.sampled_from(["strings", "numbers", "odd", "any"]))
    if kind == "strings":
        return draw(_row_strings())
    if kind == "numbers":
        r = draw(st.integers(0, 3))
        entry = st.one_of(st.sampled_from([0, 1, True, False, 0.0, 1.0]), json_scalars)
        return draw(st.lists(st.lists(entry, min_size=r, max_size=r + draw(st.integers(0, 1))), max_size=3))
    if kind == "odd":
        return draw(st.sampled_from([[], [[]], [""], "10", 1, None, {"0": "1"}, [["1"], "1"], [[[1]]],
                                     ["1" * 5000], [[1] * 3] * 2 + [[1, 2, 3]], [None], [[float("nan")]]]))
    return draw(json_values)


@st.composite
def case_records(draw) -> object:
    """A case-file object: a valid pattern, a mutated one, a spec record, or any JSON value."""
    kind = draw(st.sampled_from(["valid", "mutated", "masks", "spec", "any"]))
    if kind == "any":
        return draw(json_values)
    if kind == "spec":
        return {"spec": draw(st.one_of(spec_strings(), json_values))}
    if kind in ("valid", "mutated"):
        rec: dict = draw(patterns(max_m=3, max_n=3, max_r=3)).to_json()
    else:
        rec = {"x_support": draw(mask_values()), "y_support": draw(mask_values())}
    if kind == "mutated":
        key = draw(st.sampled_from(["x_support", "y_support", "name", "id", "description", "source", "expected",
                                    "colour", "spec"]))
        if draw(st.booleans()) and key in rec:
            del rec[key]
        else:
            rec[key] = draw(st.one_of(mask_values(), json_values))
    return rec


def _duplicate_keys(rec: dict) -> str:
    """JSON text of ``rec`` with every key written twice (the second value wins in Python)."""
    parts = [f"{json.dumps(k)}: {json.dumps(v)}, {json.dumps(k)}: {json.dumps(v)}" for k, v in rec.items()]
    return "{" + ", ".join(parts) + "}"


@st.composite
def corrupt_bytes(draw, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped, inserted or appended (at least one change, may be none)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "append", "keep"]))
        pos = draw(st.integers(0, len(out)))
        if op == "truncate":
            del out[pos:]
        elif op == "flip" and pos < len(out):
            out[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "append":
            out += draw(st.binary(min_size=1, max_size=64))
    return bytes(out)


@st.composite
def case_file_bytes(draw) -> bytes:
    """The bytes of a .json case file, mostly malformed (see the module docstring of tests/test_fuzz.py)."""
    kind = draw(st.sampled_from(["json", "json", "duplicate", "mutated", "special", "encoded", "binary"]))
    if kind == "json":
        return json.dumps(draw(case_records()), ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if kind == "duplicate":
        rec = draw(patterns(max_m=3, max_n=3, max_r=3)).to_json()
        return _duplicate_keys(rec).encode()
    if kind == "mutated":
        text = json.dumps(draw(patterns(max_m=3, max_n=3, max_r=3)).to_json()).encode()
        return draw(corrupt_bytes(text))
    if kind == "encoded":
        text = json.dumps(draw(patterns(max_m=2, max_n=2, max_r=2)).to_json() | {"name": "é🙂"}, ensure_ascii=False)
        return text.encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig", "cp1252"])), "replace")
    if kind == "binary":
        return draw(st.binary(max_size=64))
    depth = draw(st.sampled_from([63, 64, 65, 1000, 100_000]))
    return draw(st.sampled_from([
        b"", b" ", b"\n", b"null", b"[]", b"{}", b"0", b'"10"', b"NaN", b"-Infinity", b"\xef\xbb\xbf{}",
        b"[" * depth, b"{" * depth, b'{"a":' * depth, b"[" * depth + b"]" * depth,
        b'{"x_support": ["1"], "y_support": ["1"], "name": ' + b"9" * 5000 + b"}",
        b'{"x_support": ["1"], "y_support": ["1"], "name": 1e999}',
        b'{"x_support": [[NaN]], "y_support": [[Infinity]]}',
        b'{"x_support": ["' + b"1" * 100_000 + b'"], "y_support": ["1"]}',
        b'{"x_support": ["1"], "y_support": ["1"], "name": "' + b"n" * 100_000 + b'"}',
        b'{"x_support": ["1"], "y_support": ["1"], "expected": {"closed": "maybe", "tractable": [1]}}',
        b'{"x_support": ["1\\u0000"], "y_support": ["1"]}',
        b'{"x_support": ["\\ud800"], "y_support": ["1"]}',
        b'{"x_support": ["1"], "y_support": ["1"]} trailing',
        b'{"x_support": ["1"], "y_support": ["1"]}\x00',
        b"\xff\xfe\x00\x00",
        b'{"spec": "lu:-3"}', b'{"spec": "full:0,0,0"}', b'{"spec": null}', b'{"spec": ["lu:2"]}',
    ]))


@st.composite
def batch_line(draw) -> bytes:
    """One line of a JSONL batch (no ``\\n`` inside; a ``\\r`` or U+2028 may be)."""
    kind = draw(st.sampled_from(["case", "spec", "garbage"]))
    if kind == "spec":
        data = json.dumps({"spec": draw(st.one_of(spec_strings(), json_values))}).encode()
    elif kind == "garbage":
        data = draw(st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"   ", b"\r", b"\x00", b"\xe2\x80\xa8",
                                                                        b"[" * 70, b"9" * 5000, b"{}"])))
    else:
        data = draw(case_file_bytes())
    return data.replace(b"\n", b" ")


@st.composite
def batch_file_bytes(draw, max_lines: int = 8) -> bytes:
    """A JSONL batch: lines joined by ``\\n`` or ``\\r\\n``, with or without a final line end."""
    lines = draw(st.lists(batch_line(), max_size=max_lines))
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    return end.join(lines) + draw(st.sampled_from([b"", end]))


# ---------------------------------------------------------------- command-line strings
SPEC_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789:,.;-"
_FAMILIES = ["lu", "full", "diag", "butterfly", "monarch", "ks", "mcp", "random", "LU", "lux", ""]
_NUMBERS = st.one_of(st.integers(0, 4).map(str),
                     st.sampled_from(["-1", "-0", "+2", "1.5", "1e3", "0x10", "nan", "inf", "", " ", "00",
                                      str(10**18), str(10**19), "9" * 50, "1_000", "٣", "²"]))


@st.composite
def spec_strings(draw) -> str:
    """A family spec: random text over ``SPEC_ALPHABET``, or a family name with fuzzed parameters."""
    if draw(st.booleans()):
        return draw(st.text(alphabet=SPEC_ALPHABET, max_size=24))
    name = draw(st.sampled_from(_FAMILIES))
    args = draw(st.lists(_NUMBERS | st.text(alphabet="01", max_size=4), max_size=6))
    seps = draw(st.lists(st.sampled_from([",", ";", ":", ".", "-"]), min_size=len(args), max_size=len(args)))
    return name + ":" + "".join(a + s for a, s in zip(args, seps, strict=True))[:-1]


@st.composite
def chain_specs(draw) -> str:
    """A ``factor --chain`` spec: random text, or a chain family with fuzzed parameters."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.text(alphabet=SPEC_ALPHABET + "x/ ", max_size=24))
    name = draw(st.sampled_from(["butterfly", "monarch", "debut", "ks", "fft", "BUTTERFLY"]))
    if name == "debut":
        blocks = draw(st.lists(st.tuples(_NUMBERS, _NUMBERS), max_size=3))
        return "debut:" + ",".join(f"{b}x{c}" for b, c in blocks)
    if name == "ks":
        quads = draw(st.lists(st.lists(_NUMBERS, min_size=3, max_size=5), max_size=3))
        return "ks:" + draw(st.sampled_from([";", "/"])).join(",".join(q) for q in quads)
    args = draw(st.lists(_NUMBERS, min_size=1, max_size=2))
    return name + ":" + ",".join(args)


_OPTION_VALUES = ["0", "-1", "-0", "1", "2", "0.5", "1e-300", "5e-324", "-1e-9", "nan", "NaN", "-nan", "inf",
                  "-inf", "Infinity", "1e308", "1e309", "9" * 30, str(2**63), str(2**64 + 1), "1e3", "0x10", "",
                  " ", "abc", "1,5", "1_0", "٣", "+3", "--", "2.5", "3"]


def option_values() -> st.SearchStrategy[str]:
    """A value for a numeric option: negative, zero, NaN, huge, non-numeric, or a small valid number."""
    return st.one_of(st.sampled_from(_OPTION_VALUES), st.integers(-3, 3).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6))


# ---------------------------------------------------------------- numpy files
_DTYPES = [np.bool_, np.uint8, np.int8, np.int64, np.uint64, np.float16, np.float32, np.float64, np.complex128,
           np.dtype("<U3"), np.dtype("S2"), np.dtype("V4"), np.dtype([("a", "<i4"), ("b", "<f8")]),
           np.dtype("datetime64[s]"), np.dtype(">f8"), np.dtype(object)]
_SPECIAL_VALUES = [0, 1, -1, 2, 0.5, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-310, 2**62]


@st.composite
def numeric_arrays(draw, shape=None, dtypes=None) -> np.ndarray:
    """A small array of a random dtype (object and structured included) and shape (0-size and 1-D included)."""
    if shape is None:
        ndim = draw(st.sampled_from([2, 2, 2, 0, 1, 3]))
        shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    dtype = np.dtype(draw(st.sampled_from(dtypes or _DTYPES)))
    size = int(np.prod(shape))
    values = draw(st.lists(st.sampled_from(_SPECIAL_VALUES) | st.floats(-3, 3), min_size=size, max_size=size))
    base = np.array(values, dtype=np.float64).reshape(shape)
    if dtype.kind == "O":
        return base.astype(object)
    if dtype.kind in "USV" or dtype.fields is not None or dtype.kind == "M":
        return np.zeros(shape, dtype=dtype)
    with np.errstate(all="ignore"):
        if dtype.kind in "iub":
            base = np.nan_to_num(base, nan=0, posinf=1, neginf=-1).clip(-100, 100)
        return base.astype(dtype)


def _save_npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _huge_header_npy(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\x00" * 64


@st.composite
def npy_bytes(draw, arrays=None) -> bytes:
    """A ``.npy`` file: a random array (or one of ``arrays``), possibly corrupt or with a lying header."""
    kind = draw(st.sampled_from(["array", "array", "corrupt", "header", "other"]))
    arr = draw(arrays if arrays is not None else numeric_arrays())
    if kind == "array":
        return _save_npy(arr)
    if kind == "corrupt":
        return draw(corrupt_bytes(_save_npy(arr)))
    if kind == "header":
        shape = draw(st.sampled_from([(10**12, 3), (3, 10**12), (2**62, 2**62), (0, 10**15), (-1, 2), (3,)]))
        return _huge_header_npy(shape, draw(st.sampled_from(["<f8", "|b1", "<c16", "|O"])))
    return draw(st.sampled_from([b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"not numpy", b"\x00" * 16,
                                 b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8}    \n",
                                 b"\x93NUMPY\x09\x00" + b"\x00" * 20]))


def _zip(members: dict[str, bytes], compress: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@st.composite
def npz_bytes(draw, arrays: dict | None = None, names: list[str] | None = None) -> bytes:
    """An ``.npz`` archive of ``arrays`` (or random ones named from ``names``), possibly corrupt: members
    dropped or added, lying headers, non-.npy members, truncated or flipped bytes."""
    if arrays is None:
        keys = draw(st.lists(st.sampled_from(names or ["arr_0", "arr_1", "x"]), unique=True, max_size=4))
        arrays = {k: draw(numeric_arrays()) for k in keys}
    members = {f"{k}.npy": _save_npy(np.asarray(v)) for k, v in arrays.items()}
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["drop", "replace", "header", "extra", "bad_member"]))
        key = draw(st.sampled_from(sorted(members))) if members else "x_support.npy"
        if op == "drop":
            members.pop(key, None)
        elif op == "replace":
            members[key] = draw(npy_bytes())
        elif op == "header":
            members[key] = _huge_header_npy(draw(st.sampled_from([(10**12, 4, 4), (2**40,), (4, 4, 2**40)])))
        elif op == "extra":
            members[draw(st.sampled_from(["names.npy", "arr_9.npy", "meta.txt", "../evil.npy", "format.npy"]))] = \
                draw(npy_bytes())
        else:
            members[key] = draw(st.binary(max_size=32))
    data = _zip(members, draw(st.booleans()))
    if draw(st.integers(0, 3)) == 0:
        data = draw(corrupt_bytes(data))
    return data


@st.composite
def pattern_npz_bytes(draw) -> bytes:
    """An ``.npz`` pattern file (arrays ``x_support``, ``y_support``), mostly malformed."""
    if draw(st.booleans()):
        arrays = dict(draw(patterns(max_m=3, max_n=3, max_r=3)).to_arrays())
        if draw(st.booleans()):
            arrays[draw(st.sampled_from(["x_support", "y_support"]))] = draw(numeric_arrays())
        return draw(npz_bytes(arrays))
    return draw(npz_bytes(names=["x_support", "y_support", "names", "arr_0"]))


@st.composite
def batch_npz_bytes(draw) -> bytes:
    """An ``.npz`` batch (``x_support`` (B, m, r), ``y_support`` (B, n, r), ``names``), mostly malformed."""
    b, m, n, r = (draw(st.integers(0, 3)) for _ in range(4))
    mask = st.sampled_from([np.bool_, np.uint8, np.int64, np.float64])
    arrays: dict = {"x_support": draw(numeric_arrays((b, m, r), [draw(mask)])),
                    "y_support": draw(numeric_arrays((b, n, r), [draw(mask)]))}
    if draw(st.booleans()):
        arrays["names"] = draw(st.sampled_from([np.array([f"p{i}" for i in range(b)]), np.array(["a"] * (b + 1)),
                                                np.arange(b), np.array([b"x"] * b, dtype="S1"),
                                                np.array(["é\u2028"] * b)]))
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(arrays)))
        arrays[key] = draw(numeric_arrays())
    return draw(npz_bytes(arrays))


@st.composite
def matrix_npy_bytes(draw, shape: tuple[int, int]) -> bytes:
    """A data matrix for ``solve``/``factor``: usually of ``shape`` (NaN, inf, huge, complex, int...),
    sometimes of another shape, 0-size, not 2-D or not a matrix at all."""
    if draw(st.integers(0, 3)) == 0:
        return draw(npy_bytes())
    if draw(st.integers(0, 3)) == 0:
        shape = draw(st.sampled_from([(0, shape[1]), (shape[0], 0), (shape[1], shape[0]), (shape[0] + 1, shape[1]),
                                      (shape[0] * shape[1],), (1, shape[0], shape[1])]))
    dtypes = [np.float64, np.float64, np.float32, np.float16, np.complex128, np.int64, np.uint8, np.bool_,
              np.dtype(">f8"), np.dtype("<U3"), np.dtype(object)]
    return _save_npy(draw(numeric_arrays(shape, dtypes)))


@st.composite
def factor_file_bytes(draw, valid: dict[str, np.ndarray]) -> bytes:
    """A mutation of a valid factor chain (the arrays ``valid`` written by ``wellposed factor``): arrays
    dropped, of other shapes or dtypes, NaN/inf/huge data, wrong counts and patterns."""
    arrays = dict(valid)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(arrays) or ["num_factors"]))
        op = draw(st.sampled_from(["drop", "nan", "huge", "shape", "dtype", "count", "pattern", "random"]))
        if op == "drop":
            arrays.pop(key, None)
        elif op in ("nan", "huge") and key.startswith("factor_"):
            value = {"nan": draw(st.sampled_from([np.nan, np.inf, -np.inf])),
                     "huge": draw(st.sampled_from([1e300, 1e154, 1e-320, 2.0**1023]))}[op]
            data = np.array(arrays[key], dtype=np.float64)
            if data.size:
                data.flat[draw(st.integers(0, data.size - 1))] = value
            arrays[key] = data
        elif op == "shape" and key in arrays:
            arrays[key] = np.resize(arrays[key], draw(st.sampled_from([(2, 2, 2), (1, 2, 2, 2, 1), (0, 2, 2, 1),
                                                                       (2, 2, 2, 2), (8,)])))
        elif op == "dtype" and key in arrays:
            dtype = np.dtype(draw(st.sampled_from([np.complex128, np.float32, np.int8, np.bool_, "<U2", np.float16])))
            try:
                with np.errstate(all="ignore"):
                    arrays[key] = np.asarray(arrays[key]).astype(dtype)
            except (TypeError, ValueError):  # e.g. the 'format' string as a number
                arrays[key] = np.zeros(np.shape(arrays[key]), dtype)
        elif op == "count":
            arrays["num_factors"] = draw(st.sampled_from([np.int64(0), np.int64(-1), np.int64(3), np.int64(2**62),
                                                          np.float64(2.0), np.float64(np.nan), np.array([2, 2]),
                                                          np.array("2"), np.array([]), np.uint64(2**64 - 1)]))
        elif op == "pattern":
            arrays[draw(st.sampled_from(["pattern_0", "pattern_1"]))] = draw(st.sampled_from([
                np.array([0, 2, 2, 2]), np.array([-1, 2, 2, 2]), np.array([1, 2, 2]), np.array([2**40, 2, 2, 2]),
                np.array([1.0, 2.0, 2.0, 2.0]), np.array([np.nan, 2, 2, 2]), np.array([1, 2, 2, 2, 1]),
                np.array([2, 2, 2, 1]), np.array([1, 4, 4, 1]), np.array([[1, 2], [2, 2]])]))
        else:
            arrays[key] = draw(numeric_arrays())
    return draw(npz_bytes(arrays))


@st.composite
def mask_file(draw) -> tuple[str, bytes]:
    """``(suffix, bytes)`` of a network mask file: .npz, .npy, .json or a torch-named file, mostly malformed."""
    suffix = draw(st.sampled_from([".npz", ".npy", ".json", ".pt", ".txt"]))
    if suffix == ".npz":
        if draw(st.booleans()):
            arrays = {f"arr_{i}": draw(numeric_arrays(dtypes=[np.bool_, np.uint8, np.float64, np.int64]))
                      for i in range(draw(st.integers(1, 3)))}
            return suffix, draw(npz_bytes(arrays))
        return suffix, draw(npz_bytes(names=["arr_0", "arr_1", "w", "format", "shape", "data", "indices", "indptr"]))
    if suffix == ".npy":
        return suffix, draw(npy_bytes())
    if suffix == ".json":
        masks = st.lists(st.one_of(_row_strings(), mask_values()), max_size=3)
        obj = draw(st.one_of(st.fixed_dictionaries({"masks": masks}),
                             st.fixed_dictionaries({"masks": masks, "names": json_values}), json_values))
        text = json.dumps(obj).encode()
        return suffix, draw(corrupt_bytes(text)) if draw(st.integers(0, 3)) == 0 else text
    return suffix, draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"PK\x03\x04" + b"\x00" * 40, b""])))


# ---------------------------------------------------------------- Kronecker-sparse chains
ks_patterns = st.builds(
    KSPattern,
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
)


@st.composite
def chainable_chains(draw, max_len=4):
    """Random chainable chains from the (b, c) block sizes and per-split ranks r_l."""
    L = draw(st.integers(1, max_len))
    a = 1
    pats = []
    b = draw(st.integers(1, 3))
    for ell in range(L):
        c = draw(st.integers(1, 3))
        if ell == L - 1:
            pats.append((a, b, c))
            break
        r = draw(st.integers(1, 2))
        # next a must be a multiple of a dividing a*c with r = a*c/a_next: choose a_next = a*c/r when integer
        if (a * c) % r:
            r = 1
        a_next = a * c // r
        pats.append((a, b, c))
        b = r * draw(st.integers(1, 2))
        a = a_next
    # d_l: product of what the later factors expand: derive from validity backwards, starting at d_L = 1
    ds = [1]
    for ell in range(len(pats) - 1, 0, -1):
        a1, b1, c1 = pats[ell - 1]
        a2, b2, _ = pats[ell]
        num = a2 * b2 * ds[0]
        den = a1 * c1
        if num % den:
            return check_chain([KSPattern(1, 2, 2, 1)])
        ds.insert(0, num // den)
    try:
        return check_chain([KSPattern(a_, b_, c_, d_) for (a_, b_, c_), d_ in zip(pats, ds, strict=True)])
    except InvalidChainError:
        return check_chain([KSPattern(1, 2, 2, 1)])
