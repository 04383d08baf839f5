"""One comparison, end to end: a :class:`Config` → image, problem, runner, report.

The CLI and the app both go through here, and ``config.json`` is a serialised :class:`Config`,
so ``arena run --config`` repeats a comparison exactly (same seed, same numbers on the same machine).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from arena import metrics
from arena.device import pick_device
from arena.errors import ImageLoadError, SpecError
from arena.images import fit_domain, load_image
from arena.lessons import Verdict
from arena.params import parse_spec
from arena.plots import maps_figure
from arena.problem import Problem, make_problem, observed_problem
from arena.report import metrics_document, write_report
from arena.resources import ASSETS
from arena.runner import Budget, Event, MethodResult, MethodSpec, prepare, run_comparison
from arena.settings import SETTINGS

CONFIG_VERSION = 1


IMAGES = ASSETS / "images"
OBSERVED = ASSETS / "observed"


def bundled_images() -> dict[str, Path]:
    """Bundled image names (``camera``, …) → their files."""
    return {p.stem: p for p in sorted(IMAGES.glob("*.png"))}


def bundled_observed() -> dict[str, Path]:
    """Bundled photos that come already degraded (``noisy_rocket``) → their files; no clean original."""
    return {p.stem: p for p in sorted(OBSERVED.glob("*.png"))}


def resolve_image(image: str) -> Path:
    """A path, or the name of a bundled image."""
    path = Path(image).expanduser()
    if path.is_file():
        return path.resolve()
    bundled = {**bundled_images(), **bundled_observed()}
    if image in bundled:
        return bundled[image]
    raise ImageLoadError(f"no image file {image!r}; give a path or one of the bundled names: {', '.join(bundled)}")


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose numbers a comparison depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("restoration-arena", "torch", "numpy", "scikit-image", "scipy", "bm3d", "lpips", "pillow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class Config:
    """Everything that defines a comparison (what ``config.json`` holds)."""

    image: str
    degradation: str
    degradation_params: dict[str, Any] = field(default_factory=dict)
    methods: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    device: str = "auto"
    max_side: int | None = 256
    seconds: float | None = None
    iterations: int | None = None
    metrics_every: int = 10
    sequential: bool = False
    tune: str = "off"
    """off | auto | oracle (:mod:`arena.tuning`)."""
    observed: bool = False
    """``image`` is a photo that came degraded (it is y, there is no clean image): metrics that need
    the clean image are None, and the noise level may be ``auto`` (estimated from the photo)."""

    @classmethod
    def from_specs(cls, image: str, degradation: str, methods: list[str], **kw: Any) -> Config:
        """Build from CLI-style specs (``blur:sigma=2``), checking every name and value."""
        name, values = parse_spec(degradation)
        specs = [MethodSpec.parse(m) for m in methods]
        jobs = prepare(specs)
        cfg = cls(image=image, degradation=name, degradation_params=values,
                  methods=[{"name": s.name, "params": dict(j.given)} for s, j in zip(specs, jobs, strict=True)], **kw)
        cfg.check()
        return cfg

    def method_specs(self) -> list[MethodSpec]:
        return [MethodSpec(m["name"], m.get("params", {}), m.get("key")) for m in self.methods]

    def check(self) -> None:
        """Validate names and parameter values (raises :class:`SpecError`)."""
        from arena.degradations import DEGRADATIONS
        from arena.params import resolve

        cls = DEGRADATIONS.get(self.degradation)
        auto = {k: v for k, v in self.degradation_params.items() if str(v).strip().lower() == "auto"}
        if auto and not self.observed:
            raise SpecError(f"{self.degradation}: {next(iter(auto))}=auto is estimated from an observed photo only "
                            "(--observed); give a number")
        if self.observed and not cls.observable:
            raise SpecError(f"{self.degradation}: its measurements are not an image, so a photo cannot be its "
                            "observation")
        known = {k: v for k, v in self.degradation_params.items() if k not in auto}
        self.degradation_params = {**resolve(cls.params, known, self.degradation), **auto}
        prepare(self.method_specs())
        if self.max_side == 0:  # "never downscale", as the CLI's --max-side 0 says it
            self.max_side = None
        for s in SETTINGS:
            setattr(self, s.name, s.check(getattr(self, s.name)))
        if self.observed and self.tune == "oracle":
            raise SpecError("oracle tuning needs the clean image, and an observed photo has none; use tune=auto")

    def to_json(self) -> dict[str, Any]:
        """The config plus the library versions that produced it (ignored when read back)."""
        return {"version": CONFIG_VERSION, **asdict(self), "libraries": library_versions()}

    @classmethod
    def load(cls, path: str | Path) -> Config:
        """Read a ``config.json``; a missing image falls back to the ``clean.png`` beside it."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise SpecError(f"no config file at {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path} is not valid JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise SpecError(f"{path} must hold a JSON object")
        raw.pop("version", None)
        raw.pop("libraries", None)
        raw.pop("tuned", None)  # the record of a past tuning; its choices are already in methods
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise SpecError(f"{path}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(known))}")
        try:
            cfg = cls(**raw)
        except TypeError as exc:
            raise SpecError(f"{path}: {exc}") from None
        mask = cfg.degradation_params.get("path")
        if isinstance(mask, str) and mask and not Path(mask).is_absolute():
            cfg.degradation_params["path"] = str(path.parent / mask)
        beside = path.parent / ("observed.png" if cfg.observed else "clean.png")
        if not Path(cfg.image).is_file() and cfg.image not in bundled_images() and beside.is_file():
            cfg.image = str(beside)
            cfg.max_side = None
        cfg.check()
        return cfg


