"""Many clients at once on one app: each gets its own numbers, the queue bound answers the excess
with a clear message, and the server's memory returns to where it was."""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")

from arena.experiment import Config, prepare_experiment, run  # noqa: E402
from tests.app_server import running_app  # noqa: E402

CLIENTS = 24  # > 2 running + 16 queued, so some must be refused


def _config(seed: int) -> dict:
    return {"image": "camera", "degradation": "denoise", "max_side": 48, "seed": seed,
            "methods": [{"name": "tv", "params": {"iterations": 1500}}]}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_many_clients_get_their_own_results_and_the_excess_is_refused():
    expected = {}
    for seed in range(CLIENTS):
        prep = prepare_experiment(Config(**_config(seed)))
        expected[seed] = list(run(prep, with_lpips=False))[-1].results["tv"].metrics["psnr"]
    assert len(set(expected.values())) == CLIENTS, "every seed gives a different answer"
    with running_app() as url:
        warm = gradio_client.Client(url, verbose=False)
        warm.predict(json.dumps(_config(0)), api_name="/run_config")
        gc.collect()
        before = _rss_mb()
        rounds = []
        for _ in range(2):
            rounds.append(_round(url))
            gc.collect()
            rounds[-1] += (_rss_mb(),)
    for got, refused, _ in rounds:
        assert len(got) >= 8, f"at least 8 simultaneous clients served ({len(got)} were)"
        for seed, psnr in got.items():
            assert psnr == expected[seed], f"client {seed} got someone else's result"
        assert refused, "the queue bound refused the excess"
        for message in refused.values():
            assert "queue" in message.lower() and "Traceback" not in message, message
    first, second = rounds[0][2], rounds[1][2]
    print(f"served {len(rounds[0][0])}, refused {len(rounds[0][1])} per round; "
          f"RSS {before:.0f} MB before, {first:.0f} MB after round 1, {second:.0f} MB after round 2")
    assert second < first + 50, f"memory keeps growing: {first:.0f} MB → {second:.0f} MB"


def _round(url: str) -> tuple[dict[int, float], dict[int, str]]:
    got: dict[int, float] = {}
    refused: dict[int, str] = {}
    start = threading.Barrier(CLIENTS)

    def client(seed: int) -> None:
        c = gradio_client.Client(url, verbose=False)
        start.wait()
        try:
            doc, _ = c.predict(json.dumps(_config(seed)), api_name="/run_config")
            got[seed] = doc["methods"]["tv"]["psnr"]
        except Exception as exc:  # the queue bound answers with an error message
            refused[seed] = str(exc)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return got, refused
