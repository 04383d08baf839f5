"""Every input of the bad-input corpus gets a clear answer — from the loader, the CLI and the app —
and the app keeps answering normal requests afterwards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from arena.cli import main
from arena.errors import ImageLoadError
from arena.images import load_image
from tests.bad_inputs import corpus


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return corpus(tmp_path_factory.mktemp("bad"))


def test_corpus_is_large_enough(cases):
    assert len(cases) >= 25


def test_loader(cases):
    for name, path, expected in cases:
        if expected is None:
            out = load_image(path, max_side=256)
            assert out.x.dtype == torch.float32 and 0 <= float(out.x.min()) and float(out.x.max()) <= 1, name
        else:
            with pytest.raises(ImageLoadError, match=expected):
                load_image(path)


def test_loader_details(cases):
    by = {name: path for name, path, _ in cases}
    hidden = load_image(by["RGBA with hidden colour"]).x
    assert torch.allclose(hidden[0, :, -1, 0], torch.ones(3)), "transparent pixels are white, the hidden red never shows"
    deep = load_image(by["16-bit PNG"]).x
    assert float(deep.max()) < 1.0 and len(torch.unique(deep)) > 256, "16-bit values kept, not clipped to white"
    tif = load_image(by["16-bit TIFF"]).x
    assert torch.allclose(tif, deep, atol=1e-6)
    rotated = load_image(by["EXIF-rotated JPEG"])
    assert rotated.x.shape[-2:] == (40, 20)
    assert any("frames" in n for n in load_image(by["animated GIF"]).notices)
    big = load_image(by["27 MP photo"], max_side=256)
    assert max(big.x.shape[-2:]) == 256 and any("resized" in n for n in big.notices)


def test_cli(cases, capsys):
    for name, path, expected in cases:
        code = main(["run", "--image", str(path), "--degradation", "denoise", "--method", "naive", "--quiet",
                     "--no-lpips", "--max-side", "64"])
        err = capsys.readouterr().err
        if expected is None:
            assert code == 0, (name, err)
        else:
            assert code == 2 and "error:" in err and expected in err and "Traceback" not in err, (name, err)


@pytest.mark.parametrize("argv,needle", [
    (["--seed", "-5"], "seed"),
    (["--seed", str(2**40)], "seed"),
    (["--degradation", "blur:size=63"], "larger than the image"),
    (["--degradation", "sr:factor=8", "--max-side", "8"], "multiple of factor 8"),
    (["--degradation", "denoise:sigma=inf"], "not a valid float"),
    (["--degradation", "denoise:sigma=nan"], "not a valid float"),
    (["--method", "tv:iterations=1e12"], "out of range"),
    (["--degradation", "inpaint:mask=box,box=0.95", "--max-side", "8"], "removes every pixel"),
    (["--degradation", "inpaint:mask=box,box=0.5", "--max-side", "8"], None),
])
def test_cli_parameters_past_the_sliders(argv, needle, capsys):
    base = {"--degradation": "denoise", "--method": "naive", "--max-side": "32"}
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        base[flag] = value
    args = ["run", "--image", "shapes", "--quiet", "--no-lpips"] + [x for kv in base.items() for x in kv]
    code = main(args)
    err = capsys.readouterr().err
    if needle is None:
        assert code == 0, err
    else:
        assert code == 2 and needle in err, err


def test_full_inpainting_mask_is_refused(tmp_path, capsys):
    from PIL import Image

    Image.fromarray(np.full((16, 16), 255, dtype=np.uint8)).save(tmp_path / "full.png")
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(tmp_path / "empty.png")
    soft = (np.linspace(0, 255, 32 * 32).reshape(32, 32)).astype(np.uint8)
    Image.fromarray(soft).save(tmp_path / "soft.png")
    run = ["run", "--image", "shapes", "--max-side", "32", "--method", "naive", "--quiet", "--no-lpips"]
    assert main([*run, "--degradation", f"inpaint:mask=file,path={tmp_path / 'full.png'}"]) == 2
    assert "removes every pixel" in capsys.readouterr().err
    assert main([*run, "--degradation", f"inpaint:mask=file,path={tmp_path / 'empty.png'}"]) == 0
    assert main([*run, "--degradation", f"inpaint:mask=file,path={tmp_path / 'soft.png'}"]) == 0, \
        "soft edges are thresholded at 0.5; another size is resized to the image"


gradio_client = pytest.importorskip("gradio_client")


def test_app(cases):
    from gradio_client import handle_file

    from tests.app_server import running_app

    normal = json.dumps({"image": "shapes", "degradation": "denoise", "max_side": 32, "methods": [{"name": "naive"}]})
    with running_app() as url:
        client = gradio_client.Client(url, verbose=False)
        for name, path, expected in cases:
            if expected is None:
                info = client.predict(handle_file(str(path)), api_name="/inspect_image")
                assert info["width"] >= 8 and info["channels"] in (1, 3), name
            else:
                with pytest.raises(Exception) as exc:
                    client.predict(handle_file(str(path)), api_name="/inspect_image")
                text = str(exc.value)
                assert "Traceback" not in text and (expected in text or "size" in text.lower()), (name, text)
            doc, _ = client.predict(normal, api_name="/run_config")
            assert doc["methods"]["naive"]["status"] == "done", f"the app still answers after {name}"
        with pytest.raises(Exception, match="whole number"):
            client.predict("denoise-classical", -3, api_name="/run_preset")


def test_the_server_serves_no_file_outside_its_own(tmp_path):
    import httpx

    from tests.app_server import running_app
    from tests.conftest import ROOT

    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve me")
    targets = ["/etc/passwd", str(ROOT / "app.py"), str(ROOT / "arena" / "runner.py"), str(ROOT / "pyproject.toml"),
               str(ROOT / "assets" / "presets.json"), str(ROOT / "weights"), "app.py", "../../../../etc/passwd",
               "..%2F..%2F..%2Fetc%2Fpasswd", str(secret)]
    with running_app() as url:
        for prefix in ("gradio_api/file=", "file=", "gradio_api/file/"):
            for target in targets:
                r = httpx.get(url + prefix + target, timeout=10)
                assert r.status_code != 200 or ("root:" not in r.text and "do not serve" not in r.text
                                                and "import" not in r.text), (prefix, target, r.status_code)


def test_config_records_library_versions(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--image", "shapes", "--max-side", "16", "--degradation", "denoise", "--method", "naive",
                 "--quiet", "--no-lpips", "--out", str(out)]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["libraries"]["torch"] == torch.__version__.split("+")[0] or cfg["libraries"]["torch"].startswith(
        torch.__version__.split("+")[0])
    assert main(["run", "--config", str(out / "config.json"), "--quiet", "--no-lpips"]) == 0
