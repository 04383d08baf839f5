"""Direct (data-driven) restoration: a network trained for one degradation."""

from __future__ import annotations

from collections.abc import Iterator

from arena.errors import SpecError
from arena.method import METHODS, Method, Step, iterations_param
from arena.nets.rim import DEFAULT_DIRECT
from arena.params import Param
from arena.problem import Problem
from arena.unroll import checkpoint_path, trained_cell, unrolled_steps


def trained_for(meta: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The degradation family and parameters a direct network was trained on (from its metadata)."""
    # sorted: safetensors hands metadata back in hash order, which changes from one process to the next
    values = {k.split(".", 1)[1]: v for k, v in sorted(meta.items()) if k.startswith("degradation.")}
    return meta.get("degradation", "?"), values


@METHODS.register
class DirectNetwork(Method):
    """x̂ = f_ω(y): the RIM's recurrent cell fed with the first estimate x₀(y) instead of a gradient.

    Trained supervised on pairs (x, y) of one degradation — Gaussian blur σ = 1.6, noise σ = 2 —
    it never sees A, so it is fast and good on that problem and has no way to adapt to another:
    other degradation families are refused, other parameters of the same family run with a
    warning. The seeds' "data-driven, direct" approach, to set beside the RIM.
    """

    name = "direct"
    family = "learned"
    rule = r"\hat x = f_\omega(y)\quad\text{(trained on pairs } (x, y) \text{ of one degradation)}"
    label = "Direct network (one degradation)"
    reference = ("no paper: our supervised end-to-end baseline (the 'data-driven, direct' approach that "
                 "learned gradient descent is set against), built on the RIM's cell of Putzky & Welling, "
                 "Recurrent Inference Machines for Solving Inverse Problems, 2017")
    order = 71
    weights = ("direct_deblur.safetensors",)
    heavy = True
    params = (
        iterations_param(16),
        Param("weights", "", "a .safetensors direct cell from training/train_rim.py (empty: the shipped one)",
              server_path=True),
    )

    def _meta(self, weights: str = "") -> dict[str, str]:
        return trained_cell(checkpoint_path(weights, DEFAULT_DIRECT), "cpu", "start")[1]

    def supports(self, problem: Problem) -> str | None:
        try:
            family, values = trained_for(self._meta())
        except SpecError as exc:  # the shipped weights are missing or damaged
            return str(exc)
        if problem.degradation.name != family:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            return (f"trained only for {family} ({shown}); a direct network knows nothing about "
                    f"{problem.degradation.name} and must be retrained for it (the RIM runs on any degradation)")
        return None

    def warning(self, problem: Problem) -> str | None:
        family, values = trained_for(self._meta())
        differ = [f"{k}={v} (trained {values[k]})" for k, v in problem.degradation.values.items()
                  if k in values and str(v) != values[k]]
        if differ:
            return "warning: not trained for " + ", ".join(differ) + "; expect artefacts"
        return None

    def run(self, problem: Problem, *, iterations: int, weights: str) -> Iterator[Step]:
        cell, meta = trained_cell(checkpoint_path(weights, DEFAULT_DIRECT), str(problem.device), "start")
        if trained_for(meta)[0] != problem.degradation.name:  # a user's cell trained for another family
            raise SpecError(f"this direct network was trained for {trained_for(meta)[0]}, "
                            f"not {problem.degradation.name}")
        yield from unrolled_steps(cell, problem, iterations)