@dataclass
class Prepared:
    """A degraded problem ready to run, with what only the runner may see."""

    config: Config
    problem: Problem
    clean: torch.Tensor | None
    """None for an observed photo."""
    degraded: torch.Tensor
    notices: list[str]
    degraded_metrics: dict[str, float | None]


TINY_OBSERVATION = 16
"""An observation with a side below this many pixels (SR ×8 of a 64-pixel image) gets a notice."""


def prepare_experiment(config: Config) -> Prepared:
    """Load the image, build the degradation and the observation (raises user-readable errors)."""
    device = pick_device(config.device)
    if config.observed:
        return _prepare_observed(config, device)
    loaded = load_image(resolve_image(config.image), max_side=config.max_side)
    x, notices = loaded.x, list(loaded.notices)
    jobs = [j for j in prepare(config.method_specs()) if j.method.domain is not None]
    if jobs:
        shapes = {j.method.domain for j in jobs}
        if len(shapes) > 1:
            raise SpecError("the chosen methods work at different image sizes: "
                            + ", ".join(f"{j.key} {j.method.domain}" for j in jobs))
        x, fitted = fit_domain(x, shapes.pop())  # type: ignore[arg-type]
        notices += fitted
        notices += [w for j in jobs if (w := j.method.domain_warning(x, j.params))]
    problem, clean, made = make_problem(x, config.degradation, config.degradation_params,
                                        seed=config.seed, device=device)
    refuse_unavailable(config, problem)
    notices += made
    if problem.y.dim() == 4 and min(problem.y.shape[-2:]) < TINY_OBSERVATION:
        h, w = problem.y.shape[-2:]
        notices.append(f"the observation is only {w}×{h} pixels: every method has very little to work from "
                       "(use a larger longest side or a smaller factor)")
    degraded = problem.degradation.preview(problem.y).detach()
    dm = {"psnr": metrics.psnr(degraded, clean), "ssim": metrics.ssim(degraded, clean),
          "lpips": metrics.lpips_distance(degraded, clean)}
    return Prepared(config, problem, clean, degraded, notices, dm)


def refuse_unavailable(config: Config, problem: Problem) -> None:
    """:class:`SpecError` with the method's own sentence if a chosen method needs something this
    machine lacks (a published weight file not in the cache, the optional deepinv package) — before
    anything runs, so nothing waits on the network and the CLI exits with code 2."""
    for job in prepare(config.method_specs()):
        why = job.method.unavailable(job.method.resolve(job.given, problem), problem)
        if why:
            raise SpecError(f"{job.key}: {why}")


def crop_observed(y: torch.Tensor, side: int | None) -> tuple[torch.Tensor, list[str]]:
    """An observed photo centre-cropped to ``side`` (never resized: resizing averages the noise away),
    with the notice that says so when it was cropped."""
    h, w = y.shape[-2:]
    if side is None or max(h, w) <= side:
        return y, []
    nh, nw = min(h, side), min(w, side)
    top, left = (h - nh) // 2, (w - nw) // 2
    return y[..., top : top + nh, left : left + nw].contiguous(), [
        f"centre-cropped from {w}×{h} to {nw}×{nh} (an observed photo is cropped, not resized, so its noise "
        "stays as it is)"]


