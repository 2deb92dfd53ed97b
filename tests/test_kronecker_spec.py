"""The one Kronecker-sparse model and its one spec grammar: round trips, the chainability check, size errors.

``wellposed families``/``analyze`` (two-factor patterns) and ``wellposed factor`` (chains) parse specs with
:func:`wellposed.kronecker_spec.parse_chain_spec`; these tests pin what that grammar means.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.errors import InvalidChainError, InvalidSpecError
from wellposed.families import FAMILY_HELP, family
from wellposed.kronecker import (
    KSChain,
    KSPattern,
    chain_shape,
    check_chain,
    debut,
    dyadic_butterfly,
    is_chainable,
    monarch,
    product_pattern,
)
from wellposed.kronecker_spec import (
    CHAIN_SPEC_GRAMMAR,
    KRONECKER_FAMILIES,
    check_spec_shape,
    family_help_lines,
    kronecker_pair,
    parse_chain_spec,
)


# ---------------------------------------------------------------- grammar: meaning and round trips
@pytest.mark.parametrize("spec, chain", [
    ("butterfly:8", dyadic_butterfly(8)),
    ("butterfly:2", dyadic_butterfly(2)),
    ("butterfly:16:1", (KSPattern(1, 2, 2, 8), KSPattern(2, 8, 8, 1))),
    ("butterfly:16:3", (product_pattern(dyadic_butterfly(16)[:3]), product_pattern(dyadic_butterfly(16)[3:]))),
    ("monarch:4", (KSPattern(1, 4, 4, 4), KSPattern(4, 4, 4, 1))),
    ("monarch:3,4", (KSPattern(1, 3, 3, 4), KSPattern(3, 4, 4, 1))),
    ("debut:2x3,4x5", debut([(2, 3), (4, 5)])),
    ("ks:1,2,2,2;2,2,2,1", dyadic_butterfly(4)),
    ("ks:1,2,2,2/2,2,2,1", dyadic_butterfly(4)),
    ("ks:1,2,2,2;2,2,2,1;", dyadic_butterfly(4)),
    ("ks:1,2,2,1;1,2,2,1;1,2,2,1", (KSPattern(1, 2, 2, 1),) * 3),
])
def test_spec_meaning(spec, chain):
    parsed = parse_chain_spec(spec)
    assert isinstance(parsed, KSChain) and parsed.patterns == tuple(chain)
    assert tuple(parsed) == tuple(chain) and len(parsed) == len(chain) and parsed.shape == chain_shape(chain)


@pytest.mark.parametrize("spec", ["butterfly:8", "butterfly:64:2", "monarch:5", "monarch:3,7", "debut:2x3,1x4,5x5",
                                  "ks:1,2,3,1;3,1,2,1", "ks:2,1,1,1", "ks:1,4,4,2;2,4,4,1;8,1,1,1"])
def test_canonical_name_round_trips(spec):
    """The name of a parsed spec is a spec: it parses to the same chain, with the same name."""
    parsed = parse_chain_spec(spec)
    assert parsed.name == spec
    again = parse_chain_spec(parsed.name)
    assert again == parsed


@pytest.mark.parametrize("spec, same", [
    (" BUTTERFLY : 16 : 2 ", "butterfly:16:2"), ("Monarch: 4", "monarch:4"), ("DEBUT:2X3, 4x5", "debut:2x3,4x5"),
    ("KS: 1,2,2,2 / 2,2,2,1", "ks:1,2,2,2;2,2,2,1"),
])
def test_case_spaces_and_separators_do_not_matter(spec, same):
    assert parse_chain_spec(spec).patterns == parse_chain_spec(same).patterns


@st.composite
def valid_chains(draw) -> tuple[KSPattern, ...]:
    """Valid (not necessarily chainable) chains: each factor's rows are the previous factor's columns."""
    first = KSPattern(*draw(st.tuples(*[st.integers(1, 4)] * 4)))
    pats = [first]
    for _ in range(draw(st.integers(0, 3))):
        cols = pats[-1].shape[1]
        a = draw(st.sampled_from([x for x in range(1, cols + 1) if cols % x == 0]))
        d = draw(st.sampled_from([x for x in range(1, cols // a + 1) if (cols // a) % x == 0]))
        pats.append(KSPattern(a, cols // (a * d), draw(st.integers(1, 4)), d))
    return tuple(pats)


@settings(max_examples=100, deadline=None)
@given(chain=valid_chains(), sep=st.sampled_from([";", "/"]))
def test_any_valid_chain_round_trips_through_a_ks_spec(chain, sep):
    spec = "ks:" + sep.join(",".join(map(str, p.abcd)) for p in chain)
    parsed = parse_chain_spec(spec)
    assert parsed.patterns == chain and parse_chain_spec(parsed.name) == parsed


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=4))
def test_debut_specs_round_trip_and_are_chainable(blocks):
    spec = "debut:" + ",".join(f"{b}x{c}" for b, c in blocks)
    parsed = parse_chain_spec(spec)
    assert parsed.patterns == debut(blocks) and parsed.name == spec and parsed.chainable
    assert parsed.shape == (math.prod(b for b, _ in blocks), math.prod(c for _, c in blocks))


def test_monarch_means_n_equals_m_squared_everywhere():
    """``monarch:m`` is the N = m² Monarch in the analysis and in the factorization (the same parser)."""
    for m in range(1, 6):
        chain = parse_chain_spec(f"monarch:{m}")
        assert chain.shape == (m * m, m * m) and chain.patterns == monarch(m)
        assert family(f"monarch:{m}") == chain.pattern()
    assert parse_chain_spec("monarch:4,4").patterns == parse_chain_spec("monarch:4").patterns


def test_split_is_the_grouped_chain():
    for levels in range(2, 7):
        full = dyadic_butterfly(2**levels)
        for s in range(1, levels):
            pair = parse_chain_spec(f"butterfly:{2**levels}:{s}")
            assert pair.patterns == (product_pattern(full[:s]), product_pattern(full[s:]))


# ---------------------------------------------------------------- grammar errors
@pytest.mark.parametrize("spec, message", [
    ("fft:8", "unknown chain family 'fft' in 'fft:8'; use butterfly:N, butterfly:N:s, monarch:m"),
    ("butterfly", "spec = 'butterfly' is not a Kronecker-sparse chain spec"),
    ("butterfly:6", "'butterfly:6': N = 6 must be a power of two ≥ 2 (the dyadic butterfly)."),
    ("butterfly:12:1", "'butterfly:12:1': N = 12 must be a power of two ≥ 4 (the dyadic butterfly)."),
    ("butterfly:8:3", "'butterfly:8:3': split s = 3 must satisfy 1 ≤ s ≤ 2 for N = 8."),
    ("butterfly:8:1:1", "write butterfly:N (the whole chain) or butterfly:N:s"),
    ("butterfly:x", "'butterfly:x': N = 'x' is not an integer"),
    ("monarch:1,2,3", "write monarch:m (N = m²) or monarch:m,s"),
    ("monarch:0", "'monarch:0': m = 0 must be ≥ 1."),
    ("debut:2-3", "'debut:2-3': block '2-3' is not of the form BxC"),
    ("debut:2x0", "'debut:2x0': C1 = 0 must be ≥ 1."),
    ("ks:1,2,2", "expected 4 comma-separated integer(s) a,b,c,d, got '1,2,2'"),
    ("ks:1,2,2,2;1,3,3,1", "'ks:1,2,2,2;1,3,3,1': chain is not valid at factors 0 and 1: (1,2,2,2) has a·c·d = 4 "
                           "columns but (1,3,3,1) has a·b·d = 3 rows"),
    (42, "spec = 42 is not a Kronecker-sparse chain spec"),
])
def test_grammar_errors_name_the_spec_and_the_fix(spec, message):
    with pytest.raises(InvalidSpecError) as err:
        parse_chain_spec(spec)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_analysis_needs_two_factors():
    with pytest.raises(InvalidSpecError, match=r"'butterfly:16' is a chain of 4 Kronecker-sparse factors, but a "
                                               r"support pattern has two .*: write butterfly:16:s with 1 ≤ s ≤ 3\."):
        kronecker_pair("butterfly:16")
    with pytest.raises(InvalidSpecError, match="chain of 1 Kronecker-sparse factor, .* such as butterfly:N:s"):
        family("ks:1,2,2,1")
    assert kronecker_pair("butterfly:4").patterns == kronecker_pair("butterfly:4:1").patterns
    assert family("debut:2x3,3x2").shape == (6, 6, 9)


# ---------------------------------------------------------------- one help text
def test_help_texts_come_from_one_table():
    for name in KRONECKER_FAMILIES:
        assert f"  {name}:" in CHAIN_SPEC_GRAMMAR
        for line in family_help_lines(name):
            assert line in FAMILY_HELP.splitlines()
            assert line.partition(" — ")[0] in CHAIN_SPEC_GRAMMAR and line.partition(" — ")[2] in CHAIN_SPEC_GRAMMAR
    assert [line for line in FAMILY_HELP.splitlines() if line.split(":")[0] in KRONECKER_FAMILIES] == [
        "butterfly:N:s — split after factor s of the N×N dyadic butterfly",
        "monarch:m — Monarch, N = m², (1,m,m,m)·(m,m,m,1)",
        "ks:a,b,c,d;a,b,c,d — product of two Kronecker-sparse factors",
    ]


@pytest.mark.parametrize("line", CHAIN_SPEC_GRAMMAR.splitlines()[1:])
def test_every_form_of_the_help_parses_when_filled_in(line):
    form = line.split()[0]
    values = {"N": "16", "s": "2", "m": "3", "B1": "2", "C1": "3", "B2": "3", "C2": "2"}
    spec = form.replace(",...", "").replace(";...", "")
    family_name, _, args = spec.partition(":")
    if family_name == "ks":
        args = ";".join("1,2,2,1" for _ in args.split(";"))
    else:
        for key in sorted(values, key=len, reverse=True):
            args = args.replace(key, values[key])
    assert len(parse_chain_spec(f"{family_name}:{args}")) >= 1


# ---------------------------------------------------------------- the one chainability check
@pytest.mark.parametrize("pats, message", [
    ((KSPattern(1, 2, 2, 2), KSPattern(1, 3, 3, 1)),
     "chain is not valid at factors 0 and 1: (1,2,2,2) has a·c·d = 4 columns but (1,3,3,1) has a·b·d = 3 rows; "
     "make a·c·d of factor 0 equal a·b·d of factor 1."),
    ((KSPattern(2, 2, 3, 1), KSPattern(3, 2, 2, 1)),
     "chain is not chainable at factors 0 and 1 ((2,2,3,1) then (3,2,2,1)): a_0 = 2 does not divide a_1 = 3; "
     "chainable chains need a_l | a_(l+1)."),
    ((KSPattern(1, 2, 4, 2), KSPattern(1, 2, 2, 4)),
     "chain is not chainable at factors 0 and 1 ((1,2,4,2) then (1,2,2,4)): d_1 = 4 does not divide d_0 = 2; "
     "chainable chains need d_(l+1) | d_l."),
    ((KSPattern(1, 1, 3, 2), KSPattern(2, 3, 1, 1)),
     "chain is not chainable at factors 0 and 1 ((1,1,3,2) then (2,3,1,1)): r = a_0·c_0 / a_1 = 3/2 is not an "
     "integer."),
    ((KSPattern(1, 2, 2, 1), KSPattern(1, 2, 2, 1), KSPattern(2, 2, 2, 1)),
     "chain is not valid at factors 1 and 2: (1,2,2,1) has a·c·d = 2 columns but (2,2,2,1) has a·b·d = 4 rows"),
])
def test_check_chain_messages(pats, message):
    with pytest.raises(InvalidChainError) as err:
        check_chain(pats)
    assert str(err.value).startswith(message)
    assert not is_chainable(pats)


def test_check_chain_arguments():
    with pytest.raises(InvalidChainError, match="patterns is empty"):
        check_chain([])
    with pytest.raises(InvalidChainError, match="must be a sequence of KSPattern"):
        check_chain(KSPattern(1, 1, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidChainError, match=r"patterns\[1\] = \(2, 2, 2, 1\) must be a KSPattern"):
        check_chain([KSPattern(1, 2, 2, 2), (2, 2, 2, 1)])  # type: ignore[list-item]
    valid_not_chainable = (KSPattern(1, 1, 3, 2), KSPattern(2, 3, 1, 1))
    assert check_chain(valid_not_chainable, chainable=False) == valid_not_chainable
    assert not KSChain(valid_not_chainable).chainable


def test_chainable_pairs_multiply_to_their_product_pattern():
    """Every chainable pair with small parameters has a boolean product equal to product_pattern's mask."""
    quads = [q for q in itertools.product(range(1, 4), repeat=4) if math.prod(q) <= 12]
    checked = 0
    for p, q in itertools.product(quads, repeat=2):
        left, right = KSPattern(*p), KSPattern(*q)
        if left.shape[1] != right.shape[0] or not is_chainable((left, right)):
            continue
        prod = (left.mask().astype(int) @ right.mask().astype(int)) > 0
        assert np.array_equal(prod, product_pattern((left, right)).mask()), (left, right)
        checked += 1
    assert checked > 50


