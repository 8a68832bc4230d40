"""Aug-Linear accuracy against the models a user would pick instead, one dataset per run.

Each invocation measures one part and writes it whole to
``benchmarks/results/auglinear_accuracy/<part>.json`` (from an empty cache, in
one process). The parts are the datasets below and ``speed`` (the default's
cold fit and table-only inference speed on Rotten Tomatoes 2,000 / 1,000).
:func:`aggregate` reads the part files for the docs; no result file takes in
another run's figures.

Datasets: the development sets (``glasstext.datasets.DEVELOPMENT``: Rotten
Tomatoes full and 2,000 / 1,000, SMS spam, Reuters R8, 20 Newsgroups 2,000 /
1,000), on which defaults may be chosen, and the evaluation-only sets
(``glasstext.datasets.EVALUATION_ONLY``: tweets, Amazon, NYT, Reuters R52, TREC
questions, election tweets), never used to choose anything and reported in
their own column. ``length_shift`` is a development case built from Rotten
Tomatoes: trained on one short span (3-10 words) cut from each training
snippet, tested on the whole test snippets (median 6 words against 18), as
when labels are given to phrases and predictions wanted on whole texts.
Methods, each with test accuracy and a 95% bootstrap interval over test texts:

- ``tfidf_lr``: TF-IDF of 1-2-grams + LogisticRegressionCV (what most users try first);
- ``bag_of_ngrams_lr``: binary 1-2-gram counts + LogisticRegressionCV;
- ``sentence_embedding_lr``: the same encoder reading the whole text + LR (not
  interpretable: no per-phrase decomposition, and it needs the encoder to predict);
- ``auglinear_default``: ``AugLinearClassifier(encoder=Encoder("all-MiniLM-L6-v2"))``
  with every other setting at its default (the hybrid table);
- interpretable variants (``VARIANTS``: pure Aug-Linear, 1-3-grams, one document
  pooling, the older back-off, unseen n-grams embedded, idf weights, MPNet and
  the causal LMs' hidden states on some sets);
- ``auglinear_selected``: the variant (the default included) with the best
  accuracy on a validation split carved from the training texts (stratified
  20%); the test labels stay sealed (``harness.SealedLabels``) until it is
  chosen. ``oracle_best_on_test`` names the variant best on test, an oracle
  shown for reference, never a target;
- with ``--finetuned``: MiniLM fine-tuned on the training split, its own head
  (``finetuned_head``) and Aug-Linear pure and hybrid on it.

Paired differences (default vs TF-IDF, default vs sentence embedding, selected
vs default) carry a paired bootstrap interval and McNemar's exact p.

    python benchmarks/auglinear_accuracy.py --part sms_spam      # one dataset, one file
    python benchmarks/auglinear_accuracy.py --part speed         # the cold fit and inference
    python benchmarks/auglinear_accuracy.py --quick              # tiny subset, under a minute
    python benchmarks/auglinear_accuracy.py --summary            # the part files, aggregated
    make bench-auglinear-accuracy                                # every part, one after another
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

import harness
from auglinear import docs_per_second, log  # the make-bench script's helpers
from glasstext import AugLinearClassifier, Encoder, UnseenNgramWarning, finetune_encoder
from glasstext.backends.cache import SqliteStore
from glasstext.backends.finetune import HEAD_FILE, FinetunedModel
from glasstext.baselines import SentenceEmbeddingLogistic, bag_of_ngrams_logistic, tfidf_logistic
from glasstext.datasets import DEVELOPMENT, EVALUATION_ONLY, load

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = harness.RESULTS / "auglinear_accuracy"
ENCODER = "all-MiniLM-L6-v2"
LARGER_ENCODER = "all-mpnet-base-v2"
VALIDATION_SIZE = 0.2
SEED = 0

# part -> (built-in dataset, n_train, n_test); None keeps the whole fixed split.
DATASETS: dict[str, tuple[str, int | None, int | None]] = {
    "rotten_tomatoes_2k": ("rotten_tomatoes", 2000, 1000),
    "sms_spam": ("sms_spam", None, None),
    "reuters_r8": ("reuters_r8", None, None),
    "20newsgroups_2k": ("20newsgroups", 2000, 1000),
    "rotten_tomatoes": ("rotten_tomatoes", None, None),
    "tweets": ("tweets", None, None),
    "amazon_reviews": ("amazon_reviews", None, None),
    "nyt_editorials": ("nyt_editorials", None, None),
    "reuters_r52": ("reuters_r52", None, None),
    "trec_questions": ("trec_questions", None, None),
    "election_tweets": ("election_tweets", None, None),
    # Trained on short spans cut from the training snippets, tested on whole snippets.
    "length_shift": ("rotten_tomatoes", None, None),
}
# length_shift: each training snippet gives one span of this many words (inclusive,
# uniform; a shorter snippet stays whole), so training texts are about a third of the
# test texts' length, as phrase-labelled corpora are.
SPAN_WORDS = (3, 10)
PARTS = (*DATASETS, "speed")
QUICK_SIZE = (200, 100)

# Interpretable variants beside the default: name -> (constructor settings, parts or None).
# The multiclass splits get fewer: each of their cross-validated fits takes minutes here.
BINARY = {"rotten_tomatoes_2k", "rotten_tomatoes", "sms_spam", "length_shift"}
VARIANTS: dict[str, tuple[dict[str, Any], set[str] | None]] = {
    "auglinear_pure": ({"hybrid": False}, None),
    "auglinear_hybrid_1to3": ({"ngram_range": (1, 3)}, {"rotten_tomatoes_2k", "rotten_tomatoes"}),
    # The default chooses the document pooling by cross-validation; each one alone:
    "auglinear_hybrid_sum": ({"doc_pooling": "sum"}, {*BINARY, "reuters_r8"}),
    "auglinear_hybrid_sqrt": ({"doc_pooling": "sqrt"}, BINARY),
    "auglinear_hybrid_mean": ({"doc_pooling": "mean"}, BINARY),
    # Table-only backoff as it was before the composition map, the encoder's words and
    # word shapes: an unseen n-gram is the mean of its parts, an unseen word is worth 0.
    "auglinear_mean_of_parts_backoff": (
        {"encoder_words": 0, "compose": False, "word_shapes": False},
        BINARY,
    ),
    # Not table-only: unseen n-grams embedded by the encoder at prediction time.
    "auglinear_embed_unseen": ({"unseen": "embed"}, BINARY),
    "auglinear_hybrid_mpnet": ({"encoder": {"model": LARGER_ENCODER}}, {"rotten_tomatoes"}),
    # The causal LMs' hidden states as the n-gram encoder (mean-pooled), at the last
    # layer and at the middle one.
    "auglinear_hybrid_smollm2_last": (
        {"encoder": {"model": "SmolLM2-135M-Instruct", "layer": -1}},
        {"rotten_tomatoes_2k"},
    ),
    "auglinear_hybrid_smollm2_mid": (
        {"encoder": {"model": "SmolLM2-135M-Instruct", "layer": 15}},
        {"rotten_tomatoes_2k"},
    ),
    "auglinear_hybrid_gemma_mid": (
        {"encoder": {"model": "gemma-3-270m", "layer": 9}},
        {"rotten_tomatoes_2k"},
    ),
    # Each n-gram embedding weighted by its idf before the sum; not on R52, where one
    # fit takes half an hour.
    "auglinear_idf_weight": ({"embedding_weight": "idf"}, set(DATASETS) - {"reuters_r52"}),
}
QUICK_VARIANTS = ("auglinear_pure",)
FINETUNED = ("finetuned_head", "auglinear_finetuned_pure", "auglinear_finetuned_hybrid")
BASELINES = ("tfidf_lr", "bag_of_ngrams_lr", "sentence_embedding_lr")
# The top-level keys of a dataset part's file (the test checks a --quick run against them).
SCHEMA = (
    "benchmark",
    "part",
    "dataset",
    "role",
    "encoder",
    "cache",
    "n_train",
    "n_test",
    "median_words",
    "methods",
    "selection",
    "oracle_best_on_test",
    "differences",
    "accuracy",
    "targets",
    "quick",
)
SPEED_SCHEMA = (
    "benchmark",
    "part",
    "dataset",
    "encoder",
    "cache",
    "cold_fit",
    "inference",
    "quick",
)

Factory = Callable[[Sequence[str], np.ndarray], Any]


def role(part: str) -> str:
    """``development`` or ``evaluation_only``, from the dataset behind ``part``."""
    dataset = DATASETS[part][0]
    if dataset in EVALUATION_ONLY:
        return "evaluation_only"
    assert dataset in DEVELOPMENT, dataset
    return "development"


def training_spans(
    X: Sequence[str], y: np.ndarray, seed: int = SEED
) -> tuple[list[str], np.ndarray]:
    """One span of ``SPAN_WORDS`` consecutive words per text, with the text's label."""
    rng = np.random.default_rng(seed)
    spans = []
    for text in X:
        words = text.split()
        k = int(rng.integers(SPAN_WORDS[0], SPAN_WORDS[1] + 1))
        start = int(rng.integers(0, max(len(words) - k, 0) + 1))
        spans.append(" ".join(words[start : start + k]))
    return spans, np.asarray(y)