def _prepare_observed(config: Config, device: torch.device) -> Prepared:
    """The photo is y. It is centre-cropped to ``max_side``, never resized: resizing averages the
    noise away and the estimated σ would no longer be the photo's."""
    loaded = load_image(resolve_image(config.image))
    y, cropped = crop_observed(loaded.x, config.max_side)
    notices = [*loaded.notices, *cropped]
    if any(j.method.domain is not None for j in prepare(config.method_specs())):
        raise SpecError("the generative methods (gan, csgm) need a clean image of their class; "
                        "an observed photo cannot be fitted to their size without changing its noise")
    problem, values, made = observed_problem(y, config.degradation, config.degradation_params,
                                             seed=config.seed, device=device)
    config.degradation_params = values  # the estimated σ, as a number: replays use it
    refuse_unavailable(config, problem)
    degraded = problem.degradation.preview(problem.y).detach()
    return Prepared(config, problem, None, degraded, notices + made, {"psnr": None, "ssim": None, "lpips": None})


def run(prepared: Prepared, *, cancel: Any = None, with_lpips: bool = True,
        workers: str = "threads") -> Iterator[Event]:
    """The runner's event stream for a prepared experiment (``workers``: see :func:`run_comparison`)."""
    c = prepared.config
    return run_comparison(prepared.problem, prepared.clean, c.method_specs(),
                          budget=Budget(c.iterations, c.seconds), metrics_every=c.metrics_every,
                          sequential=c.sequential, cancel=cancel, with_lpips=with_lpips, tune=c.tune,
                          workers=workers)


def cli_workers(prepared: Prepared) -> str:
    """Where ``arena run`` runs the methods: in worker processes on a CPU when a heavy (network)
    method is among them — the command's own Python (events, progress bars) then cannot hold the
    interpreter lock their steps need, which slowed DIP's paper-net step by a tenth in threads
    (``benchmarks/SKIPNET.md``) — and in threads otherwise, which start at no cost."""
    heavy = any(job.method.heavy for job in prepare(prepared.config.method_specs()))
    return "processes" if heavy and prepared.problem.device.type == "cpu" else "threads"


def save(prepared: Prepared, results: dict[str, MethodResult], out: str | Path,
         lesson: list[Verdict] | None = None) -> list[Path]:
    """Write images, metrics, plots and the config that reproduces this run (``lesson``: the
    verdicts of the preset it ran, recorded in ``metrics.json``)."""
    c = prepared.config
    doc = metrics_document(
        results, degradation={"name": c.degradation, **c.degradation_params,
                              "description": prepared.problem.degradation.describe()},
        seed=c.seed, degraded=prepared.degraded_metrics, notices=prepared.notices,
        lpips_status=metrics.lpips_status().reason)
    if lesson is not None:
        doc["lesson"] = [v.to_json() for v in lesson]
    cfg = c.to_json()
    cfg["image"] = str(resolve_image(c.image))
    # The values actually used (rules applied, tuned values chosen), so a replay is exact without tuning again.
    cfg["methods"] = [{**m, "params": dict(results[k].params) if (k := m.get("key") or m["name"]) in results
                       else m.get("params", {})} for m in c.methods]
    cfg["tune"] = "off"
    cfg["tuned"] = {k: r.tuning for k, r in results.items() if r.tuning}
    mask = c.degradation_params.get("path")
    if isinstance(mask, str) and mask:
        # A painted or user mask travels with the report, referenced relative to config.json.
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mask, Path(out) / "mask.png")
        cfg["degradation_params"] = {**c.degradation_params, "path": "mask.png"}
    if c.observed:  # replays read the observation itself, not the photo it came from
        cfg["image"] = "observed.png"
        cfg["max_side"] = None
    return write_report(out, clean=prepared.clean, degraded=prepared.degraded, results=results,
                        document=doc, config=cfg, observed=prepared.problem.y if c.observed else None,
                        maps=maps_figure(prepared.problem, results, prepared.clean))
