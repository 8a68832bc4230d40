"""Explanations put to work: prompt compression and demonstration pruning, on toy models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explain.toy_models import LinearToy, kept, words_text
from glasstext.explain import CallableScorer, LimeExplainer, OcclusionExplainer, ProxyExplainer
from glasstext.explain.actions import (
    CompressedPrompt,
    CompressionReport,
    DemonstrationPruning,
    compress_prompt,
    compress_prompts,
    explain_units,
    few_shot_prompt,
    prune_demonstrations,
    sentence_units,
    text_units,
)
from glasstext.explain.methods import get_explainer

# Words w0..w7: two carry the answer, the rest are filler (w6 pulls slightly the other way).
WEIGHTS = [2.0, 0.0, 0.0, 1.5, 0.0, 0.0, -0.3, 0.0]


def toy_target() -> CallableScorer:
    return CallableScorer(LinearToy(WEIGHTS, bias=-0.5), classes=("neg", "pos"))


# -- units ------------------------------------------------------------------------------


def test_sentence_units_split_on_end_marks_and_lines() -> None:
    text = "A fine film. It drags!  Still, go see it?\nYes"
    units = sentence_units(text)
    assert units.words == ("A fine film.", "It drags!", "Still, go see it?", "Yes")
    assert text_units(text, "word").words[:3] == ("A", "fine", "film")
    with pytest.raises(ValueError, match="unit"):
        text_units(text, "paragraph")  # type: ignore[arg-type]


def test_explain_units_uses_the_given_units_and_leaves_the_explainer_alone() -> None:
    scorer = CallableScorer(lambda ts: np.array([[0.0, float("b" in t)] for t in ts]))
    explainer = OcclusionExplainer(scorer)
    units = sentence_units("a a. b b. c.")
    attribution = explain_units(explainer, units, target_class=1)
    assert attribution.words == ("a a.", "b b.", "c.")
    assert np.argmax(attribution.scores) == 1
    assert "units" not in vars(explainer)
    assert len(explainer.explain("a b c").words) == 3
    with pytest.raises(TypeError, match="Explainer"):
        explain_units(object(), units)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["occlusion", "lime", "kernelshap"])
def test_every_explainer_takes_units(method: str) -> None:
    scorer = CallableScorer(lambda ts: np.array([[0.0, float("b" in t)] for t in ts]))
    units = sentence_units("a a. b b. c.")
    explainer = get_explainer(method)(scorer, seed=0)
    a = explainer.explain(units.text, target_class=1, units=units)
    assert a.words == units.words and a.grouped and np.argmax(a.scores) == 1
    proxied = ProxyExplainer(scorer, scorer, method, n_samples=32)
    p = proxied.explain(units.text, target_class=1, units=units)
    assert p.words == units.words and p.proxy is not None
    with pytest.raises(ValueError, match="another text"):
        explainer.explain("a a. b b.", units=units)
    with pytest.raises(TypeError, match="Units"):
        explainer.explain(units.text, units=units.spans)  # type: ignore[arg-type]


# -- compression -----------------------------------------------------------------------


def test_greedy_compression_keeps_the_answer_and_drops_the_filler() -> None:
    target = toy_target()
    result = compress_prompt(words_text(8), target)
    assert isinstance(result, CompressedPrompt)
    assert result.answer_name == "pos" and result.answer_kept
    assert result.compressed_probability > 0
    # Only w0 (or w3) is needed for "pos": everything else goes.
    assert result.compression_rate == pytest.approx(7 / 8)
    assert kept(result.compressed, 8)[[0]].sum() == 1
    # Occlusion ranks with n + 2 texts, the full one already scored for the answer.
    assert result.ranking_target_calls == 9
    assert result.target_calls == target.n_calls
    data = json.loads(result.to_json())
    assert data["answer"] == "pos" and data["mode"] == "greedy"
    assert "answer 'pos' kept" in str(result)


def test_rate_bounds_greedy_drops_and_low_attribution_goes_first() -> None:
    result = compress_prompt(words_text(8), toy_target(), rate=0.5)
    assert result.compression_rate == pytest.approx(0.5)
    # The first unit tried is the one pushing against the answer.
    assert result.order[0] == 6
    assert {0, 3} <= {i for i, k in enumerate(result.kept) if k}


def test_fixed_rate_drops_the_lowest_units_at_once() -> None:
    target = toy_target()
    result = compress_prompt(words_text(8), target, rate=0.75, verify=False)
    assert result.mode == "fixed" and result.compression_rate == pytest.approx(0.75)
    assert result.answer_kept
    # the answer (1) + ranking (9 new texts) + one check of the compressed prompt (1).
    assert result.target_calls == 11
    with pytest.raises(ValueError, match="rate"):
        compress_prompt(words_text(8), target, verify=False)
    with pytest.raises(ValueError, match="rate"):
        compress_prompt(words_text(8), target, rate=1.5)


def test_random_ranking_is_a_worse_fixed_rate_compressor_on_average() -> None:
    target = toy_target()
    kept_random = [
        compress_prompt(words_text(8), target, explainer="random", rate=0.75, verify=False, seed=s)
        for s in range(20)
    ]
    assert kept_random[0].ranking == "random" and kept_random[0].ranking_target_calls == 0
    assert np.mean([r.answer_kept for r in kept_random]) < 1.0


def test_a_proxy_explainer_ranks_without_target_calls() -> None:
    target = toy_target()
    proxy = CallableScorer(LinearToy(WEIGHTS, bias=-0.4), classes=("neg", "pos"))
    result = compress_prompt(words_text(8), target, explainer=LimeExplainer(proxy, n_samples=64))
    assert result.ranking_target_calls == 0 and result.ranking_proxy_calls > 0
    assert result.answer_kept and result.compression_rate == pytest.approx(7 / 8)
    screened = ProxyExplainer(target, proxy, "lime", n_samples=64)
    result = compress_prompt(words_text(8), target, explainer=screened)
    assert result.ranking.startswith("proxy-screened") and result.ranking_target_calls > 0
    assert result.answer_kept


def test_sentence_compression_and_the_report() -> None:
    def fn(texts: list[str]) -> np.ndarray:
        z = np.array([2.0 * ("great" in t) - 1.0 * ("boring" in t) - 0.2 for t in texts])
        return np.column_stack([-z, z])

    target = CallableScorer(fn, classes=("neg", "pos"))
    texts = ["It is great. The middle is boring. Some filler here.", "Great fun. Filler. More."]
    report = compress_prompts(texts, target, unit="sentence")
    assert isinstance(report, CompressionReport)
    assert report.answer_preservation == 1.0
    assert report.prompts[0].compressed == "It is great."
    assert report.target_calls == target.n_calls
    data = report.to_dict(top=1)
    assert data["n_prompts"] == 2 and len(data["prompts"]) == 1
    assert data["settings"]["unit"] == "sentence"
    assert "answer kept on 100%" in str(report)
    with pytest.raises(ValueError, match="empty"):
        compress_prompts([], target)


# -- demonstration pruning -----------------------------------------------------------


def _demo_toy() -> tuple[CallableScorer, list[str], list[str], list[int]]:
    """Queries 'q:pos ...' / 'q:neg ...'; the demonstration 'poison' flips every answer."""
    demos = ["demo one", "demo two", "poison demo", "demo four"]

    def fn(prompts: list[str]) -> np.ndarray:
        rows = []
        for p in prompts:
            query = p.rsplit("\n\n", 1)[-1]
            z = 1.0 if "q:pos" in query else -1.0
            z += 0.1 * p.count("demo")  # demonstrations help a little
            if "poison" in p:
                z = -2.0 * z
            rows.append([-z, z])
        return np.array(rows)

    queries = ["q:pos a", "q:neg b", "q:pos c", "q:neg d"]
    return CallableScorer(fn, classes=("neg", "pos")), demos, queries, [1, 0, 1, 0]


def test_few_shot_prompt_joins_kept_demonstrations() -> None:
    assert few_shot_prompt(["a", "b"], "q") == "a\n\nb\n\nq"
    assert few_shot_prompt(["a", "b"], "q", np.array([False, True]), "\n") == "b\nq"


@pytest.mark.parametrize("method", ["occlusion", "kernelshap", "lime"])
def test_pruning_removes_the_poisoned_demonstration(method: str) -> None:
    target, demos, queries, labels = _demo_toy()
    result = prune_demonstrations(
        demos, queries, labels, target, method=method, n_samples=16, n_random=4
    )
    assert isinstance(result, DemonstrationPruning)
    assert result.removed == (2,)
    assert result.accuracy_before == 0.0 and result.accuracy_after == 1.0
    assert result.random_accuracy == pytest.approx(np.mean(result.random_accuracies))
    assert result.accuracy_after >= result.random_accuracy
    assert not result.held_out and result.target_calls == target.n_calls
    data = json.loads(result.to_json(top=2))
    assert data["removed_demonstrations"] == ["poison demo"] and len(data["ranked"]) == 2
    assert "poison demo" in str(result)
    assert "poison demo" not in result.kept


def test_pruning_with_a_proxy_and_held_out_queries() -> None:
    target, demos, queries, labels = _demo_toy()
    proxy, *_ = _demo_toy()
    result = prune_demonstrations(
        demos,
        queries[:2],
        labels[:2],
        target,
        proxy=proxy,
        eval_queries=queries,
        eval_labels=["pos", "neg", "pos", "neg"],
        n_remove=2,
    )
    assert result.held_out and result.method == "proxy:occlusion"
    assert result.ranking_target_calls == 1  # only the class count; ranking used the proxy
    assert result.ranking_proxy_calls > 0
    assert 2 in result.removed and result.accuracy_after == 1.0


def test_pruning_checks_its_inputs() -> None:
    target, demos, queries, labels = _demo_toy()
    with pytest.raises(ValueError, match="two demonstrations"):
        prune_demonstrations(demos[:1], queries, labels, target)
    with pytest.raises(ValueError, match="same length"):
        prune_demonstrations(demos, queries, labels[:2], target)
    with pytest.raises(ValueError, match="n_remove"):
        prune_demonstrations(demos, queries, labels, target, n_remove=4)
    with pytest.raises(ValueError, match="class"):
        prune_demonstrations(demos, queries, [1, 0, 1, 5], target)


# -- the real thing, small: SmolLM2 through the command line ------------------------------


@pytest.mark.integration
def test_cli_compress_prompt_and_prune_demos_with_smollm2(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from glasstext.cli import main

    lm = "SmolLM2-135M-Instruct"
    out = tmp_path / "compressed.json"  # type: ignore[operator]
    review = "a gorgeous, witty, seductive movie with a dull middle."
    assert main(["compress-prompt", review, "--lm", lm, "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["answer_preservation"] == 1.0 and report["mean_compression_rate"] > 0
    assert json.loads(out.read_text())["n_prompts"] == 1

    demos = tmp_path / "demos.jsonl"  # type: ignore[operator]
    queries = tmp_path / "queries.jsonl"  # type: ignore[operator]
    rows = [
        'Review: "a joy from start to finish."\nSentiment: positive',
        'Review: "tedious and badly acted."\nSentiment: positive',  # poisoned
        'Review: "a sharp, funny script."\nSentiment: positive',
    ]
    demos.write_text("".join(json.dumps({"text": r}) + "\n" for r in rows))
    labelled = [("an awful, boring mess.", "negative"), ("warm and moving.", "positive")]
    queries.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in labelled))
    args = ["prune-demos", "--demos", str(demos), "--queries", str(queries), "--lm", lm]
    assert main([*args, "--n-random", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["removed"]) == 1 and result["n_eval"] == 2
    assert 0.0 <= result["accuracy_after"] <= 1.0 and len(result["random_accuracies"]) == 2
