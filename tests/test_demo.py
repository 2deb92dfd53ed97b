"""Tests of the LU demo: the sequence, the norm bound, the symbolic proof, the contrast, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellposed.cli import main
from wellposed.demo import (
    MAX_DEMO_N,
    closed_contrast,
    contrast_pattern,
    gradient_descent,
    gradient_descent_reference,
    lu_no_factorization_proof,
    lu_norm_lower_bound,
    lu_pattern,
    lu_sequence,
    lu_sequence_reference,
    lu_target,
)
from wellposed.demo_figures import plot_lu_demo
from wellposed.errors import InvalidMatrixError, InvalidSpecError


@pytest.mark.parametrize("n", [2, 3, 5])
def test_sequence_matches_plain_loop_oracle(n):
    ks = [1, 2.5, 7, 100, 12345]
    seq = lu_sequence(n, ks)
    for i, (X, Y, err) in enumerate(lu_sequence_reference(n, ks)):
        np.testing.assert_allclose(seq.X[i], X)
        np.testing.assert_allclose(seq.Y[i], Y)
        assert seq.errors[i] == pytest.approx(err, rel=1e-12)


@pytest.mark.parametrize("n", [2, 4])
def test_sequence_is_lu_converges_and_blows_up(n):
    ks = np.geomspace(1, 1e6, 13)
    seq = lu_sequence(n, ks)
    pattern = lu_pattern(n)
    # factors respect the LU supports, products are the stated products
    assert not np.any(seq.X[:, ~pattern.x_support]) and not np.any(seq.Y[:, ~pattern.y_support])
    np.testing.assert_allclose(seq.products, seq.X @ np.swapaxes(seq.Y, 1, 2))
    np.testing.assert_allclose(seq.errors, 1 / ks, rtol=1e-9)
    np.testing.assert_allclose(seq.loss, 1 / ks**2, rtol=1e-9)
    assert np.all(np.diff(seq.x_norms) > 0) and np.all(np.diff(seq.y_norms) > 0)
    assert seq.x_norms[-1] > 1e3 and seq.y_norms[-1] > 1e3
    finite = np.isfinite(seq.lower_bound)
    assert finite[1:].all() and not finite[0]  # error 1 at k = 1: the bound says nothing there
    assert np.all(seq.x_norms[finite] * seq.y_norms[finite] >= seq.lower_bound[finite])
    np.testing.assert_allclose(seq.target, lu_target(n))


@settings(max_examples=60, deadline=None)
@given(k=st.floats(1.5, 1e6), c1=st.floats(-3, 3), c2=st.floats(-3, 3),
       noise=st.lists(st.floats(-1, 1), min_size=6, max_size=6))
def test_norm_lower_bound_holds_for_any_nearby_lu_factors(k, c1, c2, noise):
    """Rescaled, perturbed LU factors close to A obey ‖X‖‖Y‖ ≥ (1−δ)²/δ (THEORY: the LU example)."""
    seq = lu_sequence(2, [k])
    X, Y = seq.X[0].copy(), seq.Y[0].copy()
    for col, c in enumerate((10.0**c1, 10.0**c2)):
        X[:, col] *= c
        Y[:, col] /= c
    eps = np.array(noise) / (100 * k)
    X[np.tril_indices(2)] += eps[:3] * np.abs(X[np.tril_indices(2)])
    Y[np.tril_indices(2)] += eps[3:] * np.abs(Y[np.tril_indices(2)])
    delta = float(np.linalg.norm(X @ Y.T - lu_target(2)))
    if 0 < delta < 1:
        assert np.linalg.norm(X) * np.linalg.norm(Y) >= lu_norm_lower_bound(delta) * (1 - 1e-9)


@pytest.mark.parametrize("n", [2, 3])
def test_symbolic_proof(n):
    proof = lu_no_factorization_proof(n)
    assert proof.verified
    assert proof.solutions == ()
    assert proof.groebner == ("1",)
    assert proof.equations[0] == "x11*y11 = 0" and len(proof.equations) == 4


def test_no_factorization_cross_checked_by_z3():
    """Independent method: z3 finds the four real equations unsatisfiable, and the closure point
    is feasible once (1,1) is relaxed to a small ε (it is a limit)."""
    z3 = pytest.importorskip("z3")
    x11, x21, x22, y11, y21, y22 = z3.Reals("x11 x21 x22 y11 y21 y22")
    s = z3.Solver()
    s.add(x11 * y11 == 0, x11 * y21 == 1, x21 * y11 == 1, x21 * y21 + x22 * y22 == 0)
    assert s.check() == z3.unsat
    s = z3.Solver()
    s.add(x11 * y11 == z3.RealVal("1/1000"), x11 * y21 == 1, x21 * y11 == 1, x21 * y21 + x22 * y22 == 0)
    assert s.check() == z3.sat


@pytest.mark.parametrize("n", [2, 3])
def test_contrast_attains_its_infimum_cross_checked_by_fsmf_solver(n):
    from wellposed.solvers.fsmf import solve_fsmf

    c = closed_contrast(n)
    assert c.loss == pytest.approx(c.infimum, abs=1e-12)
    assert c.infimum == pytest.approx(1.0)
    assert c.X.shape == (n, n - 1) and c.pattern == contrast_pattern(n)
    result = solve_fsmf(c.target, c.pattern)
    assert result.optimal_value == pytest.approx(c.infimum, abs=1e-9)


@pytest.mark.parametrize("pattern_of", [lu_pattern, contrast_pattern], ids=["lu", "full"])
def test_gradient_descent_matches_plain_loop_oracle(pattern_of):
    pattern = pattern_of(2)
    runs = gradient_descent(lu_target(2), pattern, steps=150, lr=0.02, seeds=[3, 4], records=5)
    assert runs.steps[0] == 0 and runs.steps[-1] == 150
    for row, seed in enumerate([3, 4]):
        loss, xn, yn = gradient_descent_reference(lu_target(2), pattern, steps=150, lr=0.02, seed=seed)
        assert runs.final_loss[row] == pytest.approx(loss, rel=1e-10)
        assert runs.x_norms[row, -1] == pytest.approx(xn, rel=1e-10)
        assert runs.y_norms[row, -1] == pytest.approx(yn, rel=1e-10)


def test_gradient_descent_lu_drifts_while_closed_pattern_converges():
    A = lu_target(2)
    lu = gradient_descent(A, lu_pattern(2), steps=6000, seeds=[0, 1])
    full = gradient_descent(A, contrast_pattern(2), steps=6000, seeds=[0, 1])
    assert np.all(lu.final_loss < 0.05)  # well below the rank-1 minimum 1 ...
    assert np.all(lu.final_loss > 0)     # ... but never 0
    norm = np.hypot(lu.x_norms, lu.y_norms)
    assert np.all(norm[:, -1] > norm[:, len(lu.steps) // 2])  # still growing
    np.testing.assert_allclose(full.final_loss, 1.0, atol=1e-9)


def test_invalid_parameters_are_named():
    for bad in (1, MAX_DEMO_N + 1, "2", True, 2.0):
        with pytest.raises(InvalidSpecError, match="n = "):
            lu_target(bad)
    with pytest.raises(InvalidMatrixError, match="ks = "):
        lu_sequence(2, [1, -1])
    with pytest.raises(InvalidMatrixError, match="delta = "):
        lu_norm_lower_bound(1.5)
    with pytest.raises(InvalidSpecError, match="lr = "):
        gradient_descent(lu_target(2), lu_pattern(2), lr=2.0)
    with pytest.raises(InvalidSpecError, match="steps = "):
        gradient_descent(lu_target(2), lu_pattern(2), steps=0)
    with pytest.raises(InvalidMatrixError, match="finite 2×2"):
        gradient_descent(np.ones((3, 3)), lu_pattern(2))
    with pytest.raises(InvalidSpecError, match="fmt = 'jpg'"):
        plot_lu_demo(".", fmt="jpg")


def test_cli_max_n_matches_library():
    from wellposed.cli import demo as demo_cli

    assert demo_cli.MAX_N == MAX_DEMO_N


def test_cli_prints_table_and_proof(capsys):
    assert main(["demo", "lu", "--no-figures", "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "  10000          0.0001" in out  # the table row for k = 10⁴
    assert "Gröbner basis → ['1']" in out and "verified" in out
    assert "loss 1 = infimum 1" in out


def test_cli_n3_says_it_embeds(capsys):
    assert main(["demo", "lu", "--n", "3", "--no-figures", "--steps", "50"]) == 0
    assert "top-left corner, identity elsewhere" in capsys.readouterr().out


def test_cli_writes_small_svg_figures(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["demo", "lu", "--out", str(out), "--format", "svg", "--steps", "200"]) == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["lu-sequence.svg", "lu-supports.svg", "lu-training.svg"]
    for p in out.iterdir():
        assert str(p) in printed
        assert 1000 < p.stat().st_size < 200_000
        assert p.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_cli_bad_input_exit_2(tmp_path, capsys):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert main(["demo", "lu", "--out", str(afile), "--steps", "10"]) == 2
    assert capsys.readouterr().err.startswith("error: --out")
    assert main(["demo", "lu", "--n", "1"]) == 2  # argparse's usage errors: main returns 2
    assert main(["demo", "qr"]) == 2
