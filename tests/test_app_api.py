"""The app's API driven by gradio_client against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import threading

import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

from tests.app_server import running_app  # noqa: E402


@pytest.fixture(scope="module")
def url():
    with running_app() as u:
        yield u


@pytest.fixture
def client(url):
    return gradio_client.Client(url, verbose=False)


def test_preset_with_three_classical_methods(client):
    doc, images = client.predict("denoise-classical", 0, api_name="/run_preset")
    methods = doc["methods"]
    assert list(methods) == ["naive", "tikhonov", "tv"]
    assert all(m["status"] == "done" for m in methods.values())
    assert methods["tv"]["psnr"] > methods["tikhonov"]["psnr"] > doc["degraded"]["psnr"] + 3
    assert methods["naive"]["psnr"] == pytest.approx(doc["degraded"]["psnr"])
    assert 0 < methods["tv"]["lpips"] < methods["naive"]["lpips"] and "lpips_alex" in doc["lpips_status"]
    assert [i["caption"] for i in images] == ["clean", "degraded", "naive", "tikhonov", "tv"]
    for item in images:
        img = Image.open(item["image"])
        assert img.format == "PNG" and img.size == (256, 256)


def test_same_preset_and_seed_give_identical_numbers_and_seed_matters(client):
    a, _ = client.predict("inpaint-pixels", 3, api_name="/run_preset")
    b, _ = client.predict("inpaint-pixels", 3, api_name="/run_preset")
    c, _ = client.predict("inpaint-pixels", 4, api_name="/run_preset")
    assert a["methods"]["pgd"]["psnr"] == b["methods"]["pgd"]["psnr"]
    assert a["methods"]["pgd"]["psnr"] != c["methods"]["pgd"]["psnr"]


@pytest.mark.parametrize("config,needle", [
    ({"image": "camera", "degradation": "blur", "methods": [{"name": "tv", "params": {"lam": -1}}]}, "out of range"),
    ({"image": "camera", "degradation": "blur", "methods": [{"name": "tv", "params": {"iterations": 10**9}}]},
     "out of range"),
    ({"image": "camera", "degradation": "sr", "degradation_params": {"factor": 3}, "methods": [{"name": "naive"}]},
     "choose one of 2, 4, 8"),
    ({"image": "camera", "degradation": "blur", "degradation_params": {"sigma": float("nan")},
      "methods": [{"name": "naive"}]}, "not a valid float"),
    ({"image": "/etc/passwd", "degradation": "blur", "methods": [{"name": "naive"}]}, "bundled image name"),
    ({"image": "camera", "degradation": "inpaint", "degradation_params": {"mask": "file", "path": "/etc/hosts"},
      "methods": [{"name": "naive"}]}, "web clients cannot set"),
    ({"image": "face1", "degradation": "inpaint", "methods": [{"name": "gan", "params": {"weights": "/etc/x.safetensors"}}]},
     "web clients cannot set"),
    ({"image": "camera", "degradation": "nope", "methods": [{"name": "naive"}]}, "valid names"),
    ({"image": "camera", "degradation": "blur", "methods": [], "bogus": 1}, "unknown config key"),
    ({"image": "camera", "degradation": "blur", "methods": []}, "no method given"),
])
def test_bad_requests_get_a_clear_error_and_the_app_keeps_working(client, config, needle):
    with pytest.raises(AppError, match=needle):
        client.predict(json.dumps(config), api_name="/run_config")
    doc, _ = client.predict(json.dumps({"image": "shapes", "degradation": "denoise", "max_side": 32,
                                        "methods": [{"name": "naive"}]}), api_name="/run_config")
    assert doc["methods"]["naive"]["status"] == "done"


def test_not_json_and_unknown_preset(client):
    with pytest.raises(AppError, match="not valid JSON"):
        client.predict("{oops", api_name="/run_config")
    with pytest.raises(AppError, match="valid ids"):
        client.predict("nope", 0, api_name="/run_preset")


def test_api_caps_iterations_and_time(client):
    config = {"image": "camera", "degradation": "denoise", "max_side": 32, "iterations": 10**9,
              "methods": [{"name": "tv", "params": {"iterations": 100000}}]}
    doc, _ = client.predict(json.dumps(config), api_name="/run_config")
    assert doc["methods"]["tv"]["iterations"] <= 5000 and doc["methods"]["tv"]["status"] == "budget"


def test_two_concurrent_users_get_their_own_results(url):
    jobs = {"a": ("denoise-classical", 1), "b": ("mri-lines", 2)}
    alone = {k: gradio_client.Client(url, verbose=False).predict(*v, api_name="/run_preset")[0] for k, v in jobs.items()}
    together: dict[str, dict] = {}

    def worker(key: str) -> None:
        together[key] = gradio_client.Client(url, verbose=False).predict(*jobs[key], api_name="/run_preset")[0]

    threads = [threading.Thread(target=worker, args=(k,)) for k in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for key in jobs:
        assert together[key]["degradation"] == alone[key]["degradation"]
        for name, m in alone[key]["methods"].items():
            assert together[key]["methods"][name]["psnr"] == m["psnr"], (key, name)


def test_only_the_documented_endpoints_are_an_api(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(named) == {"/run_config", "/run_preset", "/inspect_image"}


def test_no_page_event_lets_a_client_name_a_server_file(url):
    """The page's events stay reachable by raw HTTP (the browser calls them so): none of them has a
    widget for a server-path parameter, and a forged value for a server-held State is ignored."""
    import httpx

    from arena.degradations import DEGRADATIONS
    from arena.method import METHODS

    base = url.rstrip("/")
    cfg = httpx.get(f"{base}/config").json()
    comps = {c["id"]: c for c in cfg["components"]}
    server_paths = {p.name for reg in (DEGRADATIONS, METHODS) for cls in reg for p in cls.params if p.server_path}
    inputs = {i for dep in cfg["dependencies"] for i in dep["inputs"]}
    labels = {comps[i]["props"].get("label") for i in inputs if comps[i]["type"] != "state"}
    assert server_paths and not labels & server_paths, labels & server_paths
    show = next(d for d in cfg["dependencies"] if d.get("api_name") == "show_degradation")
    data = ["/etc/hosts" if comps[i]["type"] == "state" else comps[i]["props"].get("value") for i in show["inputs"]]
    httpx.post(f"{base}/gradio_api/queue/join", timeout=30,
               json={"data": data, "fn_index": show["id"], "session_hash": "forged", "trigger_id": None})
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": "forged"}, timeout=60) as s:
        done = next(json.loads(line[5:]) for line in s.iter_lines()
                    if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed")
    assert done["success"], done
    text = json.dumps(done["output"], ensure_ascii=False)
    assert "hosts" not in text and "256×256" in text, "the server used its own image, not the forged path"
