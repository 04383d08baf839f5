"""Sweeps: the papers' tables from one spec — every (image, degradation, method, seed) cell a Ray task.

    arena sweep SPEC.toml --out DIR [--address ADDR] [--workers N] [--fresh]

A spec (TOML) names what to cross::

    images = ["camera", "astronaut", "photos/"]      # bundled names, files or folders
    degradations = ["blur:sigma=1.6,noise=2"]        # the CLI's SPEC strings
    methods = ["tikhonov", "tv:lam=[0.003,0.01]"]    # [a,b,...] is a grid: one cell per value
    seeds = [0, 1]
    max_side = 128          # optional, like the rest below
    seconds = 30            # time budget per run
    iterations = 300        # iteration cap per run
    tune = "off"            # off | auto | oracle

Each cell is one comparison with one method, exactly what ``arena run`` computes for it (same
config, same seed). Cells run as Ray tasks — Ray embedded on this machine by default, or the
cluster at ``--address``; the image travels with its task, the weights come with the installed
package. ``DIR/results.csv`` gains one row as each run ends (flushed to disk), keyed by a hash of
the run's full config (its methods' defaults included), its image and the weight files it reads, so
a killed or repeated sweep resumes and recomputes nothing it already has, and a retrained network
or a changed default recomputes its own runs.
``DIR/summary.md`` and ``DIR/psnr.png`` summarise; ``DIR/runs/KEY/config.json`` replays a run with
``arena run --config``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import re
import statistics
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arena.errors import ArenaError, SpecError
from arena.experiment import Config, bundled_images
from arena.params import format_spec
from arena.resources import WEIGHTS, file_digest

COLUMNS = ("key", "image", "degradation", "method", "params", "seed", "psnr", "ssim", "lpips", "seconds",
           "iterations", "data_fit", "status", "message")
"""``results.csv``'s columns, in order."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SPEC_KEYS = {"images", "degradations", "methods", "seeds", "max_side", "seconds", "iterations", "tune"}
RETRIES = 2
"""How often Ray restarts a task whose worker process died before the run is recorded as failed."""
GPU_SHARE = 0.25
"""The share of a GPU each task asks for on a cluster that has GPUs (four small runs per GPU)."""
KEY_LENGTH = 16


def expand_grid(spec: str) -> list[str]:
    """``tv:lam=[0.01,0.1],iterations=50`` → ``["tv:lam=0.01,iterations=50", "tv:lam=0.1,iterations=50"]``.

    A value written ``[a,b,...]`` is a grid axis; cells are the Cartesian product of the axes.
    """
    name, _, rest = spec.strip().partition(":")
    items = [s.strip() for s in re.split(r",(?![^\[]*\])", rest) if s.strip()]
    axes: list[list[str]] = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise SpecError(f"{name}: {item!r} is not key=value (spec {spec!r})")
        value = value.strip()
        if value.startswith("["):
            if not value.endswith("]"):
                raise SpecError(f"{name}: {item!r} opens a grid with [ but does not close it with ]")
            values = [v.strip() for v in value[1:-1].split(",") if v.strip()]
            if not values:
                raise SpecError(f"{name}: {key.strip()}=[] is an empty grid")
            axes.append([f"{key.strip()}={v}" for v in values])
        else:
            axes.append([f"{key.strip()}={value}"])
    return [f"{name}:{','.join(combo)}" if combo else name.strip() for combo in itertools.product(*axes)]


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: a Config with one method, and where its image comes from."""

    config: Config
    image_label: str
    """How the results name the image: a bundled name or the file's name."""
    image_bytes: bytes | None
    """The image file itself (None for a bundled image, which every install has)."""
    key: str = field(default="")

    @property
    def method(self) -> dict[str, Any]:
        return self.config.methods[0]