# ---------------------------------------------------------------- a spec that does not fit the matrix
@pytest.mark.parametrize("spec, shape, message", [
    ("monarch:16", (16, 16), "monarch:16 is 256×256 (N = m²) but the matrix is 16×16: use monarch:4."),
    ("monarch:4", (12, 12), "monarch:4 is 16×16 (N = m²) but the matrix is 12×12: 12 is not a square: use "
                            "monarch:m,s with m·s = 12, e.g. monarch:3,4."),
    ("monarch:3,4", (16, 16), "monarch:3,4 is 12×12 (N = m·s) but the matrix is 16×16: use monarch:4."),
    ("monarch:4", (16, 8), "monarch:4 is 16×16 (N = m²) but the matrix is 16×8: Monarch chains are square; write a "
                           "debut: or ks: chain for a 16×8 matrix."),
    ("butterfly:32", (64, 64), "butterfly:32 is 32×32 but the matrix is 64×64: use butterfly:64."),
    ("butterfly:16:2", (8, 8), "butterfly:16:2 is 16×16 but the matrix is 8×8: use butterfly:8:s with 1 ≤ s ≤ 2."),
    ("butterfly:16", (12, 12), "butterfly:16 is 16×16 but the matrix is 12×12: the dyadic butterfly is square with "
                               "N a power of two; write a debut: or ks: chain for a 12×12 matrix."),
    ("debut:2x3", (4, 4), "debut:2x3 is 2×3 (B1·B2·… × C1·C2·…) but the matrix is 4×4: choose blocks BxC whose B "
                          "multiply to 4 and whose C multiply to 4."),
    ("ks:1,2,2,1", (3, 3), "ks:1,2,2,1 is 2×2 but the matrix is 3×3: the first factor must have a·b·d = 3 rows "
                           "and the last a·c·d = 3 columns."),
])
def test_a_spec_that_does_not_fit_names_the_spec_that_would(spec, shape, message):
    with pytest.raises(InvalidSpecError) as err:
        check_spec_shape(parse_chain_spec(spec), shape)
    assert str(err.value) == message


def test_a_spec_that_fits_passes():
    for spec, shape in [("monarch:4", (16, 16)), ("monarch:3,4", (12, 12)), ("butterfly:64", (64, 64)),
                        ("debut:2x3,3x2", (6, 6)), ("ks:1,2,3,1", (2, 3))]:
        check_spec_shape(parse_chain_spec(spec), shape)


# ---------------------------------------------------------------- layering
def test_the_core_model_imports_no_solver_and_the_solver_modules_no_cycle():
    """wellposed.kronecker* never import the solvers; the modules factorize.py builds on never import it."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, wellposed.kronecker, wellposed.kronecker_spec, wellposed.kronecker_analysis, "
            "wellposed.families\nprint(sorted(m for m in sys.modules if m.startswith('wellposed.solvers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
    folder = Path(__file__).resolve().parent.parent / "solvers" / "butterfly"
    for name in ("factors.py", "chain_file.py", "blocks.py", "truncated_svd.py", "trees.py", "result.py"):
        tree = ast.parse((folder / name).read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not any(m and m.endswith("factorize") for m in imported), (name, imported)
