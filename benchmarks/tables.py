"""The papers' tables from sweeps: run a spec of ``benchmarks/sweeps/`` on Ray, render its table.

    python -m benchmarks.tables NAME [--out runs/tables/NAME] [--faces N] [--workers N] [--address ADDR]

NAME is a spec in ``benchmarks/sweeps/`` (``gan_yeh``, ``csgm``, ``classical``, ``pnp``, ``nonlinear``).
The sweep resumes like ``arena sweep`` (a second call recomputes nothing); the table —
one row per degradation, one column per method, mean PSNR / SSIM over the images, the best PSNR of a
row in bold — is written to ``benchmarks/sweeps/NAME.md``, keeping that file's ``## Reading``
section. A method swept over a grid shows its setting with the best mean PSNR *on these images* (an
oracle over the grid, said under the table) — unless the spec holds ``tune_faces = K``: then each
grid's setting is chosen per degradation on K other held-out faces (the last K of the held-out seeds,
never in a table) and the table reports that setting, as Yeh et al. tuned their baselines. Below the
table, every setting of each grid with its mean seconds. ``--faces N`` replaces the spec's images with
the first N held-out faces drawn by code.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import tomllib
from pathlib import Path

from PIL import Image

from arena.sweep import SweepSpec, sweep
from benchmarks.bench_methods import machine

SWEEPS = Path(__file__).resolve().parent / "sweeps"


def held_out_faces(n: int, folder: Path, *, last: bool = False) -> Path:
    """Write the first (or, with ``last``, the last) ``n`` held-out faces — never in the GAN's training
    set — as PNGs."""
    from arena.data.faces import HELD_OUT_SEEDS, faces

    seeds = HELD_OUT_SEEDS[-n:] if last else HELD_OUT_SEEDS[:n]
    folder.mkdir(parents=True, exist_ok=True)
    for seed, face in zip(seeds, faces(seeds), strict=True):
        Image.fromarray(face).save(folder / f"face_{seed}.png")
    return folder


def load(name: str) -> tuple[SweepSpec, int]:
    """The spec ``benchmarks/sweeps/NAME.toml`` and its ``tune_faces`` (0 when grids are read as oracles)."""
    path = SWEEPS / f"{name}.toml"
    raw = tomllib.loads(path.read_text())
    return SweepSpec.from_dict({k: v for k, v in raw.items() if k != "tune_faces"}, root=path.parent), \
        int(raw.get("tune_faces", 0))


def tuning_spec(spec: SweepSpec, folder: Path) -> SweepSpec | None:
    """The same sweep restricted to the grid methods, on the tuning faces in ``folder`` (None: no grid)."""
    grids = [m for m in spec.methods if "[" in m]
    return dataclasses.replace(spec, images=[str(folder.resolve())], methods=grids) if grids else None


def as_written(spec: SweepSpec) -> dict[str, str]:
    """Each degradation as results.csv names it (every parameter resolved) → as the spec wrote it."""
    from arena.degradations import DEGRADATIONS
    from arena.params import format_spec, parse_spec, resolve
    from arena.sweep import expand_grid

    out = {}
    for written in (d for item in spec.degradations for d in expand_grid(item)):
        name, values = parse_spec(written)
        out[format_spec(name, resolve(DEGRADATIONS.get(name).params, values, name))] = written
    return out


def render(rows: list[dict[str, str]], spec: SweepSpec, title: str,
           tuning: list[dict[str, str]] | None = None) -> str:
    """The table: degradations × methods, each cell mean PSNR / SSIM (and a grid's chosen setting: the
    best on ``tuning``'s rows where given, else the best on ``rows`` themselves)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    degradations = list(dict.fromkeys(r["degradation"] for r in rows))
    lines = [f"# {title}", "", f"Machine: {machine()}. {len(rows)} runs on {len({r['image'] for r in rows})} "
             f"images (max side {spec.max_side}), seeds {', '.join(map(str, spec.seeds))}; mean PSNR (dB) / "
             "SSIM; best PSNR per row in bold; — : the method refused or failed on every image. "
             f"Generated {time.strftime('%Y-%m-%d')} by `python -m benchmarks.tables`.", "",
             "| degradation | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    grids, written = set(), as_written(spec)
    for degradation in degradations:
        cells: dict[str, tuple[float, float, str] | None] = {}
        for method in methods:
            if len({r["params"] for r in rows if r["method"] == method}) > 1:
                grids.add(method)
            cells[method] = chosen(rows, tuning if method in grids else None, degradation, method)
        best = max((c[0] for c in cells.values() if c), default=None)
        out = []
        for method in methods:
            c = cells[method]
            if c is None:
                out.append("—")
                continue
            text = f"{c[0]:.2f} / {c[1]:.3f}"
            out.append((f"**{text}**" if c[0] == best else text) + (f" ({c[2] or 'defaults'})" if method in grids else ""))
        lines.append(f"| {written.get(degradation, degradation)} | " + " | ".join(out) + " |")
    if grids:
        n_tune = len({r["image"] for r in tuning or []})
        lines += ["", f"{', '.join(sorted(grids))}: the grid setting with the best mean PSNR "
                      + (f"on {n_tune} other held-out images, chosen per degradation before these were scored."
                         if tuning else "on these images (an oracle over the grid, not tuned on separate images).")]
    for method in sorted(grids):
        lines += ["", *settings_table(rows, method, degradations, written)]
    return "\n".join(lines) + "\n"


def chosen(rows: list[dict[str, str]], tuning: list[dict[str, str]] | None, degradation: str,
           method: str) -> tuple[float, float, str] | None:
    """(mean PSNR, mean SSIM, setting) of ``method`` on ``rows``: the setting with the best mean PSNR on
    ``tuning`` (or on ``rows`` when there is no tuning set); None when it has no score."""
    scored = means(rows, degradation, method)
    picked = means(tuning, degradation, method) if tuning else scored
    if not picked:
        return None
    setting = max(picked, key=lambda params: picked[params][0])
    return (scored[setting][0], scored[setting][1], setting) if setting in scored else None


def means(rows: list[dict[str, str]], degradation: str, method: str) -> dict[str, tuple[float, float, float | None]]:
    """Per setting of ``method`` on ``degradation``: mean PSNR, SSIM and seconds (None where no run has a
    time) over its finished runs; a setting with a run that has no score is left out."""
    settings: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        if r["degradation"] == degradation and r["method"] == method and r["status"] in ("done", "budget"):
            settings.setdefault(r["params"], []).append(r)
    out = {}
    for params, runs in settings.items():
        if all(r["psnr"] and r["ssim"] for r in runs):
            seconds = [float(r["seconds"]) for r in runs if r.get("seconds")]
            out[params] = (statistics.fmean(float(r["psnr"]) for r in runs),
                           statistics.fmean(float(r["ssim"]) for r in runs),
                           statistics.fmean(seconds) if seconds else None)
    return out


def settings_table(rows: list[dict[str, str]], method: str, degradations: list[str],
                   written: dict[str, str]) -> list[str]:
    """Every setting of one grid method side by side: mean PSNR / SSIM and mean seconds per run, so that
    the main table's oracle choice can be read against its neighbours (and a slow variant's price seen)."""
    settings = list(dict.fromkeys(r["params"] for r in rows if r["method"] == method))
    out = [f"Each setting of {method} (mean PSNR / SSIM, mean seconds per run):", "",
           "| degradation | " + " | ".join(s or "defaults" for s in settings) + " |", "|---|" + "---|" * len(settings)]
    for degradation in degradations:
        scored = means(rows, degradation, method)
        cells = ["—" if setting not in scored else f"{scored[setting][0]:.2f} / {scored[setting][1]:.3f}"
                 + (f" ({scored[setting][2]:.1f} s)" if scored[setting][2] is not None else "") for setting in settings]
        out.append(f"| {written.get(degradation, degradation)} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    names = sorted(p.stem for p in SWEEPS.glob("*.toml"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=names)
    ap.add_argument("--out", type=Path, help="the sweep's folder (default runs/tables/NAME)")
    ap.add_argument("--faces", type=int, help="use N held-out faces instead of the spec's images")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--address")
    args = ap.parse_args()
    spec, tune_faces = load(args.name)
    out = args.out or Path("runs") / "tables" / args.name
    if args.faces:
        spec.images = [str(held_out_faces(args.faces, out / "faces").resolve())]
    tuning = None
    if tune_faces and (tspec := tuning_spec(spec, held_out_faces(tune_faces, out / "tune_faces", last=True))):
        tuning = list(sweep(tspec, out / "tuning", workers=args.workers, address=args.address).values())
    rows = sweep(spec, out, workers=args.workers, address=args.address)
    title = (SWEEPS / f"{args.name}.toml").read_text().splitlines()[0].lstrip("# ").rstrip(".:")
    md = SWEEPS / f"{args.name}.md"
    write_table(md, render(list(rows.values()), spec, title, tuning))
    print(f"wrote {md}")


READING = "## Reading"
"""A hand-written section from this heading to the end of a table's file survives regeneration."""


def write_table(md: Path, table: str) -> None:
    """Write a freshly rendered table over ``md``, keeping its ``## Reading`` section (the numbers it
    quotes may then be stale: the section is for the reader to check against the new table)."""
    old = md.read_text() if md.is_file() else ""
    md.write_text(table + ("\n" + old[old.index(READING):] if READING in old else ""))


if __name__ == "__main__":
    main()