@dataclass
class SweepSpec:
    """A parsed, checked sweep spec (see the module docstring)."""

    images: list[str]
    degradations: list[str]
    methods: list[str]
    seeds: list[int] = field(default_factory=lambda: [0])
    max_side: int | None = 256
    seconds: float | None = None
    iterations: int | None = None
    tune: str = "off"
    root: Path = Path(".")
    """Relative image paths are read from here (the spec file's folder)."""

    @classmethod
    def load(cls, path: str | Path) -> SweepSpec:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise SpecError(f"no sweep spec at {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path} is not valid TOML ({exc})") from None
        return cls.from_dict(raw, root=path.parent)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], root: Path = Path(".")) -> SweepSpec:
        unknown = sorted(set(raw) - SPEC_KEYS)
        if unknown:
            raise SpecError(f"unknown sweep key {unknown[0]!r}; valid keys: {', '.join(sorted(SPEC_KEYS))}")
        for key in ("images", "degradations", "methods"):
            if not raw.get(key) or not isinstance(raw[key], list) or not all(isinstance(v, str) for v in raw[key]):
                raise SpecError(f"the sweep needs {key} = [\"...\", ...] (a list of strings)")
        seeds = raw.get("seeds", [0])
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                               for s in seeds):
            raise SpecError("seeds must be a list of whole numbers, e.g. seeds = [0, 1, 2]")
        max_side = raw.get("max_side", 256)
        return cls(list(raw["images"]), list(raw["degradations"]), list(raw["methods"]), list(seeds),
                   max_side or None, raw.get("seconds"), raw.get("iterations"), raw.get("tune", "off"), root)

    def image_files(self) -> list[tuple[str, Path | None]]:
        """(label, file) per image; a bundled name has no file here. Folders give their images, sorted."""
        out: list[tuple[str, Path | None]] = []
        bundled = bundled_images()
        for item in self.images:
            path = Path(item) if Path(item).is_absolute() else self.root / item
            if item in bundled and not path.exists():
                out.append((item, None))
            elif path.is_dir():
                found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if not found:
                    raise SpecError(f"the folder {path} holds no image ({', '.join(IMAGE_SUFFIXES)})")
                out += [(p.name, p) for p in found]
            elif path.is_file():
                out.append((path.name, path))
            else:
                raise SpecError(f"image {item!r} is neither a bundled image ({', '.join(bundled)}) nor a file "
                                f"or folder (relative paths are read from {self.root})")
        return out

    def cells(self) -> list[Cell]:
        """Every run, checked (a bad name or value raises before anything runs), each with its key."""
        degradations = [d for spec in self.degradations for d in expand_grid(spec)]
        methods = [m for spec in self.methods for m in expand_grid(spec)]
        images = [(label, path, None if path is None else path.read_bytes()) for label, path in self.image_files()]
        cells = []
        for (label, path, data), degradation, method, seed in itertools.product(
                images, degradations, methods, self.seeds):
            image = label if path is None else str(path.resolve())
            config = Config.from_specs(image, degradation, [method], seed=seed, max_side=self.max_side,
                                       seconds=self.seconds, iterations=self.iterations, tune=self.tune)
            cells.append(Cell(config, label, data, run_key(config, data)))
        if len({c.key for c in cells}) < len(cells):
            raise SpecError("the sweep lists the same run twice (a repeated image, degradation, method or seed)")
        return cells


def run_key(config: Config, image_bytes: bytes | None) -> str:
    """A run's identity: its config (the image by content, not by path), every parameter of its
    methods with the defaults filled in (a new parameter or a changed default is a new run), the
    content of every weight file it may read, and the code's version."""
    from arena import __version__
    from arena.method import METHODS

    doc = {k: v for k, v in config.__dict__.items() if k not in ("image", "device")}
    doc["image"] = hashlib.sha256(image_bytes).hexdigest() if image_bytes is not None else config.image
    doc["resolved"] = [METHODS.get(m["name"]).resolve(m.get("params", {})) for m in config.methods]
    doc["weights"] = weight_digests(config)
    doc["arena"] = __version__
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:KEY_LENGTH]


