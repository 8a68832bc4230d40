"""Packaging: one version, a core install without torch, and the `lm` extra's one-line error.

The wheel itself (built, installed in new venvs with and without the extra,
fit / predict / report / serve) is checked by ``make wheel-check``
(``.ci/wheel_check.sh``); these tests keep the pieces it relies on honest.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import glasstext
from glasstext.backends.encoder import Encoder  # imports scikit-learn before torch is blocked
from glasstext.backends.extras import missing_modules, require_extra
from glasstext.cli import main
from glasstext.exceptions import GlasstextError, MissingExtraError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
LM_STACK = {"torch", "transformers", "accelerate", "gguf"}


def _names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings (``"torch>=2.2,<3"`` -> ``"torch"``)."""
    names = set()
    for r in requirements:
        name = r.split(";")[0].strip()
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.add(name.lower())
    return names


@pytest.fixture
def no_lm_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a core install sees it: torch and transformers cannot be imported."""
    for module in ("torch", "transformers"):
        monkeypatch.setitem(sys.modules, module, None)


def test_version_is_the_installed_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    meta = importlib.metadata.version("glasstext")
    assert glasstext.__version__ == meta
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"glasstext {meta}"


def test_the_core_install_holds_no_deep_learning_stack() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    core = _names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert not core & LM_STACK
    assert {"fastapi", "uvicorn"} <= core  # the explorer of a table model
    assert _names(extras["lm"]) >= LM_STACK
    assert "glasstext[lm,parquet,plot,ray]" in extras["all"]
    assert extras["serve"] == []  # kept as a name: the explorer is in the core install


def test_the_lm_extra_is_installed_here() -> None:
    assert missing_modules("lm") == ()
    require_extra("lm")  # no error


def test_a_missing_extra_is_one_line_naming_it(no_lm_stack: None) -> None:
    assert missing_modules("lm") == ("torch", "transformers")
    with pytest.raises(MissingExtraError) as caught:
        require_extra("lm", "an encoder")
    exc = caught.value
    assert isinstance(exc, GlasstextError) and isinstance(exc, ImportError)
    assert exc.extra == "lm" and exc.missing == ("torch", "transformers")
    message = str(exc)
    assert "\n" not in message and "pip install 'glasstext[lm]'" in message
    assert message.startswith("an encoder needs torch and transformers")


def test_import_torch_names_the_extra(no_lm_stack: None) -> None:
    from glasstext.backends.runtime import import_torch

    with pytest.raises(MissingExtraError, match=r"glasstext\[lm\]"):
        import_torch()


def test_encoders_and_local_lms_refuse_before_resolving_the_model(no_lm_stack: None) -> None:
    """The extra is named first, not the carrier package of a model it could not run."""
    from glasstext.backends.lm import LocalCausalLM

    encoder = Encoder("all-MiniLM-L6-v2")  # a settings object: constructing needs no extra
    with pytest.raises(MissingExtraError, match="an encoder needs"):
        encoder.resolved  # noqa: B018 (first use: resolving the model)
    with pytest.raises(MissingExtraError, match="a local language model needs"):
        LocalCausalLM("SmolLM2-135M-Instruct")


# A process where torch and transformers cannot be imported, as on a core install
# (blocking them in this process instead confuses scipy, which probes sys.modules).
_WITHOUT_LM = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from glasstext.cli import main

status = main(sys.argv[1:])
assert not {"torch", "transformers"} & set(sys.modules), "the LM stack was imported"
sys.exit(status)
"""


def _run_without_lm(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(glasstext.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_LM, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_fit_without_the_extra_exits_2_with_one_line(train_csv: Path, tmp_path: Path) -> None:
    done = _run_without_lm(
        "fit", "auglinear", "--train", str(train_csv), "--out", "m", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "pip install 'glasstext[lm]'" in err[0], err
    assert not (tmp_path / "m").exists()


def test_a_table_model_fits_saves_and_predicts_without_the_extra(
    train_csv: Path, tmp_path: Path
) -> None:
    """Aug-Tree without expansion needs no encoder: fit, save, predict, report."""
    fit = ("fit", "augtree", "--train", str(train_csv), "--expansion", "none", "--out", "tree")
    predict = ("predict", "tree", "good movie", "--proba")
    report = ("report", "tree", "--out", "tree.html")
    outputs = {}
    for argv in (fit, predict, report):
        done = _run_without_lm(*argv, cwd=tmp_path)
        assert done.returncode == 0, (argv, done.stderr)
        outputs[argv[0]] = done.stdout
    assert '"prediction": "pos"' in outputs["predict"]
    assert (tmp_path / "tree.html").stat().st_size > 2000
