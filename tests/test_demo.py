"""The demo's structure with fake steps (fast); the real tour is an integration test in test_cli."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest

from glasstext import demo
from glasstext.cli import main
from glasstext.demo import DEFAULT_TOUR, FULL_TOUR, STEPS, Step, run_demo, tour_steps


def test_the_default_tour_is_short_and_the_full_tour_adds_the_long_steps():
    assert tour_steps() == list(DEFAULT_TOUR) == ["auglinear", "augtree", "kernelshap", "summary"]
    assert tour_steps(full=True) == list(FULL_TOUR)
    assert set(FULL_TOUR) == set(STEPS) and FULL_TOUR[: len(DEFAULT_TOUR)] == DEFAULT_TOUR
    # the slow steps are only in the full tour
    assert not {"sasc", "prompt_search", "protolm", "augtree_llm"} & set(DEFAULT_TOUR)
    # the default tour's expected time stays within the 4-minute promise
    assert sum(STEPS[n].seconds for n in DEFAULT_TOUR) < 240


def test_protolm_and_language_add_or_drop_their_steps_in_tour_order():
    assert tour_steps(protolm=True) == [*DEFAULT_TOUR, "protolm"]
    assert tour_steps(language=False) == ["auglinear", "augtree", "kernelshap"]
    assert tour_steps(language=True) == [*DEFAULT_TOUR, "sasc", "prompt_search"]
    full_quiet = tour_steps(full=True, protolm=False, language=False)
    assert full_quiet == ["auglinear", "augtree", "kernelshap", "augtree_llm"]


@pytest.fixture
def fake_steps(monkeypatch):
    """Every step replaced by one that prints a line and returns a figure."""
    ran: list[str] = []

    def fake(name):
        def run(tour):
            ran.append(name)
            tour.write(f"result of {name}")
            return {f"{name}_figure": len(ran)}

        return run

    steps = {name: Step(name, f"title {name}", f"doing {name}", 7, fake(name)) for name in STEPS}
    monkeypatch.setattr(demo, "STEPS", steps)
    return ran


def test_every_step_is_announced_before_it_runs_and_timed(fake_steps):
    stream = io.StringIO()
    figures = run_demo(stream=stream)
    printed = stream.getvalue()
    assert fake_steps == list(DEFAULT_TOUR)
    for k, name in enumerate(DEFAULT_TOUR, 1):
        announce = f"[{k}/4] title {name}: doing {name} (about 7 s) ..."
        assert printed.index(announce) < printed.index(f"result of {name}")
        assert printed.index(f"result of {name}") < printed.index(f"[{k}/4] done in")
        assert re.search(rf"title {name} +\d+\.\d +\d+\.\d", printed)  # wall and CPU columns
    assert "about 28 s on an idle 2-core machine" in printed and "--full" in printed
    assert re.search(r"demo finished in \d+ s \(wall time; \d+ s of CPU time", printed)
    assert set(figures["step_seconds"]) == set(DEFAULT_TOUR) == set(figures["step_cpu_seconds"])
    assert figures["demo_seconds"] >= sum(figures["step_seconds"].values())
    assert figures["summary_figure"] == 4


def test_full_runs_every_step_and_steps_picks_some(fake_steps):
    run_demo(stream=io.StringIO(), full=True)
    assert fake_steps == list(FULL_TOUR)
    fake_steps.clear()
    run_demo(stream=io.StringIO(), steps=["kernelshap"])
    assert fake_steps == ["kernelshap"]
    with pytest.raises(ValueError, match="unknown demo steps"):
        run_demo(stream=io.StringIO(), steps=["nope"])


@pytest.mark.parametrize(("argv", "full"), [([], False), (["--full"], True)])
def test_cli_passes_full(monkeypatch, argv, full):
    seen = {}
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    assert main(["demo", *argv, "--n-train", "50"]) == 0
    assert seen["full"] is full and seen["n_train"] == 50 and seen["n_test"] is None
    assert main(["demo", *argv, "--n-train", "0"]) == 0
    assert seen["n_train"] is None  # 0: every training row


def test_the_baseline_sentence_is_honest_either_way():
    sentence = demo._versus_baseline
    assert "within noise" in sentence(0.770, 0.775, 2000)
    assert "TF-IDF + LR is 4.0 points more accurate" in sentence(0.740, 0.780, 2000)
    assert "Aug-Linear is 4.0 points more accurate" in sentence(0.780, 0.740, 2000)


def _tour(stream: io.StringIO) -> demo._Tour:
    """A tour whose data and Aug-Linear model are already there (no dataset, no fit)."""
    import numpy as np

    tour = demo._Tour(lambda line: print(line, file=stream), "enc", None, None, None, False)
    labels = np.array(["negative", "positive"])
    tour.data.update(rt=(["a b", "c d"], labels, ["e f"], labels[:1]), auglinear=object())
    return tour


def test_the_steps_in_words_put_a_weak_result_in_context(monkeypatch):
    import glasstext

    classes = [
        SimpleNamespace(label="negative", usable=False),
        SimpleNamespace(label="positive", usable=True),
    ]
    monkeypatch.setattr(
        glasstext, "summarize_model", lambda *a, **k: SimpleNamespace(classes=classes)
    )
    concept = SimpleNamespace(text="art and design", score=0.03)
    monkeypatch.setattr(glasstext, "explain_module", lambda *a, **k: SimpleNamespace(best=concept))
    best = SimpleNamespace(prompt="Name the capital.", test_accuracy=0.0)
    base = SimpleNamespace(prompt="", test_accuracy=None)
    found = SimpleNamespace(best=best, baseline=base)
    monkeypatch.setattr(glasstext, "explain_dataset", lambda *a, **k: found)
    stream = io.StringIO()
    tour = _tour(stream)
    assert demo._summary_step(tour) == {"summaries_usable": 1}
    assert demo._sasc_step(tour)["sasc_best_score"] == 0.03
    assert demo._prompt_search_step(tour)["prompt_search_accuracy"] == 0.0
    printed = stream.getvalue()
    assert "weak summaries; for 'negative' it gave nothing usable" in printed
    assert "'art and design', moves the output by +0.03" in printed
    assert "found no instruction that beats no prompt at all (held-out accuracy 0.00" in printed


def test_the_cli_default_size_is_the_demos():
    from glasstext.cli.tools import DEMO_TRAIN

    assert DEMO_TRAIN == demo.DEMO_TRAIN
    assert run_demo.__kwdefaults__ is None or "n_train" not in run_demo.__kwdefaults__
    assert run_demo.__defaults__[0] == demo.DEMO_TRAIN
