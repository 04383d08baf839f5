"""Many users for a long time against one server: does it keep serving, refusing, and its memory?

    python -m benchmarks.soak [--users 8] [--minutes 30] [--round 60] [--out benchmarks/SOAK.md]

Starts ``python app.py`` as a Space would (its own process, the production queue), then ``--users``
``gradio_client`` users, each in a loop: a fast lecture preset (``/run_preset``), now and then a
bad config (``/run_config``, must be refused), a broken upload (``/inspect_image``, must be
refused), or a preset run cancelled after a second (a Stop). Every ``--round`` seconds the server's
resident memory (its process and its worker processes) is sampled. Reports requests served,
refused and failed, p50/p95 of the time to the result (the API's runs are not streamed: its first
image arrives with its table), and RSS per round.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST_SECONDS = 15.0
"""Presets whose measured CPU time is at most this are the users' diet (a lecture's quick demos)."""
MIX = (("preset", 0.7), ("bad_config", 0.1), ("bad_upload", 0.1), ("stop", 0.1))


@dataclass
class Tally:
    """What every user saw, shared across threads."""

    served: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float | None, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.served.append(seconds or 0.0)
            elif kind in ("bad_config", "bad_upload", "stop"):
                self.refused[kind] = self.refused.get(kind, 0) + 1
            else:
                self.failed.append(f"{kind}: {error[:120]}")


def fast_presets() -> list[str]:
    import json

    times = json.loads((ROOT / "assets" / "preset_times.json").read_text())["cpu"]["presets"]
    return sorted(pid for pid, t in times.items() if t["seconds"] <= FAST_SECONDS)


def user(url: str, presets: list[str], until: float, tally: Tally, seed: int, broken: Path) -> None:
    """One user's loop until ``until``; every outcome goes to ``tally``."""
    import gradio_client

    rng = random.Random(seed)
    client = gradio_client.Client(url, verbose=False)
    while time.time() < until:
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        t0 = time.time()
        try:
            if kind == "preset":
                client.predict(rng.choice(presets), None, api_name="/run_preset")
            elif kind == "bad_config":
                client.predict('{"image": "camera", "methods": [{"name": "tv", "params": {"lam": -1}}]}',
                               api_name="/run_config")
            elif kind == "bad_upload":
                client.predict(gradio_client.handle_file(str(broken)), api_name="/inspect_image")
            else:
                job = client.submit(rng.choice(presets), None, api_name="/run_preset")
                time.sleep(1.0)
                job.cancel()
                raise RuntimeError("cancelled")
            tally.add(kind, time.time() - t0, None)
        except Exception as exc:  # a refusal arrives as an exception carrying the app's sentence
            tally.add(kind, None, str(exc) or type(exc).__name__)


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of ``pid`` alone and with its descendants (the worker processes), in MB."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-A"], capture_output=True, text=True).stdout
    rows = [tuple(int(v) for v in line.split()) for line in out.splitlines() if line.strip()]
    family, grew = {pid}, True
    while grew:
        grew = False
        for p, parent, _ in rows:
            if parent in family and p not in family:
                family.add(p)
                grew = True
    return (sum(rss for p, _, rss in rows if p == pid) / 1024, sum(rss for p, _, rss in rows if p in family) / 1024)


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    import urllib.request

    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the app did not start within 2 minutes")


def percentile(values: list[float], q: float) -> float | None:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) >= 2 else None


def _seconds(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} s"


def report(tally: Tally, rounds: list[tuple[float, float, float]], args: argparse.Namespace, presets: list[str]) -> str:
    from benchmarks.bench_methods import machine

    p50, p95 = percentile(tally.served, 50), percentile(tally.served, 95)
    lines = [f"# Soak: {args.users} API users for {args.minutes:g} minutes against one server", "",
             f"Machine: {machine()}; {time.strftime('%Y-%m-%d')}. `python -m benchmarks.soak --users {args.users} "
             f"--minutes {args.minutes:g}`. Users draw presets from {', '.join(presets)} ({MIX[0][1]:.0%}), "
             "bad configs, broken uploads and runs cancelled after 1 s (10 % each).", "",
             "| served | refused (bad config / bad upload / stopped) | failed | time to result p50 | p95 |",
             "|---:|---|---:|---:|---:|",
             f"| {len(tally.served)} | {tally.refused.get('bad_config', 0)} / {tally.refused.get('bad_upload', 0)} / "
             f"{tally.refused.get('stop', 0)} | {len(tally.failed)} | {_seconds(p50)} | {_seconds(p95)} |", "",
             "Server RSS, sampled every round:", "",
             "| minute | app process MB | with its workers MB |", "|---:|---:|---:|",
             *[f"| {m:.1f} | {own:.0f} | {mb:.0f} |" for m, own, mb in rounds]]
    if len(rounds) > 2:
        own, total = (max(r[i] for r in rounds[1:]) - rounds[1][i] for i in (1, 2))
        lines += ["", f"Growth after the first round (highest sample − the first round's): app process "
                      f"{own:+.0f} MB. With its workers the sum moves with the runs in flight at the sample "
                      f"(each a worker process): {total:+.0f} MB between the first round and the fullest sample."]
    if tally.failed:
        lines += ["", "Failures:", "", *[f"- {f}" for f in sorted(set(tally.failed))]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--round", type=float, default=60.0, help="seconds between memory samples")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "SOAK.md")
    args = ap.parse_args()
    from tests.app_server import free_port

    port, presets, tally = free_port(), fast_presets(), Tally()
    broken = Path(tempfile.mkdtemp()) / "truncated.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    server = start_server(port)
    started = time.time()
    until = started + 60 * args.minutes
    rounds = [(0.0, *rss_mb(server.pid))]
    threads = [threading.Thread(target=user, args=(f"http://127.0.0.1:{port}/", presets, until, tally, i, broken),
                                daemon=True) for i in range(args.users)]
    for t in threads:
        t.start()
    try:
        while time.time() < until:
            time.sleep(min(args.round, max(0.0, until - time.time())))
            rounds.append(((time.time() - started) / 60, *rss_mb(server.pid)))
            print(f"minute {rounds[-1][0]:.1f}: RSS {rounds[-1][1]:.0f} / {rounds[-1][2]:.0f} MB, served {len(tally.served)}, "
                  f"refused {sum(tally.refused.values())}, failed {len(tally.failed)}", flush=True)
        for t in threads:
            t.join(timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=30)
    args.out.write_text(report(tally, rounds, args, presets))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
