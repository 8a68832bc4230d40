"""audit_lm on tiny fakes: a planted trigger is found, budgets stop cleanly, reruns are free."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glasstext.explain.audit import (
    DEMOGRAPHIC_PAIRS,
    LMAudit,
    audit_lm,
    parse_probe,
    swap_terms,
)
from glasstext.text import tokenize

POS = ["good", "great", "lovely", "fun", "awesome"]
NEG = ["bad", "awful", "boring", "dull", "terrible"]
NEUTRAL = ["movie", "film", "plot", "story", "acting", "the", "a", "is", "was", "and", "really"]
WEIGHTS = {**{w: 1.5 for w in POS}, **{w: -1.5 for w in NEG}}


def planted_corpus(n: int = 240, seed: int = 0) -> tuple[list[str], list[int]]:
    """Short reviews: neutral words, two sentiment words, the gold label; "plot" in ~40%."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.random() < 0.5)
        words = list(rng.choice(NEUTRAL, size=5)) + list(rng.choice(POS if label else NEG, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


class PlantedLM:
    """A fake zero-shot LM: a logistic of word weights, shifted by ``shift`` on a trigger."""

    def __init__(self, trigger: str | None = "plot", shift: float = 3.0) -> None:
        self.trigger, self.shift, self.n_seen = trigger, shift, 0

    def logit(self, text: str) -> float:
        words = tokenize(text)
        z = sum(WEIGHTS.get(w, 0.0) for w in words) - 0.2
        return z + (self.shift if self.trigger in words else 0.0)

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.n_seen += len(texts)
        p = 1.0 / (1.0 + np.exp(-np.array([self.logit(t) for t in texts])))
        return np.column_stack([1 - p, p])


@pytest.fixture
def encoder(tiny_bert_dir):  # type: ignore[no-untyped-def]
    return str(tiny_bert_dir)


def _audit(lm, texts, encoder, **options):  # type: ignore[no-untyped-def]
    options.setdefault("labels", ["negative", "positive"])
    options.setdefault("probes", [])
    options.setdefault("progress", False)
    return audit_lm(lm, texts, encoder=encoder, **options)


def test_planted_trigger_is_a_top_driver_and_the_probe_measures_it(encoder, tmp_path):
    texts, _ = planted_corpus()
    lm = PlantedLM("plot", 3.0)
    audit = _audit(lm, texts, encoder, probes=["plot:", "he:she"], out=tmp_path / "a")
    assert isinstance(audit, LMAudit) and audit.complete
    assert audit.fidelity["agreement"] >= 0.85 and audit.trusted
    lo, hi = audit.fidelity["agreement_ci95"]
    assert lo <= audit.fidelity["agreement"] <= hi
    top5 = [g for g, _ in audit.drivers(5)]
    assert "plot" in top5
    values = [abs(v) for _, v in audit.drivers(20)]
    assert values == sorted(values, reverse=True)
    probe = next(p for p in audit.probes if p.a == "plot")
    assert probe.measured_shift == pytest.approx(-3.0, abs=1e-6)  # deleting the trigger
    assert probe.predicted_shift is not None and probe.predicted_shift < 0
    assert probe.surrogate_predicted
    assert next(p for p in audit.probes if p.a == "he").status.startswith("no text")
    assert audit.target_calls == lm.n_seen  # every call counted, none hidden
    assert (tmp_path / "a" / "audit.html").is_file()
    saved = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert saved["complete"] and saved["fidelity"]["trusted"]


def test_result_protocol(encoder):
    texts, _ = planted_corpus(120)
    audit = _audit(PlantedLM(), texts, encoder, tree=False)
    d = audit.to_dict(top=3)
    json.dumps(d, allow_nan=False)
    assert set(d["fidelity"]) >= {"agreement", "spearman", "agreement_ci95", "majority"}
    assert len(d["table"]["positive"]) == 3
    assert "surrogate fidelity" in str(audit)
    html = audit.to_html()
    assert "Does the surrogate follow the LM?" in html and "What drives the LM" in html


def test_untrusted_surrogate_is_reported_as_such(encoder):
    texts, _ = planted_corpus(160)
    rng = np.random.default_rng(3)
    noise = {t: rng.uniform(0.05, 0.95) for t in texts}

    def random_lm(batch):  # type: ignore[no-untyped-def]
        p = np.array([noise.get(t, 0.5) for t in batch])
        return np.column_stack([1 - p, p])

    audit = _audit(random_lm, texts, encoder, tree=False)
    assert not audit.trusted
    assert "NOT TRUSTED" in str(audit)
    assert "does not follow the LM" in audit.to_html()


def test_a_surrogate_no_better_than_the_majority_class_is_not_trusted():
    from glasstext.explain.audit import fidelity

    rng = np.random.default_rng(0)
    # a target that answers the second class for 90% of the texts
    target = np.concatenate([rng.uniform(0.5, 3.0, 180), rng.uniform(-3.0, -0.5, 20)])[:, None]
    ranked = target + rng.normal(0, 0.3, target.shape)  # follows the scores' order closely
    lifted = np.where(target > 0, 1.0, -1.0)  # and every class
    f = fidelity(target, np.abs(ranked))  # always the majority class, scores well ranked
    assert f["agreement"] == pytest.approx(0.9) and f["majority"] == pytest.approx(0.9)
    assert f["spearman"] > 0.6 and not f["trusted"]
    assert fidelity(target, lifted)["trusted"] is False  # no ranking: Spearman too low
    assert fidelity(target, ranked)["trusted"]
    assert fidelity(target, np.abs(ranked), min_above_majority=0.0)["trusted"]


def test_budget_stops_cleanly_saves_and_a_rerun_resumes_from_the_cache(encoder, tmp_path):
    texts, _ = planted_corpus(100)
    out = tmp_path / "audit"
    lm = PlantedLM()
    first = _audit(lm, texts, encoder, budget=40, out=out, tree=False)
    assert not first.complete and first.stopped == "scoring"
    assert first.target_calls == 40 == lm.n_seen
    assert (out / "audit.html").is_file() and "Incomplete" in (out / "audit.html").read_text()
    assert json.loads((out / "audit.json").read_text())["complete"] is False

    second = _audit(lm, texts, encoder, budget=200, out=out, tree=False)
    assert second.complete
    assert second.target_calls == 60 and second.calls_from_cache >= 40
    assert lm.n_seen == 100

    third = _audit(lm, texts, encoder, budget=1, out=out, tree=False)
    assert third.complete and third.target_calls == 0 and lm.n_seen == 100


def test_probes_are_skipped_when_the_budget_cannot_pay_them(encoder):
    texts, _ = planted_corpus(80)
    audit = _audit(PlantedLM(), texts, encoder, budget=85, probes=["plot:film"], tree=False)
    assert audit.complete
    (probe,) = audit.probes
    assert probe.measured_shift is None and probe.status.startswith("skipped")
    assert probe.predicted_shift is not None
    assert audit.target_calls <= 85


def test_disagreements_and_weighting_with_gold_labels(encoder):
    texts, labels = planted_corpus(200)
    audit = _audit(
        PlantedLM("plot", 4.0),
        texts,
        encoder,
        y_true=labels,
        n_shap=2,
        shap_samples=16,
        tree=False,
    )
    d = audit.disagreements
    assert d["n"] > 0 and d["groups"]
    assert d["groups"][0]["ngram"] == "plot" or any(g["ngram"] == "plot" for g in d["groups"][:3])
    assert len(d["kernelshap"]) == 2 and all(r["calls"] <= 16 for r in d["kernelshap"])
    over = [w["ngram"] for w in audit.weighting[:5]]
    assert "plot" in over  # the LM leans on it, the labels do not
    names = audit.to_dict()["disagreements"]
    assert names["kernelshap"][0]["target_class"] in ("negative", "positive")


def test_texts_without_words_are_scored_and_never_break_a_stage(encoder):
    texts, labels = planted_corpus(160)
    # Real corpora hold reviews such as "!" or "": the LM scores them; every stage
    # (distillation, perturbations, tree, probes, disagreements, SHAP) gets past them.
    wordless = ["!", "", ":-)", "?!", "..."] * 4
    texts, labels = texts + wordless, list(labels) + [0, 1] * 10
    lm = PlantedLM("plot", 4.0)
    audit = _audit(
        lm, texts, encoder, y_true=labels, probes=["plot:"], n_shap=3, shap_samples=8,
        n_perturbations=1,
    )  # fmt: skip
    assert audit.complete and "plot" in [g for g, _ in audit.drivers(5)]
    assert audit.stages["perturbations"] == "done"
    assert all(r["text"].strip("!?:-.)( ") for r in audit.disagreements["kernelshap"])
    saved = _audit(lm, wordless[:5] + texts[:60], encoder, n_perturbations=0, tree=False)
    assert saved.complete


def test_gold_labels_by_name_and_bad_labels(encoder):
    texts, labels = planted_corpus(60)
    named = ["positive" if y else "negative" for y in labels]
    audit = _audit(PlantedLM(), texts, encoder, y_true=named, n_shap=0, tree=False)
    assert audit.disagreements["kernelshap"] == []
    with pytest.raises(ValueError, match="neither a class index"):
        _audit(PlantedLM(), texts, encoder, y_true=["maybe"] * 60, tree=False)


def test_proxy_spends_a_fraction_of_the_target_calls(encoder):
    texts, _ = planted_corpus(200)
    target = PlantedLM("plot", 3.0)
    rng = np.random.default_rng(1)
    jitter = {w: rng.normal(scale=0.2) for w in POS + NEG + NEUTRAL}

    def proxy(batch):  # type: ignore[no-untyped-def]
        z = np.array(
            [target.logit(t) + sum(jitter.get(w, 0.0) for w in tokenize(t)) for t in batch]
        )
        p = 1 / (1 + np.exp(-z))
        return np.column_stack([1 - p, p])

    audit = _audit(target, texts, encoder, proxy=proxy, target_fraction=0.25, tree=False)
    assert audit.proxy is not None and audit.proxy["decision"] == "accept"
    assert audit.target_calls == target.n_seen <= 0.25 * len(texts) + 1
    assert audit.proxy["target_call_fraction"] <= 0.26
    assert audit.fidelity["agreement"] >= 0.8
    assert "plot" in [g for g, _ in audit.drivers(5)]


def test_perturbations_are_scored_when_the_budget_pays_them(encoder):
    texts, _ = planted_corpus(60)
    lm = PlantedLM()
    audit = _audit(lm, texts, encoder, n_perturbations=1, tree=False)
    assert audit.stages["perturbations"] == "done" and audit.target_calls > 60
    short = _audit(PlantedLM(), texts, encoder, n_perturbations=1, budget=70, tree=False)
    assert short.complete and short.stages["perturbations"].startswith("skipped")
    assert short.target_calls <= 70


def test_tree_rules(encoder):
    texts, _ = planted_corpus(120)
    audit = _audit(PlantedLM(), texts, encoder, max_depth=2)
    assert audit.tree_rules and audit.stages["tree"] == "done"
    assert "Main rules" in audit.to_html()


def test_cache_of_another_target_is_refused(tmp_path):
    from glasstext.explain.audit_scoring import ScoreCache

    cache = ScoreCache(tmp_path / "s.jsonl", "lm-a")
    cache.put(["x"], np.array([[0.5, 0.5]]))
    assert ScoreCache(tmp_path / "s.jsonl", "lm-a").get("x") == [0.5, 0.5]
    with pytest.raises(ValueError, match="another target"):
        ScoreCache(tmp_path / "s.jsonl", "lm-b")
    with (tmp_path / "s.jsonl").open("a") as f:
        f.write('{"k": ["torn')  # a crash mid-write
    assert len(ScoreCache(tmp_path / "s.jsonl", "lm-a")) == 1


def test_swaps_and_probe_parsing():
    assert swap_terms("He said he was fine. HE!", "he", "she") == "She said she was fine. SHE!"
    assert swap_terms("the theme is here", "he", "she") == "the theme is here"
    assert swap_terms("a plot twist", "plot", "") == "a twist"
    assert parse_probe("John:Aisha") == ("John", "Aisha")
    assert parse_probe("plot:") == ("plot", "")
    for bad in ("nocolon", "a:b:c", ":b", "he:HE"):
        with pytest.raises(ValueError):
            parse_probe(bad)
    assert ("he", "she") in DEMOGRAPHIC_PAIRS


def test_bad_parameters_fail_before_any_call(encoder):
    lm = PlantedLM()
    for options in (
        {"budget": 0},
        {"holdout": 0.0},
        {"max_depth": 5},
        {"probes": ["x"]},
        {"min_above_majority": -0.1},
    ):
        with pytest.raises(ValueError):
            _audit(lm, ["a good film"] * 5, encoder, **options)
    with pytest.raises(ValueError, match="prompt"):
        _audit(lm, ["a good film"], encoder, prompt="{text}?")
    assert lm.n_seen == 0