def quiet_predict(model: Any, texts: Sequence[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenNgramWarning)
        return np.asarray(model.predict(list(texts)))


def timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    model = fit()
    return model, round(time.perf_counter() - start, 1)


# -- selection on training texts only --------------------------------------------------------


def carve_validation(
    X: Sequence[str], y: np.ndarray, seed: int = SEED
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """A stratified validation split from the training texts (unstratified when a class
    has a single text)."""
    y = np.asarray(y)
    stratify = y if np.bincount(np.unique(y, return_inverse=True)[1]).min() >= 2 else None
    X_fit, X_val, y_fit, y_val = train_test_split(
        list(X), y, test_size=VALIDATION_SIZE, random_state=seed, stratify=stratify
    )
    return X_fit, X_val, np.asarray(y_fit), np.asarray(y_val)


def select_variant(
    candidates: Mapping[str, Factory], X_train: Sequence[str], y_train: np.ndarray
) -> dict[str, Any]:
    """The candidate with the best accuracy on a validation split of the training texts.

    Each candidate is fitted on the rest of the training texts; ties go to the
    earlier candidate (the default comes first). No test text or label is read.
    """
    X_fit, X_val, y_fit, y_val = carve_validation(X_train, y_train)
    scores: dict[str, float] = {}
    for name, factory in candidates.items():
        predicted = quiet_predict(factory(X_fit, y_fit), X_val)
        scores[name] = round(float(np.mean(predicted == y_val)), 4)
        log(f"selection: {name} {scores[name]} on {len(X_val)} validation texts")
    selected = max(scores, key=lambda name: scores[name])
    return {
        "rule": f"best accuracy on a stratified {VALIDATION_SIZE:.0%} validation split of the "
        f"training texts (seed {SEED}), each candidate fitted on the rest; ties to the default",
        "n_validation": len(X_val),
        "validation_accuracy": scores,
        "selected": selected,
    }


def evaluate(
    methods: Mapping[str, Factory],
    candidates: Sequence[str],
    X_train: Sequence[str],
    y_train: np.ndarray,
    X_test: Sequence[str],
    y_test: harness.SealedLabels,
) -> dict[str, Any]:
    """Fit every method, choose among ``candidates`` on the training texts, then score.

    ``y_test`` is unsealed only once the selection is done: each reported model's
    predictions are scored once, after every choice is made.
    """
    predictions: dict[str, np.ndarray] = {}
    fit_seconds: dict[str, float] = {}
    chosen: dict[str, Any] = {}
    for method, factory in methods.items():
        model, fit_seconds[method] = timed(lambda factory=factory: factory(X_train, y_train))
        predictions[method] = quiet_predict(model, X_test)
        if hasattr(model, "doc_pooling_"):  # the model's own cross-validated choices
            chosen[method] = {
                "doc_pooling": model.doc_pooling_,
                "cv_accuracy": round(float(model.cv_score_), 4),
                "C": float(model.C_),
            }
        log(f"{method}: fitted in {fit_seconds[method]} s")
    selection = select_variant({m: methods[m] for m in candidates}, X_train, y_train)
    predictions["auglinear_selected"] = predictions[selection["selected"]]

    y = y_test.unseal()
    results: dict[str, Any] = {}
    for method, predicted in predictions.items():
        results[method] = {
            "accuracy": harness.accuracy(y, predicted, seed=SEED),
            "fit_seconds": fit_seconds.get(method, fit_seconds.get(selection["selected"])),
        }
        if method in chosen:
            results[method]["chosen"] = chosen[method]
    pairs = {
        "default_minus_tfidf": ("auglinear_default", "tfidf_lr"),
        "default_minus_sentence_embedding": ("auglinear_default", "sentence_embedding_lr"),
        "selected_minus_default": ("auglinear_selected", "auglinear_default"),
        "selected_minus_tfidf": ("auglinear_selected", "tfidf_lr"),
    }
    differences = {
        key: harness.paired_accuracy_difference(y, predictions[a], predictions[b], seed=SEED)
        for key, (a, b) in pairs.items()
        if a in predictions and b in predictions
    }
    on_test = {m: results[m]["accuracy"]["value"] for m in candidates}
    oracle = max(on_test, key=lambda m: on_test[m])
    return {
        "methods": results,
        "selection": selection,
        "oracle_best_on_test": {
            "note": "chosen on test accuracy: an oracle for reference, never a target",
            "variant": oracle,
            "accuracy": results[oracle]["accuracy"],
        },
        "differences": differences,
    }


# -- the methods -----------------------------------------------------------------------------


def encoder_for(settings: Mapping[str, Any] | None, store: SqliteStore) -> Encoder:
    return Encoder(**{"model": ENCODER, **(settings or {}), "cache": store})


def auglinear(store: SqliteStore, **settings: Any) -> Factory:
    encoder = encoder_for(settings.pop("encoder", None), store)
    params = {"ngram_range": (1, 2), "progress": False, **settings}
    return lambda X, y: AugLinearClassifier(encoder=encoder, **params).fit(list(X), y)


def finetuned_folder(part: str, X: Sequence[str], y: np.ndarray) -> Path:
    """MiniLM fine-tuned on the part's training texts, in a fresh folder of this run."""
    folder = Path(tempfile.mkdtemp(prefix=f"finetuned-{part}-"))
    finetune_encoder(list(X), y, ENCODER, output_dir=folder, seed=SEED, progress=False)
    assert (folder / HEAD_FILE).is_file()
    return folder


def methods_for(
    part: str,
    store: SqliteStore,
    quick: bool,
    skip: frozenset[str],
    finetuned_on: tuple[Sequence[str], np.ndarray] | None,
) -> tuple[dict[str, Factory], list[str]]:
    """The methods run on ``part`` and, among them, the candidates of the selection."""
    sentence = Encoder(ENCODER, cache=store)
    methods: dict[str, Factory] = {
        "tfidf_lr": tfidf_logistic,
        "bag_of_ngrams_lr": bag_of_ngrams_logistic,
        "sentence_embedding_lr": lambda X, y: SentenceEmbeddingLogistic(sentence).fit(X, y),
        "auglinear_default": auglinear(store),
    }
    candidates = ["auglinear_default"]
    for name, (settings, parts) in VARIANTS.items():
        wanted = name in QUICK_VARIANTS if quick else parts is None or part in parts
        if wanted and name not in skip:
            methods[name] = auglinear(store, **settings)
            candidates.append(name)
    if finetuned_on is not None:
        folder = finetuned_folder(part, *finetuned_on)
        methods["finetuned_head"] = lambda X, y: FinetunedModel(folder)
        methods["auglinear_finetuned_pure"] = auglinear(
            store, encoder={"model": str(folder)}, hybrid=False
        )
        methods["auglinear_finetuned_hybrid"] = auglinear(store, encoder={"model": str(folder)})
    return methods, candidates


def run_dataset(
    part: str, store: SqliteStore, quick: bool, skip: frozenset[str], finetuned: bool
) -> dict[str, Any]:
    dataset, n_train, n_test = DATASETS[part]
    ds = load(dataset).subset(*(QUICK_SIZE if quick else (n_train, n_test)))
    X_train, y_train = list(ds.X_train), np.asarray(ds.y_train)
    if part == "length_shift":
        X_train, y_train = training_spans(X_train, y_train)
    log(f"{part}: {len(X_train)} train / {len(ds.X_test)} test ({role(part)})")
    methods, candidates = methods_for(
        part, store, quick, skip, (X_train, y_train) if finetuned else None
    )
    report = evaluate(
        methods, candidates, X_train, y_train, ds.X_test, harness.SealedLabels(ds.y_test)
    )
    targets: dict[str, Any] = {}
    if role(part) == "development":  # evaluation-only sets are reported, never targets
        d = report["differences"]
        targets = {
            "default_beats_tfidf": d["default_minus_tfidf"]["difference"] > 0,
            "default_beats_sentence_embedding": d["default_minus_sentence_embedding"]["difference"]
            > 0,
        }
    return {
        "part": part,
        "dataset": dataset,
        "role": role(part),
        "n_train": len(X_train),
        "n_test": len(ds.X_test),
        "median_words": {
            "train": float(np.median([len(t.split()) for t in X_train])),
            "test": float(np.median([len(t.split()) for t in ds.X_test])),
        },
        **report,
        # The plain test accuracies, keyed by this part as a dataset name: merging
        # the part files' "accuracy" gives accuracy[dataset][method] for every part.
        "accuracy": {part: {m: r["accuracy"]["value"] for m, r in report["methods"].items()}},
        "targets": targets,
    }


def run_speed(store: SqliteStore, quick: bool) -> dict[str, Any]:
    """The default on an empty cache (fit seconds, n-gram embeddings) and its saved,
    table-only model's prediction speed against the encoder reading whole texts."""
    ds = load("rotten_tomatoes").subset(*(QUICK_SIZE if quick else (2000, 1000)))

    def cold_fit(cache: SqliteStore, **settings: str) -> tuple[Any, float]:
        encoder = Encoder(ENCODER, cache=cache)
        return timed(
            lambda: AugLinearClassifier(
                encoder=encoder, ngram_range=(1, 2), progress=False, **settings
            ).fit(ds.X_train, ds.y_train)
        )

    model, seconds = cold_fit(store)
    # The same fit with one pooling and no choice among poolings, from its own empty
    # cache: the floor of any pooling rule's cost (the issue's fit-time bar is 1.5x the
    # former default, which fitted at least this).
    with tempfile.TemporaryDirectory() as tmp:
        _, sum_seconds = cold_fit(SqliteStore(Path(tmp) / "cache.sqlite"), doc_pooling="sum")
    table_model = AugLinearClassifier.load(model.save(Path(tempfile.mkdtemp()) / "m"))
    table_rate = docs_per_second(
        lambda batch: quiet_predict(table_model, batch), ds.X_test, 0.5 if quick else 2.0
    )
    reader = Encoder(ENCODER, cache=False)
    reader.encode(ds.X_test[:4])  # load before timing
    sample = ds.X_test[: 50 if quick else 300]
    start = time.perf_counter()
    reader.encode(sample)
    encoder_rate = len(sample) / (time.perf_counter() - start)
    return {
        "part": "speed",
        "dataset": f"rotten_tomatoes {len(ds.X_train)} / {len(ds.X_test)}",
        "cold_fit": {
            "fit_seconds": seconds,
            "n_train": len(ds.X_train),
            "sum_pooling_fit_seconds": sum_seconds,
            "ratio_to_sum_pooling": round(seconds / sum_seconds, 2),
        },
        "inference": {
            "table_only_docs_per_s": round(table_rate, 1),
            "encoder_whole_text_docs_per_s": round(encoder_rate, 1),
            "table_vs_encoder_ratio": round(table_rate / encoder_rate, 1),
        },
    }


# -- the docs' view of the part files --------------------------------------------------------


def aggregate(directory: Path = OUT_DIR) -> dict[str, Any]:
    """Every part file in ``directory``, read as it is: accuracies by method, with the
    development and evaluation-only sets in their own columns (nothing recomputed), and
    ``accuracy[dataset][method]`` over all parts."""
    table: dict[str, dict[str, Any]] = {"development": {}, "evaluation_only": {}, "accuracy": {}}
    found: dict[str, Any] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        found[path.stem] = {k: data[k] for k in ("command", "git_commit", "git_clean")}
        if data.get("part") == "speed":
            table["speed"] = {k: data[k] for k in ("cold_fit", "inference")}
            continue
        table["accuracy"][data["part"]] = {
            m: r["accuracy"]["value"] for m, r in data["methods"].items()
        }
        table[data["role"]][data["part"]] = {
            "accuracy": {m: r["accuracy"] for m, r in data["methods"].items()},
            "selected": data["selection"]["selected"],
            "differences": data["differences"],
        }
    return {"files": found, **table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, default="rotten_tomatoes_2k")
    harness.add_common_arguments(parser, OUT_DIR / "PART.json")
    parser.add_argument(
        "--skip-variants", nargs="+", default=[], choices=sorted(VARIANTS), help="variants not run"
    )
    parser.add_argument(
        "--finetuned",
        action="store_true",
        help="also fine-tune MiniLM on the training split and run "
        f"{', '.join(FINETUNED)} (minutes to hours per dataset)",
    )
    parser.add_argument(
        "--summary", action="store_true", help="print the part files, aggregated; run nothing"
    )
    args = parser.parse_args(argv)
    if args.summary:
        print(json.dumps(aggregate(), indent=1))
        return 0
    run = harness.Run(argv=sys.argv if argv is None else [__file__, *argv])
    out = OUT_DIR / f"{args.part}.json" if args.out.name == "PART.json" else args.out
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "cache.sqlite")
        if args.part == "speed":
            result = run_speed(store, args.quick)
        else:
            result = run_dataset(
                args.part, store, args.quick, frozenset(args.skip_variants), args.finetuned
            )
    result = {
        "benchmark": "auglinear_accuracy",
        **result,
        "encoder": ENCODER,
        "cache": "empty at start (a temporary SQLite store shared by this run's models)",
        "quick": args.quick,
    }
    print(harness.write_result(out, run, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
