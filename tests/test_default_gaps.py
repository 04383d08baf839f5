"""Fair by the method's own best: for every method with a tunable parameter and every problem of
``benchmarks/bench_defaults.py``, the default is within 1 dB of the method's own oracle on the
held-out photos, as measured in ``benchmarks/DEFAULTS.json`` (``python -m benchmarks.bench_defaults``).

Derived from the registry: a new tunable method fails here until it is benchmarked. Exceptions are
strict xfails with the measured reason, so each one flags the day it is fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arena.method import METHODS
from arena.problem import make_problem
from benchmarks.bench_defaults import GAP_DB, PROBLEMS, SAME_FUNCTIONAL, measured_as, tunable_methods
from tests.conftest import bundled

TABLE = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "DEFAULTS.json").read_text())["data"]
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _cases() -> list:
    out = []
    for method in tunable_methods():
        for label in PROBLEMS:
            marks = [pytest.mark.xfail(strict=True, reason=EXCEPTIONS[method, label])] if (method, label) in EXCEPTIONS else []
            out.append(pytest.param(method, label, marks=marks, id=f"{method}-{label.split()[0]}"))
    return out


@pytest.mark.parametrize("method,label", _cases())
def test_the_default_is_within_a_db_of_its_own_oracle(method: str, label: str):
    row, method = TABLE.get(label, {}), measured_as(method)
    assert f"{method}/off" in row and f"{method}/oracle" in row, \
        f"{method} on {label} is not in DEFAULTS.json: python -m benchmarks.bench_defaults --methods {method}"
    gap = row[f"{method}/oracle"]["psnr"] - row[f"{method}/off"]["psnr"]
    assert gap <= GAP_DB, f"{method} on {label}: its default is {gap:.2f} dB below its own oracle"


def test_reds_default_beats_tvs_on_sigma_25_denoising_of_the_held_out_photos():
    row = TABLE["denoising σ=25"]
    red, tv = row["red/off"]["psnrs"], row["tv/off"]["psnrs"]
    assert len(red) == len(tv) == 4 and all(r > t for r, t in zip(red, tv, strict=True)), (red, tv)


@pytest.mark.parametrize("method", sorted(SAME_FUNCTIONAL))
@pytest.mark.parametrize("label", list(PROBLEMS))
def test_a_method_measured_through_another_minimises_the_same_functional_with_the_same_rule(method: str, label: str):
    """Gauss–Newton and Levenberg–Marquardt minimise tv's F = ½‖A(x) − y‖² + λ TV_ε(x) with tv's λ
    rule (``arena.nonlinear_least_squares.tv_rule``), so their default and their oracle are tv's: measuring them
    again would cost hours of outer steps for the same minimiser."""
    from arena.params import parse_spec

    name, values = parse_spec(PROBLEMS[label])
    problem, _, _ = make_problem(bundled("camera", 32), name, values, seed=0)  # the schema coerces the spec
    ours, theirs = METHODS.get(method), METHODS.get(SAME_FUNCTIONAL[method])
    assert ours.resolve({}, problem)["lam"] == pytest.approx(theirs.resolve({}, problem)["lam"])
    assert ours.resolve({}, problem)["prior"] == "tv" and ours.tunable().name == theirs.tunable().name == "lam"
