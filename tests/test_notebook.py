"""The example notebooks run top to bottom on a real kernel and show the reports.

``scripts/run_notebooks.py`` (``make notebooks``) executes ``docs/examples/*.ipynb``
and saves them with their outputs, which the documentation site shows. Here
each notebook is executed afresh the same way, on an ipykernel started with
this test's own Python, inheriting this process's environment (the test
glasstext home of tests/conftest.py) with the package under test first on
``PYTHONPATH``. The executed notebooks are kept in ``.test-artifacts/notebooks``.
nbclient, nbformat and ipykernel come with the ``dev`` extra: if they are
missing the tests fail, they do not skip. The audit notebook starts a
llama-cpp-python server (the ``server`` extra, which ``make test`` installs).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / ".test-artifacts" / "notebooks"
SCRIPT = REPO / "scripts" / "run_notebooks.py"
_spec = importlib.util.spec_from_file_location("run_notebooks", SCRIPT)
assert _spec is not None and _spec.loader is not None
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)
NOTEBOOKS = sorted(run_notebooks.NOTEBOOKS.glob("*.ipynb"))
# The last cell the test adds: which glasstext and which Python the kernel ran.
_WHERE = "import glasstext, sys; print(glasstext.__file__); print(sys.executable)"


def _html_outputs(cell) -> list[str]:
    return [
        out["data"]["text/html"]
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
        and "text/html" in out.get("data", {})
    ]


def _printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module", params=[p.name for p in NOTEBOOKS])
def executed(request: pytest.FixtureRequest):
    path = run_notebooks.NOTEBOOKS / request.param
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_WHERE))
    run_notebooks.execute(nb)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / path.name)
    return path.name, committed, nb


def test_every_notebook_is_committed_executed_without_errors(executed):
    _, committed, _ = executed
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert all(out["output_type"] != "error" for out in cell.outputs)


def test_kernel_ran_this_checkout_on_this_python(executed):
    _, _, nb = executed
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()
    assert Path(printed[0]).resolve().is_relative_to((REPO / "src").resolve())
    assert Path(printed[1]).resolve() == Path(sys.executable).resolve()


def test_notebook_runs_without_errors(executed):
    _, _, nb = executed
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            assert "Traceback" not in out.get("text", "")


def test_tour_shows_reports_and_explanations(executed):
    name, _, nb = executed
    if name != "tour.ipynb":
        pytest.skip("the tour's displays")
    code = [c for c in nb.cells if c.cell_type == "code"]
    shown = {c.source.strip().splitlines()[-1]: _html_outputs(c) for c in code}
    # Each display is one notebook fragment with its scoped styles.
    for line in ("model", "model.explain(text)", "tree", "tree.explain(text)"):
        (html,) = shown[line]
        assert html.startswith('<div class="glasstext-') and "<style>" in html
    assert "<svg" in shown["model"][0]  # the n-gram bars
    assert 'class="w"' in shown["model.explain(text)"][0]  # shaded words
    assert "compelling" in shown["model.explain(text)"][0]
    assert "<svg" in shown["tree"][0]  # the tree diagram
    (lime,) = shown['lime.explain(text, target_class="positive")']
    assert "lime" in lime.lower() and 'class="w"' in lime and "positive" in lime
    accuracy = [o for c in code for o in c.outputs if "test accuracy" in o.get("text", "")]
    assert len(accuracy) == 2


def test_audit_notebook_reports_finds_the_planted_word_and_reaches_the_server(executed):
    name, _, nb = executed
    if name != "audit.ipynb":
        pytest.skip("the audit's displays")
    code = [c for c in nb.cells if c.cell_type == "code"]
    (report,) = next(_html_outputs(c) for c in code if c.source.strip() == "audit")
    assert "Does the surrogate follow the LM?" in report and "What drives the LM" in report
    printed = _printed(nb)
    top = next(line for line in printed.splitlines() if line.startswith("top drivers:"))
    assert "'performance'" in top  # the planted word, among the first five
    assert "calls to the server" in printed
