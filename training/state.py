"""What the training scripts share: the common options, a resumable ``state.pt`` and a time budget."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch


def add_run_options(ap: argparse.ArgumentParser, save_every: int = 250) -> None:
    """``--save-every``, ``--resume``, ``--init``, ``--seed``, ``--threads``, ``--device``, ``--minutes``."""
    ap.add_argument("--save-every", type=int, default=save_every, help="steps between checkpoints of the state")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    ap.add_argument("--init", type=Path, default=None,
                    help="start the network from these .safetensors weights (a fresh optimiser and schedule)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the data is drawn on the CPU either way)")
    ap.add_argument("--minutes", type=float, default=0.0,
                    help="train for this wall time instead of --steps: the schedule follows the time used")


def start_run(args: argparse.Namespace) -> None:
    """Apply the run options: torch threads, the seed, and the output folder ``args.out``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)


class Budget:
    """Where a run is in its plan, as a fraction in [0, 1]: of ``steps`` or, when ``minutes`` is
    set, of that wall time (counted from this object's creation), so that a learning-rate schedule
    written against the fraction completes whichever way the run is bounded."""

    def __init__(self, steps: int, minutes: float = 0.0) -> None:
        self.steps, self.seconds, self._t0 = steps, 60.0 * minutes, time.time()

    def fraction(self, step: int) -> float:
        if self.seconds > 0:
            return min(1.0, (time.time() - self._t0) / self.seconds)
        return 1.0 if self.steps <= 0 else min(1.0, step / self.steps)

    def done(self, step: int) -> bool:
        return self.fraction(step) >= 1.0


class TrainingState:
    """Networks and optimiser (by name), the step reached, the training seconds and the loss log,
    saved together to ``path`` so that a cut-off run resumes where it stopped."""

    def __init__(self, path: Path, parts: dict[str, torch.nn.Module | torch.optim.Optimizer]) -> None:
        self.path, self.parts = path, parts
        self.step, self.seconds, self.log = 0, 0.0, []
        self._t0 = time.time()

    def resume(self) -> None:
        """Load ``path`` if it exists (a fresh run otherwise)."""
        if self.path.is_file():
            state = torch.load(self.path, weights_only=True, map_location="cpu")
            for name, part in self.parts.items():
                part.load_state_dict(state[name])
            self.step, self.seconds, self.log = int(state["step"]), float(state["seconds"]), list(state["log"])
        self._t0 = time.time()

    def elapsed(self) -> float:
        """Training seconds so far, this session included."""
        return self.seconds + time.time() - self._t0

    def save(self, step: int) -> None:
        """Checkpoint everything at ``step``."""
        self.step, self.seconds, self._t0 = step, self.elapsed(), time.time()
        torch.save({**{n: p.state_dict() for n, p in self.parts.items()}, "step": step, "seconds": self.seconds,
                    "log": self.log}, self.path)