def weight_digests(config: Config) -> dict[str, str]:
    """sha256 of each weight file the run may read — its methods' (:attr:`Method.weights`), its
    degradation's and LPIPS's — by name, so a retrained network invalidates the rows it made."""
    from arena.degradations import DEGRADATIONS
    from arena.method import METHODS
    from arena.metrics import LPIPS_WEIGHTS

    files = [WEIGHTS / name for name in DEGRADATIONS.get(config.degradation).weights] + [LPIPS_WEIGHTS]
    for m in config.methods:
        files += METHODS.get(m["name"]).weight_files(m.get("params", {}))
    return {(f.name if f.parent == WEIGHTS else str(f)): file_digest(f) for f in files}


def run_cell(config_doc: dict[str, Any], image_bytes: bytes | None) -> dict[str, Any]:
    """Run one cell where it lands (a Ray worker): one comparison with one method, as ``arena run``
    computes it. Returns the row's measured fields; never raises (a failure is a row too)."""
    import tempfile

    from arena.errors import ArenaError
    from arena.experiment import prepare_experiment, run

    config = Config(**config_doc)
    with tempfile.TemporaryDirectory() as tmp:
        if image_bytes is not None:
            local = Path(tmp) / ("image" + Path(config.image).suffix)
            local.write_bytes(image_bytes)
            config.image = str(local)
        try:
            prepared = prepare_experiment(config)
            results = {}
            for ev in run(prepared, with_lpips=True, workers="threads"):
                if ev.kind == "done":
                    results = dict(ev.results or {})
        except ArenaError as exc:
            return {"status": "error", "message": str(exc)}
        except Exception as exc:  # a run's failure is recorded; the sweep goes on
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    (r,) = results.values()
    m = r.metrics
    out = {"psnr": m.get("psnr"), "ssim": m.get("ssim"), "lpips": m.get("lpips"), "seconds": r.seconds,
           "iterations": r.iterations, "data_fit": m.get("data_fit"), "status": r.status, "message": r.message}
    if r.x is not None:
        out["x"] = r.x.detach().cpu()
    return out


class Results:
    """``results.csv``: one row per finished run, appended and flushed as runs end.

    A row is whole or absent: a sweep killed while writing can leave a partial last line, which
    :meth:`load` drops (and the run is computed again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, str]] = {}

    def load(self) -> dict[str, dict[str, str]]:
        if not self.path.is_file():
            return self.rows
        text = self.path.read_text()
        whole = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
        for row in csv.DictReader(io.StringIO(whole)):
            if len(row.get("key") or "") == KEY_LENGTH and None not in row.values() and None not in row:
                self.rows[row["key"]] = row
        if whole != text or len(self.rows) != max(0, whole.count("\n") - 1):
            self._rewrite()
        return self.rows

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(self.rows.values())
        os.replace(tmp, self.path)

    def add(self, row: dict[str, Any]) -> None:
        line = io.StringIO()
        w = csv.DictWriter(line, COLUMNS)
        if not self.path.is_file() or self.path.stat().st_size == 0:
            w.writeheader()
        w.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})
        with self.path.open("a", newline="") as f:
            f.write(line.getvalue())
            f.flush()
            os.fsync(f.fileno())
        self.rows[row["key"]] = {k: str(row.get(k, "") if row.get(k) is not None else "") for k in COLUMNS}


def row_for(cell: Cell, got: dict[str, Any]) -> dict[str, Any]:
    """A results.csv row: the cell's identity and what its run measured."""
    return {"key": cell.key, "image": cell.image_label,
            "degradation": format_spec(cell.config.degradation, cell.config.degradation_params),
            "method": cell.method["name"], "params": ",".join(f"{k}={v}" for k, v in cell.method["params"].items()),
            "seed": cell.config.seed, **{k: v for k, v in got.items() if k in COLUMNS}}


