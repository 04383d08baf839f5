"""``arena`` — the command-line interface (a stable surface other tools drive).

    arena list [--json]
    arena run --image PATH --degradation SPEC --method SPEC [--method SPEC ...]
              [--out DIR] [--seed N] [--max-side N] [--seconds S] [--tune off|auto|oracle] [--device D] …
              (every setting flag comes from arena/settings.py: arena run --help lists them)
    arena run --config DIR/config.json [--out DIR]
    arena run --preset ID [--image NAME] [--seed N] [--out DIR]   # a lecture preset, its lesson checked
    arena sweep SPEC.toml --out DIR [--address ADDR] [--workers N] [--fresh]
    arena weights [--check] [--json]         # every weight file a method can use: shipped and published
    arena weights fetch NAME [NAME ...]      # download published files into the torch hub cache

SPEC = name[:key=value,key=value], e.g. ``blur:kernel=gaussian,sigma=1.6,noise=2``.
Bad input prints one line starting with ``error:`` and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from arena.errors import ArenaError, SpecError
from arena.settings import SETTINGS, Setting


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list(args.json)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "weights":
            return _weights(args)
        return _run(args, parser)
    except ArenaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `arena list | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="arena", description="Restoration Arena: compare image restoration methods.")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="degradations and methods with their parameters")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    r = sub.add_parser("run", help="degrade an image and run methods on it")
    r.add_argument("--image", help="clean image path, or a bundled name (camera, astronaut, ...)")
    r.add_argument("--observed", help="a photo that is already degraded (it is y; no clean image, no PSNR); "
                                      "the noise may be auto, e.g. --degradation denoise:sigma=auto")
    r.add_argument("--degradation", help="SPEC, e.g. blur:kernel=gaussian,sigma=1.6,noise=2")
    r.add_argument("--method", action="append", default=[], help="SPEC, repeatable, e.g. tv:lam=0.05")
    r.add_argument("--config", help="re-run a saved comparison (DIR/config.json)")
    r.add_argument("--preset", help="run a lecture preset (ids: arena list) and check its lesson's claims; "
                                    "--image and any setting flag below (--seed, --seconds, …) override its own")
    r.add_argument("--out", help="write images, metrics.json/.csv, convergence.png and config.json here")
    for s in SETTINGS:
        if s.cli:
            r.add_argument(s.flag, **_flag(s))
    r.add_argument("--no-lpips", action="store_true", help="skip LPIPS")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    sw = sub.add_parser("sweep", help="run every (image, degradation, method, seed) of a TOML spec on Ray, "
                                      "resumably; see arena/sweep.py for the spec")
    sw.add_argument("spec", help="the sweep spec (TOML)")
    sw.add_argument("--out", required=True, help="results.csv, summary.md, psnr.png and runs/ go here")
    sw.add_argument("--address", help="join this Ray cluster (default: an embedded one on this machine)")
    sw.add_argument("--workers", type=int, help="runs at once on the embedded Ray (default: one per CPU core)")
    sw.add_argument("--fresh", action="store_true", help="forget the results already in --out")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    w = sub.add_parser("weights", help="every weight file a method can use: ours (shipped) and the published "
                                       "ones (torch hub cache), with size, licence, source and state")
    w.add_argument("action", nargs="?", choices=("list", "fetch"), default="list",
                   help="list (default), or fetch: download published files into the torch hub cache")
    w.add_argument("names", nargs="*", help="fetch: the published names (arena weights lists them)")
    w.add_argument("--check", action="store_true", help="verify the sha256 of every file present")
    w.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def _flag(s: Setting) -> dict[str, Any]:
    """``add_argument``'s options for a setting's flag. Every flag defaults to None, "not given",
    so that a preset's own value stands unless the command line names another."""
    if s.type is bool:
        return {"action": "store_true", "default": None, "help": s.help}
    shown = "none" if s.default is None else s.default
    return {"type": str if s.optional else s.type, "default": None, "metavar": s.name.upper(),
            "choices": s.choices or None, "help": f"{s.help} (default {shown})"}


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings named on the command line (an optional one's "none" as None)."""
    out = {}
    for s in SETTINGS:
        value = getattr(args, s.name, None) if s.cli else None
        if value is None:
            continue
        if s.optional and isinstance(value, str):
            value = None if value.strip().lower() in ("none", "") else _number(s, value)
        out[s.name] = value
    return out


def _number(s: Setting, text: str) -> Any:
    try:
        return s.type(text)
    except ValueError:
        raise SpecError(f"{s.flag} {text!r} must be a {'whole ' if s.type is int else ''}number or none") from None


def _weights(args: argparse.Namespace) -> int:
    """``arena weights``: list (and with ``--check`` verify) the shipped and published files; ``fetch``."""
    from arena.bridge import published as pub

    if args.action == "fetch":
        if not args.names:
            raise SpecError(f"arena weights fetch needs names; valid names: {', '.join(pub.PUBLISHED)}")
        for name in args.names:
            pub.get(name)  # every name checked before any download
        for name in args.names:
            print(f"{name}: {pub.get(name).url.split('?')[0]} → {pub.path(name)}", file=sys.stderr)
            target = pub.fetch(name, progress=_progress(name))
            print(f"{name}: {target} ({target.stat().st_size / 1e6:.1f} MB)")
        return 0
    if args.names:
        raise SpecError(f"arena weights takes names only after fetch (arena weights fetch {' '.join(args.names)})")
    doc = _weights_inventory(check=args.check)
    bad = [f["file"] for f in doc["shipped"] + doc["published"] if f.get("check") in ("MISMATCH", "not recorded")]
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 1 if bad else 0
    print(f"SHIPPED (ours, in {doc['shipped_dir']}; trained by training/, cards beside them)")
    for f in doc["shipped"]:
        check = f"  sha256 {f['check']}" if args.check else ""
        print(f"  {f['file']:<28}{f['size_mb']:>8.1f} MB  used by {', '.join(f['used_by']) or '—'}{check}")
    print()
    print(f"PUBLISHED (torch hub cache: {doc['cache']}; fetch on a connected machine: arena weights fetch NAME)")
    if doc["deepinv"]:
        print(f"  note: {doc['deepinv']}")
    for f in doc["published"]:
        state = f"cached, {f['size_mb']:.1f} MB" if f["cached"] else f"absent (≈{f['size_mb']:.0f} MB)"
        print(f"  {f['name']:<18} {f['file']:<40} {state}")
        print(f"      used by: {', '.join(f['used_by']) or 'no method yet (listed for fetching)'}")
        print(f"      licence: {f['licence']}")
        print(f"      source:  {f['source']}; {f['url']}")
        if args.check and f["cached"]:
            print(f"      sha256 {f['check']}: {f['sha256']}")
    if bad:
        print(f"error: sha256 check failed for {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _weights_inventory(*, check: bool) -> dict[str, Any]:
    """The shipped and published weight files, their users and state (hashes when ``check``)."""
    from arena.bridge import published as pub
    from arena.bridge.physics import deepinv_missing
    from arena.degradations import DEGRADATIONS
    from arena.method import load_methods
    from arena.metrics import LPIPS_WEIGHTS
    from arena.resources import WEIGHTS, file_digest, recorded_hashes

    methods = load_methods()
    recorded = recorded_hashes()
    shipped = []
    for f in sorted(WEIGHTS.glob("*.safetensors")):
        users = [m.name for m in methods if f.name in m.weights] + \
                [f"{d.name} (degradation)" for d in DEGRADATIONS if f.name in d.weights] + \
                (["LPIPS (metric)"] if f.name == LPIPS_WEIGHTS.name else [])
        row: dict[str, Any] = {"file": f.name, "size_mb": f.stat().st_size / 1e6, "used_by": users}
        if check:
            digest = file_digest(f)
            row["sha256"] = digest
            row["check"] = ("not recorded" if f.name not in recorded else "ok" if recorded[f.name] == digest
                            else "MISMATCH")
        shipped.append(row)
    published = []
    for name, entry in pub.PUBLISHED.items():
        target = pub.path(name)
        cached = target.is_file()
        users = [m.name + (f" ({m.published_note})" if m.published_note else "")
                 for m in methods if name in m.published]
        row = {"name": name, "file": entry.file, "cached": cached, "path": str(target),
               "size_mb": target.stat().st_size / 1e6 if cached else entry.size_mb, "licence": entry.licence,
               "source": entry.source, "url": entry.url.split("?")[0], "reference": entry.reference,
               "sha256_published": entry.sha256, "used_by": users}
        if check and cached:
            row["sha256"] = pub.sha256(target)
            row["check"] = ("no published hash to compare" if entry.sha256 is None
                            else "ok" if entry.sha256 == row["sha256"] else "MISMATCH")
        published.append(row)
    return {"shipped_dir": str(WEIGHTS), "cache": str(pub.cache_dir()), "deepinv": deepinv_missing(),
            "shipped": shipped, "published": published}


def _progress(name: str) -> Any:
    """A tqdm bar on stderr for one download (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int | None) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, disable=None)
        bar["bar"].n = done
        bar["bar"].refresh()
        if total is not None and done >= total:
            bar["bar"].close()

    return update


def _sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from arena.sweep import SweepSpec, sweep

    if args.workers is not None and args.workers < 1:
        raise SpecError(f"--workers={args.workers} must be at least 1")
    out = Path(args.out)
    rows = sweep(SweepSpec.load(args.spec), out, address=args.address, workers=args.workers, fresh=args.fresh,
                 quiet=args.quiet)
    failed = sum(r["status"] not in ("done", "budget") for r in rows.values())
    print(f"{len(rows)} runs in {out / 'results.csv'} ({failed} failed); summary: {out / 'summary.md'}",
          file=sys.stderr)
    return 0


def _list(as_json: bool) -> int:
    from arena.degradations import DEGRADATIONS
    from arena.method import load_methods

    methods = load_methods()
    doc = {
        "degradations": [{"name": d.name, "label": d.label, "linear": d.linear,
                          "params": [p.describe() for p in d.params]} for d in DEGRADATIONS],
        "methods": [{"name": m.name, "label": m.label, "reference": m.reference, "summary": m.summary(),
                     "params": [p.describe() for p in m.params]} for m in methods],
    }
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    width = max(len(item["name"]) for section in ("degradations", "methods") for item in doc[section])
    for section in ("degradations", "methods"):
        print(section.upper())
        for item in doc[section]:
            print(f"  {item['name']:<{width}} {item['label']}")
            for prm in item["params"]:
                bounded = prm["min"] is not None or prm["max"] is not None
                rng = (f" one of {'|'.join(map(str, prm['choices']))}" if prm["choices"]
                       else f" in [{prm['min']}, {prm['max']}]" if bounded else "")
                default = "auto" if prm.get("adaptive") else prm["default"]
                tunable = " (tunable)" if prm.get("tunable") else ""
                print(f"      {prm['name']}={default}  {prm['help']}{rng}{tunable}")
        print()
    return 0


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from arena.experiment import Config, prepare_experiment, save

    preset = None
    if args.config and args.preset:
        raise SpecError("give --config or --preset, not both")
    if args.config or args.preset:
        if args.observed or args.degradation or args.method or (args.config and args.image):
            raise SpecError(f"--{'config' if args.config else 'preset'} replaces --observed/--degradation/--method"
                            f"{'' if args.preset else '/--image'}; give one or the other")
        config, preset = (Config.load(args.config), None) if args.config else _preset_config(args)
    else:
        if args.image and args.observed:
            raise SpecError("give --image (a clean image to degrade) or --observed (a degraded photo), not both")
        missing = ([] if args.image or args.observed else ["image"]) + ([] if args.degradation else ["degradation"]) \
            + ([] if args.method else ["method"])
        if missing:
            raise SpecError(f"arena run needs --{' --'.join(missing)} (or --config DIR/config.json)")
        config = Config.from_specs(args.observed or args.image, args.degradation, args.method, **_given(args),
                                   observed=bool(args.observed))
    started = time.perf_counter()
    prepared = prepare_experiment(config)
    for notice in prepared.notices:
        print(f"note: {notice}", file=sys.stderr)
    if config.observed:
        print("observed photo: no clean image, so no PSNR/SSIM/LPIPS; judge by data-fit and maps.png",
              file=sys.stderr)
    print(f"{prepared.problem.degradation.describe()}, seed {config.seed}, "
          f"image {tuple(prepared.problem.x_shape[-2:])} on {prepared.problem.device}", file=sys.stderr)
    results = _stream(prepared, quiet=args.quiet, with_lpips=not args.no_lpips)
    _table(results, prepared.degraded_metrics)
    lesson = None
    if preset is not None and preset.claims:
        from arena.lessons import summary

        lesson = preset.check(results, degraded=prepared.degraded_metrics, seconds=time.perf_counter() - started)
        print(f"lesson ({summary(lesson)}):")
        for v in lesson:
            print(f"  {v.mark} {v.text}")
    if args.out:
        files = save(prepared, results, args.out, lesson=lesson)
        print(f"wrote {len(files)} files to {args.out}", file=sys.stderr)
    return 0


def _preset_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """A preset's config, with the image and the settings the command line gives instead."""
    import dataclasses

    from arena.presets import DEFAULT_SECONDS, load_presets

    presets = load_presets()
    if args.preset not in presets:
        raise SpecError(f"unknown preset {args.preset!r}; valid ids: {', '.join(presets)}")
    preset = presets[args.preset]
    c = preset.config
    given = _given(args)
    config = dataclasses.replace(c, **given, image=args.image or c.image,
                                 seconds=given.get("seconds") or c.seconds or DEFAULT_SECONDS,
                                 methods=[dict(m) for m in c.methods], degradation_params=dict(c.degradation_params))
    config.check()
    return config, preset


def _stream(prepared: Any, *, quiet: bool, with_lpips: bool) -> dict[str, Any]:
    """Consume the event stream, drawing one progress bar per method on stderr."""
    from tqdm import tqdm

    from arena.experiment import cli_workers, run

    bars: dict[str, tqdm] = {}
    keys = [m.get("key") or m["name"] for m in prepared.config.methods]
    cancel = threading.Event()
    results: dict[str, Any] = {}
    try:
        for ev in run(prepared, cancel=cancel, with_lpips=with_lpips, workers=cli_workers(prepared)):
            if ev.kind == "done":
                results = dict(ev.results)
                continue
            if quiet:
                continue
            bar = bars.get(ev.method)
            if bar is None:
                pos = keys.index(ev.method) if ev.method in keys else len(bars)
                bar = bars[ev.method] = tqdm(total=ev.total or 1, desc=f"{ev.method:<12}", position=pos,
                                             leave=True, file=sys.stderr, dynamic_ncols=True, disable=None)
            bar.n = ev.step
            if ev.kind == "tune":
                bar.set_postfix_str(ev.message or "tuning", refresh=True)
                continue
            if ev.metrics and ev.metrics.get("psnr") is not None:
                bar.set_postfix_str(f"PSNR {ev.metrics['psnr']:.2f} dB", refresh=False)
            if ev.kind == "end":
                bar.set_postfix_str(f"{ev.status} {ev.message}".strip(), refresh=False)
                bar.close()
            else:
                bar.refresh()
    finally:
        cancel.set()
        for bar in bars.values():
            bar.close()
    return results


def _table(results: dict[str, Any], degraded: dict[str, Any]) -> None:
    from arena.plots import display_key

    def fmt(v: Any, spec: str) -> str:
        return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)

    w = max([14, *(len(display_key(key, r)) + 2 for key, r in results.items())])
    print(f"{'method':<{w}}{'PSNR':>8}{'SSIM':>8}{'LPIPS':>8}{'seconds':>9}{'iters':>7}{'data-fit':>10}  status")
    print(f"{'(degraded)':<{w}}{fmt(degraded.get('psnr'), '.2f'):>8}{fmt(degraded.get('ssim'), '.3f'):>8}"
          f"{fmt(degraded.get('lpips'), '.3f'):>8}")
    for key, r in results.items():
        m = r.metrics
        print(f"{display_key(key, r):<{w}}{fmt(m.get('psnr'), '.2f'):>8}{fmt(m.get('ssim'), '.3f'):>8}"
              f"{fmt(m.get('lpips'), '.3f'):>8}"
              f"{r.seconds:>9.2f}{r.iterations:>7}{fmt(m.get('data_fit'), '.2f'):>10}  {r.status}"
              f"{': ' + r.message if r.message else ''}")
        if r.tuning:
            print(f"  {r.tuning['param']}={r.tuning['chosen']:.4g} by {r.tuning['label']}: {r.tuning['reason']}")
    noise = next((r.metrics.get("noise_level") for r in results.values() if r.metrics), None)
    if noise is not None:
        print(f"data-fit is the RMS of A(x̂) − y on the 0–255 scale; the noise level is {noise:.2f}")


if __name__ == "__main__":
    sys.exit(main())
