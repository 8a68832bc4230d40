"""Execute the example notebooks (``docs/examples/*.ipynb``) and save them with their outputs.

The documentation site shows the notebooks as committed, outputs included, so
the outputs are rewritten by this one command (``make notebooks``) whenever
the code they show changes. Each notebook runs top to bottom on an ipykernel
started with this very Python (a kernel spec written for the run, so no
Jupyter set-up is needed and no other Python is picked up), with this
checkout's ``src`` first on ``PYTHONPATH``. ``tests/test_notebook.py``
executes them the same way.

    python scripts/run_notebooks.py                 # every notebook, saved in place
    python scripts/run_notebooks.py audit.ipynb     # one
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "docs" / "examples"
KERNEL = "glasstext-docs"
TIMEOUT = 900  # seconds a cell may take


def _kernel_dirs(folder: Path) -> Path:
    """A kernel spec that runs ipykernel on this interpreter, in ``folder``."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "glasstext", "language": "python"})
    )
    return folder / "kernels"


def execute(
    notebook: nbformat.NotebookNode, extra_env: dict[str, str] | None = None
) -> nbformat.NotebookNode:
    """Run ``notebook`` in place, top to bottom, on this Python with this checkout's package."""
    import nbclient
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    src = str(ROOT / "src")
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        "PYTHONPATH": path,
        # One BLAS thread: torch's and OpenBLAS's threads would fight over the cores.
        "OMP_NUM_THREADS": "1",
        # No progress bars in the saved outputs (the libraries' loading bars included), nor
        # tqdm's import-time notice that ipywidgets, which would draw them, is missing.
        "TQDM_DISABLE": "1",
        "PYTHONWARNINGS": "ignore:IProgress not found",
    }
    env.update(extra_env or {})
    with tempfile.TemporaryDirectory() as tmp:
        specs = KernelSpecManager(kernel_dirs=[str(_kernel_dirs(Path(tmp)))])
        km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
        client = nbclient.NotebookClient(
            notebook, km=km, timeout=TIMEOUT, resources={"metadata": {"path": str(ROOT)}}
        )
        client.execute(env=env)
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks in docs/examples (default: all)")
    args = parser.parse_args(argv)
    paths = [NOTEBOOKS / n for n in args.names] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"run_notebooks: no notebook {path}")
        notebook = execute(nbformat.read(path, as_version=4))
        # The kernelspec names the generic Python kernel, not this run's.
        notebook.metadata["kernelspec"] = {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
        nbformat.write(notebook, path)
        print(f"run_notebooks: executed and saved {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