def sweep(spec: SweepSpec, out: Path, *, address: str | None = None, workers: int | None = None,
          fresh: bool = False, quiet: bool = False) -> dict[str, dict[str, str]]:
    """Run every cell not already in ``out/results.csv`` on Ray; write the summary. Returns the rows."""
    cells = spec.cells()
    out.mkdir(parents=True, exist_ok=True)
    results = Results(out / "results.csv")
    if fresh:
        results.path.unlink(missing_ok=True)
    have = results.load()
    todo = [c for c in cells if c.key not in have]
    for c in todo:  # finished runs wrote theirs when they were queued
        _write_config(out, c)
    if todo:
        _run_on_ray(todo, results, out, address=address, workers=workers, quiet=quiet, total=len(cells))
    rows = [results.rows[c.key] for c in cells if c.key in results.rows]
    (out / "summary.md").write_text(summary_markdown(rows, spec))
    psnr_plot(rows, out / "psnr.png")
    return {r["key"]: r for r in rows}


def _write_config(out: Path, cell: Cell) -> None:
    """``runs/KEY/config.json``: what ``arena run --config`` replays (the image by its absolute path)."""
    folder = out / "runs" / cell.key
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cell.config.to_json(), indent=2, ensure_ascii=False))


def _reachable(address: str) -> None:
    """Fail at once, with a sentence, when nothing listens at HOST:PORT (Ray itself retries for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # ray://…, auto: Ray's own forms, left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ArenaError(f"nothing answers at {address} ({exc.strerror or exc}); start the cluster's head there "
                         "with `ray start --head --port PORT`") from None


def _run_on_ray(todo: list[Cell], results: Results, out: Path, *, address: str | None, workers: int | None,
                quiet: bool, total: int) -> None:
    import logging

    import ray
    from tqdm import tqdm

    from arena.images import save_png

    if not ray.is_initialized():
        if address:
            _reachable(address)
        kw: dict[str, Any] = {"address": address} if address else {"num_cpus": workers or os.cpu_count() or 1}
        try:
            ray.init(**kw, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                     configure_logging=True)
        except (ConnectionError, RuntimeError) as exc:
            raise ArenaError(f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[0]} (is `ray start "
                             "--head` running there? Ray clusters use token authentication: set RAY_AUTH_MODE=token "
                             "and copy the head's ~/.ray/auth_token to this machine)") from None
    gpus = ray.cluster_resources().get("GPU", 0)
    task = ray.remote(num_cpus=1, num_gpus=GPU_SHARE if gpus else 0, max_retries=RETRIES)(run_cell)
    # One copy of each image in Ray's object store, however many runs read it.
    images = {c.config.image: ray.put(c.image_bytes) for c in todo if c.image_bytes is not None}
    pending = {task.remote(asdict(c.config), images.get(c.config.image)): c for c in todo}
    bar = tqdm(total=total, initial=total - len(todo), desc="sweep", unit="run", file=sys.stderr,
               disable=quiet or None)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                cell = pending.pop(ref)
                try:
                    got = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died RETRIES + 1 times
                    got = {"status": "error", "message": f"its worker failed {RETRIES + 1} times: "
                                                         f"{type(exc).__name__}"}
                x = got.pop("x", None)
                if x is not None:
                    save_png(x, out / "runs" / cell.key / "restored.png")
                results.add(row_for(cell, got))
                bar.update(1)
    finally:
        bar.close()
        for ref in pending:
            ray.cancel(ref, force=True)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _label(row: dict[str, str]) -> str:
    """A method with the parameters its row set: ``tv (lam=0.01)``."""
    return row["method"] + (f" ({row['params']})" if row["params"] else "")


def summary_markdown(rows: list[dict[str, str]], spec: SweepSpec) -> str:
    """Mean ± std of PSNR, SSIM and LPIPS over images and seeds, per degradation × method (and its
    parameters); the best PSNR/SSIM/LPIPS of each degradation in bold; failed runs counted apart."""
    lines = ["# Sweep summary", "",
             f"{len(rows)} runs; images: {', '.join(spec.images)}; seeds: {', '.join(map(str, spec.seeds))}; "
             f"max side {spec.max_side}; tune {spec.tune}" + (f"; {spec.seconds:g} s per run" if spec.seconds else ""),
             "", "Mean ± std over images and seeds of the runs that ended (done or budget); failed runs are "
             "counted in the last column.", ""]
    by_degradation: dict[str, dict[str, list[dict[str, str]]]] = {}
    for r in rows:
        label = _label(r)
        by_degradation.setdefault(r["degradation"], {}).setdefault(label, []).append(r)
    metrics = (("psnr", "PSNR (dB)", max, ".2f"), ("ssim", "SSIM", max, ".3f"), ("lpips", "LPIPS", min, ".3f"))
    for degradation, methods in by_degradation.items():
        lines += [f"## {degradation}", "", "| method | runs | " + " | ".join(h for _, h, _, _ in metrics)
                  + " | seconds | failed |", "|---|---:|" + "---:|" * (len(metrics) + 2)]
        stats: dict[str, dict[str, tuple[float, float] | None]] = {}
        for label, runs in methods.items():
            ok = [r for r in runs if r["status"] in ("done", "budget")]
            stats[label] = {}
            for key, *_ in (*metrics, ("seconds",)):
                vals = [v for r in ok if (v := _number(r[key])) is not None]
                stats[label][key] = (statistics.fmean(vals), statistics.pstdev(vals)) if vals else None
        best = {key: pick([(s[key][0], label) for label, s in stats.items() if s[key]], default=(None, None))[1]
                for key, _, pick, _ in metrics}
        for label, runs in methods.items():
            cells = []
            for key, _, _, fmt in metrics:
                s = stats[label][key]
                text = "—" if s is None else f"{format(s[0], fmt)} ± {format(s[1], fmt)}"
                cells.append(f"**{text}**" if best[key] == label else text)
            sec = stats[label]["seconds"]
            failed = sum(r["status"] not in ("done", "budget") for r in runs)
            lines.append(f"| {label} | {len(runs)} | " + " | ".join(cells)
                         + f" | {'—' if sec is None else format(sec[0], '.1f')} | {failed or ''} |")
        lines.append("")
    errors = [r for r in rows if r["status"] not in ("done", "budget")]
    if errors:
        lines += ["## Runs that failed or were refused", ""] + [f"- {r['image']} · {r['degradation']} · {r['method']} "
                                           f"{r['params']} · seed {r['seed']}: {r['status']}: {r['message']}"
                                           for r in errors] + [""]
    lines += ["Replay any run: `arena run --config DIR/runs/KEY/config.json` (KEY: the row's key in results.csv).",
              ""]
    return "\n".join(lines)


def psnr_plot(rows: list[dict[str, str]], path: Path) -> None:
    """Per-image PSNR of each method (mean over seeds), one panel per degradation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    degradations = list(dict.fromkeys(r["degradation"] for r in rows))
    if not degradations:
        return
    images = list(dict.fromkeys(r["image"] for r in rows))
    fig, axes = plt.subplots(len(degradations), 1, figsize=(max(6.0, 1.2 * len(images) + 3), 3.2 * len(degradations)),
                             squeeze=False)
    for ax, degradation in zip(axes[:, 0], degradations, strict=True):
        mine = [r for r in rows if r["degradation"] == degradation and _number(r["psnr"]) is not None]
        for label in dict.fromkeys(_label(r) for r in mine):
            ys = []
            for image in images:
                vals = [_number(r["psnr"]) for r in mine if r["image"] == image and _label(r) == label]
                ys.append(statistics.fmean(vals) if vals else float("nan"))
            ax.plot(range(len(images)), ys, marker="o", label=label)
        ax.set_xticks(range(len(images)), images, rotation=30, ha="right")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(degradation, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
