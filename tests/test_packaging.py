"""An installed wheel carries what a run needs (a sweep's cluster worker installs it like any user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT

SHIPPED = ("pyproject.toml", "README.md", "arena", "methods", "assets", "weights")


def test_the_wheel_carries_weights_presets_images_and_the_plugins_under_arena(tmp_path):
    src = tmp_path / "src"  # a copy: building in place would leave build/ in the checkout
    src.mkdir()
    for name in SHIPPED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    weights = {p.name for p in (ROOT / "weights").glob("*.safetensors")}
    assert weights and {f"arena/weights/{w}" for w in weights} <= names
    images = {p.name for p in (ROOT / "assets" / "images").glob("*.png")}
    assert images and {f"arena/assets/images/{i}" for i in images} <= names
    assert {"arena/assets/presets.json", "arena/methods/dip.py", "arena/methods/__init__.py"} <= names
    assert {"arena/bridge/physics.py", "arena/bridge/published.py", "arena/weights/SHA256SUMS"} <= names
    assert not any(n.startswith("methods/") for n in names), "a global package named `methods` would be installed"
    site = tmp_path / "site"  # the wheel installed alone, found before the checkout's editable install
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    code = ("from arena.resources import ASSETS, WEIGHTS; from arena.method import load_methods; "
            "from arena.presets import load_presets; from arena.nets.rim import DEFAULT_RIM; "
            "import arena.methods.dip as dip; "
            f"assert str(ASSETS).startswith({str(site)!r}) and str(WEIGHTS).startswith({str(site)!r}), ASSETS; "
            f"assert dip.__file__.startswith({str(site)!r}) and DEFAULT_RIM.is_file(); "
            "print(len(load_methods()), len(load_presets()))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=env)
    assert used.returncode == 0, used.stderr
    methods, presets = map(int, used.stdout.split())
    assert methods == len(list((ROOT / "methods").glob("[!_]*.py"))) and presets >= 8


def test_a_checkout_run_without_installing_finds_plugins_and_data(tmp_path):
    """A Hugging Face Space runs app.py from the repository without installing it."""
    src = tmp_path / "checkout"
    src.mkdir()
    for name in ("arena", "methods", "assets", "weights"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in getattr(f, '__name__', '')]; "
            "from arena.resources import ASSETS; from arena.method import load_methods; "
            "import arena.methods.tv as tv; "
            f"assert tv.__file__.startswith({str(src)!r}) and str(ASSETS).startswith({str(src)!r}), tv.__file__; "
            "print(len(load_methods()))")
    used = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=src)
    assert used.returncode == 0, used.stderr
    assert int(used.stdout) == len(list((ROOT / "methods").glob("[!_]*.py")))


def test_arena_has_one_search_path_and_aliases_no_top_level_package():
    """The checkout root was once appended to ``arena.__path__``, so ``arena.ui`` loaded ui/ a second time
    as another module; now only the three folders pyproject.toml maps into the package resolve under it,
    to this checkout's files (not to another checkout's editable install)."""
    import importlib
    import importlib.util
    from pathlib import Path

    import arena

    assert [Path(p).resolve() for p in arena.__path__] == [ROOT / "arena"]
    for name in ("ui", "training", "benchmarks", "tests"):
        assert importlib.util.find_spec(f"arena.{name}") is None, f"arena.{name} resolves to the top-level {name}/"
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("arena.ui")
    for name in ("methods", "assets", "weights"):
        assert Path(importlib.util.find_spec(f"arena.{name}").origin).resolve() == ROOT / name / "__init__.py"
