"""Make the pictures in docs/images: real reports, screenshotted by headless Chromium.

    python scripts/report_screenshots.py                 # every picture
    python scripts/report_screenshots.py --only report   # one of them

Each picture fits a model on a built-in dataset with the packaged offline models,
writes the report or explanation page glasstext writes for it, and takes the top
of that page with Debian's Chromium (``apt-get install chromium``; or set
``GLASSTEXT_CHROMIUM``). The HTML pages are kept in ``--workdir``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
TEXT = "A gorgeous, witty, seductive movie, though the middle act drags."


def chromium() -> str:
    for name in (os.environ.get("GLASSTEXT_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return str(shutil.which(name))
    raise SystemExit("no Chromium found: apt-get install chromium, or set GLASSTEXT_CHROMIUM")


def screenshot(page: Path, png: Path, size: tuple[int, int]) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            f"--window-size={size[0]},{size[1]}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    print(f"wrote {png}")


def _data(name: str, n_train: int, n_test: int) -> tuple[list[str], list[str], list[str]]:
    """Training texts, their labels by name (so the pictures say "positive", not 1), test texts."""
    import numpy as np

    from glasstext.datasets import load

    ds = load(name).subset(n_train, n_test)
    names = np.array(ds.target_names)
    return ds.X_train, list(names[ds.y_train]), ds.X_test


def auglinear_pages(work: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    from glasstext import AugLinearClassifier

    X, y, X_test = _data("rotten_tomatoes", 2000, 500)
    model = AugLinearClassifier(encoder="all-MiniLM-L6-v2", ngram_range=(1, 2))
    model.fit(X, y)
    report = model.save_html(
        work / "auglinear-report.html", X_test[:200], title="Aug-Linear on Rotten Tomatoes"
    )
    explanation = model.explain(TEXT)
    page = work / "auglinear-explanation.html"
    page.write_text(explanation.to_html(), encoding="utf-8")
    return [(report, "report.png", (1200, 900)), (page, "auglinear-explanation.png", (1200, 690))]


def augtree_pages(work: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    from glasstext import AugTreeClassifier

    X, y, X_test = _data("sms_spam", 2000, 500)
    # Depth 2: the diagram of a deeper tree is wider than the page and scrolls sideways.
    tree = AugTreeClassifier(max_depth=2, expansion="embedding", random_state=0)
    tree.fit(X, y)
    report = tree.save_html(
        work / "augtree-report.html",
        ["WINNER! Call now to claim your free prize", *X_test[:200]],
        title="Aug-Tree on SMS spam",
    )
    return [(report, "augtree-report.png", (1200, 860))]


def protolm_pages(work: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    from glasstext import ProtoLMClassifier

    X, y, X_test = _data("rotten_tomatoes", 1000, 200)
    proto = ProtoLMClassifier(n_prototypes_per_class=3, max_length=48, epochs=2)
    proto.fit(X, y)
    report = proto.save_html(
        work / "protolm-report.html",
        [TEXT, *X_test[:100]],
        X_train=X,
        title="Proto-LM on Rotten Tomatoes",
    )
    return [(report, "protolm-report.png", (1200, 1000))]


def attribution_pages(work: Path) -> list[tuple[Path, str, tuple[int, int]]]:
    from glasstext.explain import KernelShapExplainer, LMScorer

    target = LMScorer("gemma-3-270m")
    a = KernelShapExplainer(target, n_samples=256).explain(TEXT)
    page = a.save_html(work / "attribution.html")
    return [(Path(page), "attribution.png", (1200, 686))]


PICTURES: dict[str, Callable[[Path], list[tuple[Path, str, tuple[int, int]]]]] = {
    "report": auglinear_pages,
    "augtree": augtree_pages,
    "protolm": protolm_pages,
    "attribution": attribution_pages,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(PICTURES), action="append")
    parser.add_argument("--workdir", type=Path, default=None, help="where the pages are kept")
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder of the pictures")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="glasstext-pictures-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(PICTURES):
        for page, png, size in PICTURES[name](work):
            screenshot(page, args.out / png, size)
    print(f"pages kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
