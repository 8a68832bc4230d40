"""The example notebook runs top to bottom on a real kernel and shows the reports.

nbclient runs ``docs/examples/tour.ipynb`` on an ipykernel started with this
test's own Python (a kernel spec written for the test, so no Jupyter set-up is
needed and no other Python's kernel is picked up). The kernel inherits this
process's environment: the test glasstext home (tests/conftest.py) and the
package under test, whose ``src`` is put first on ``PYTHONPATH``. The executed
notebook is kept in ``.test-artifacts/notebooks``. nbclient, nbformat and
ipykernel come with the ``dev`` extra: if they are missing the test fails, it
does not skip.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "docs" / "examples" / "tour.ipynb"
ARTIFACTS = REPO / ".test-artifacts" / "notebooks"
KERNEL = "glasstext-test"
# The last cell the test adds: which glasstext and which Python the kernel ran.
_WHERE = "import glasstext, sys; print(glasstext.__file__); print(sys.executable)"


def _kernel_spec(folder: Path) -> Path:
    """A kernel spec that runs ipykernel on this very interpreter."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "glasstext tests", "language": "python"})
    )
    return folder / "kernels"


def _html_outputs(cell) -> list[str]:
    return [
        out["data"]["text/html"]
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
        and "text/html" in out.get("data", {})
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    committed = nbformat.read(NOTEBOOK, as_version=4)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_WHERE))
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_spec(tmp_path_factory.mktemp("jupyter")))])
    # The kernel gets os.environ (GLASSTEXT_HOME from conftest) with this checkout's src first.
    src = str(REPO / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = nbclient.NotebookClient(
        nb, km=km, timeout=600, resources={"metadata": {"path": str(REPO)}}
    )
    client.execute(env=env)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / NOTEBOOK.name)
    return committed, nb


def test_notebook_is_committed_without_outputs(executed):
    committed, _ = executed
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_kernel_ran_this_checkout_on_this_python(executed):
    _, nb = executed
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()
    assert Path(printed[0]).resolve().is_relative_to((REPO / "src").resolve())
    assert Path(printed[1]).resolve() == Path(sys.executable).resolve()


def test_notebook_runs_without_errors(executed):
    _, nb = executed
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            assert "Traceback" not in out.get("text", "")


def test_notebook_shows_reports_and_explanations(executed):
    _, nb = executed
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
