"""Early stopping without the clean image: ES-WMV, the windowed moving variance of the iterates.

Deep Image Prior and its relatives fit structure before noise, so their reconstruction quality
rises, peaks and falls (the net starts to reproduce the noise). The clean image, which would
tell where the peak is, is exactly what a method never has. Wang et al. observe that the
*running variance* of the iterates follows the error curve: while the net converges towards the
image the iterates settle (the variance falls), and once it starts to fit the noise they wander
again (the variance rises). So:

    VAR(t) = (1/W) Σ_{w=0}^{W−1} ‖x_{t−w} − x̄_t‖²_F,     x̄_t = (1/W) Σ_{w=0}^{W−1} x_{t−w}

over the last W iterates, t* = the step of the lowest VAR seen so far; stop when VAR has not
reached a new minimum for P (patience) steps, and return x_{t*}.

VAR is kept in O(N) per step from running sums — VAR(t) = (1/W) Σ‖x_{t−w}‖² − ‖x̄_t‖² — in float64
(the two terms are close; float32 would cancel away the digits that matter), with the W buffered
iterates needed to drop the oldest one (W·N floats: 20 MB for W = 100 at 128² RGB).

References
----------
Hengkang Wang, Taihui Li, Zhong Zhuang, Tiancong Chen, Hengyue Liang, Ju Sun, "Early Stopping for
Deep Image Prior", Transactions on Machine Learning Research, 2023 (arXiv:2112.06074),
Algorithm 1 (ES-WMV).
"""

from __future__ import annotations

from collections import deque

import torch

STOP_RULES = ("es-wmv", "none")
"""Values of the ``stop`` parameter of DIP and DeepRED."""


class WindowedVariance:
    """ES-WMV: feed the iterates one by one with :meth:`update`; it says when to stop.

    Parameters
    ----------
    window : int
        W, how many of the latest iterates the variance is taken over (the paper uses 100).
    patience : int
        P, how many steps without a new variance minimum end the run.

    Attributes
    ----------
    step : int
        Iterates seen so far.
    variance : float or None
        VAR at the latest step (``None`` until W iterates were seen).
    best_step : int
        t*: the step of the lowest variance so far (0 before the window is full).
    best_variance : float
        VAR(t*).
    """

    def __init__(self, window: int = 100, patience: int = 200) -> None:
        if window < 2 or patience < 1:
            raise ValueError(f"ES-WMV needs window ≥ 2 and patience ≥ 1, got window={window}, patience={patience}")
        self.window, self.patience = int(window), int(patience)
        self._buffer: deque[torch.Tensor] = deque()
        self._sum: torch.Tensor | None = None
        self._sumsq = 0.0
        self.step = 0
        self.variance: float | None = None
        self.best_step = 0
        self.best_variance = float("inf")

    def update(self, x: torch.Tensor) -> bool:
        """Add iterate x_t; ``True`` when the rule says stop (no new minimum for ``patience`` steps).

        After a ``True`` (or at any time) :attr:`best_step` is t*. Returns ``False`` whenever the
        latest VAR is a new minimum — check :meth:`improved` to keep the iterate that goes with it.
        """
        x64 = x.detach().to(torch.float64)
        self.step += 1
        if self._sum is None:
            self._sum = torch.zeros_like(x64)
        self._buffer.append(x.detach().clone())
        self._sum += x64
        self._sumsq += float(x64.pow(2).sum())
        if len(self._buffer) > self.window:
            old = self._buffer.popleft().to(torch.float64)
            self._sum -= old
            self._sumsq -= float(old.pow(2).sum())
        if len(self._buffer) < self.window:
            return False
        mean = self._sum / self.window
        self.variance = max(self._sumsq / self.window - float(mean.pow(2).sum()), 0.0)
        if self.variance < self.best_variance:
            self.best_variance, self.best_step = self.variance, self.step
            return False
        return self.step - self.best_step >= self.patience

    @property
    def improved(self) -> bool:
        """The latest :meth:`update` set a new variance minimum (its iterate is the one to keep)."""
        return self.best_step == self.step and self.step > 0

    def describe(self, stop_step: int) -> str:
        """The sentence a method reports when the rule has fired at ``stop_step``."""
        return (f"stopped at step {stop_step} because the running variance of the last {self.window} outputs "
                f"stopped decreasing at step {self.best_step} (ES-WMV, Wang et al. 2023: no new minimum "
                f"for {stop_step - self.best_step} steps); the result is the output at step {self.best_step}")
