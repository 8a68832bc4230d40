import json

import pytest

from glasstext.cli import main


@pytest.fixture
def fitted_dir(tmp_path, train_csv, tiny_bert_dir, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "model"
    code = main(
        [
            "fit",
            "auglinear",
            "--train",
            str(train_csv),
            "--encoder",
            str(tiny_bert_dir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "saved to" in printed and "test accuracy" in printed
    return out


def test_fit_predict_explain_round_trip(fitted_dir, capsys):
    assert main(["predict", str(fitted_dir), "good fun movie", "dull bad film", "--proba"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["good fun movie", "dull bad film"]
    assert all(r["prediction"] in ("pos", "neg") for r in rows)
    assert all(abs(sum(r["proba"].values()) - 1) < 1e-6 for r in rows)

    assert main(["explain", str(fitted_dir), "good fun movie", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    total = e["intercept"] + sum(v for _, v in e["contributions"])
    assert total == pytest.approx(e["decision"])


def test_predict_reads_a_file_and_writes_json_lines(fitted_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"review": "good movie"}\n{"review": "bad film"}\n')
    dest = tmp_path / "out.jsonl"
    code = main(
        [
            "predict",
            str(fitted_dir),
            "--input",
            str(src),
            "--text-column",
            "review",
            "--out",
            str(dest),
        ]
    )
    assert code == 0
    assert [json.loads(x)["text"] for x in dest.read_text().splitlines()] == [
        "good movie",
        "bad film",
    ]


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing-model"), "text"]) == 2
    assert "no saved model" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood,1\n,0\n")
    code = main(["fit", "auglinear", "--train", str(bad), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "empty or missing" in capsys.readouterr().err


def test_listing_commands(capsys):
    assert main(["datasets"]) == 0
    assert "rotten_tomatoes" in capsys.readouterr().out
    assert main(["models"]) == 0
    assert "all-MiniLM-L6-v2" in capsys.readouterr().out


def test_cache_info(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path))
    assert main(["cache", "info"]) == 0
    assert "0 entries" in capsys.readouterr().out
    assert main(["cache", "prune"]) == 2


@pytest.mark.integration
def test_demo_runs_on_a_small_slice(tmp_path, capsys):
    from glasstext.demo import run_demo

    # the default tour, with the short Proto-LM step of the full tour added
    figures = run_demo(n_train=200, n_test=100, out=tmp_path / "demo-model", protolm=True)
    printed = capsys.readouterr().out
    assert "TF-IDF" in printed and "Top n-grams for 'positive'" in printed
    assert printed.count("= decision") == 3
    assert 0.5 < figures["accuracy"] <= 1.0
    assert (tmp_path / "demo-model" / "model.json").is_file()
    assert "Aug-Tree" in printed and "contains any of {" in printed
    assert "decision path" in printed and 0.0 < figures["tree_accuracy"] <= 1.0
    assert "most similar training sentences" in printed
    assert 0.0 < figures["protolm_accuracy"] <= 1.0


def test_fit_augtree_then_show_predict_explain(tmp_path, train_csv, monkeypatch, capsys):
    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "tree"
    args = ["fit", "augtree", "--train", str(train_csv), "--expansion", "none", "--out", str(out)]
    code = main([*args, "--max-depth", "2", "--min-samples-leaf", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "contains any of {" in printed and "test accuracy" in printed and "saved to" in printed
    assert main(["show", str(out)]) == 0
    assert "contains any of {" in capsys.readouterr().out
    assert main(["predict", str(out), "a bad film", "--proba"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert set(row["proba"]) == {"neg", "pos"}
    assert main(["explain", str(out), "a bad film", "--json"]) == 0
    path = json.loads(capsys.readouterr().out)["path"]
    assert path and {"phrases", "matched", "answer"} <= set(path[0])
    assert main(["explain", str(out), "a bad film"]) == 0
    assert "contains any of" in capsys.readouterr().out


def test_show_auglinear_lists_top_ngrams(fitted_dir, capsys):
    assert main(["show", str(fitted_dir), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    assert "neg:" in printed and "pos:" in printed


def test_summarize_a_saved_model_with_a_fake_lm(fitted_dir, monkeypatch, capsys):
    from glasstext.backends.lm import LanguageModel
    from glasstext.explain import summaries

    class ThemeLM(LanguageModel):
        def __init__(self):
            super().__init__(cache=False)
            self.batches = []

        @property
        def identity(self):
            return "theme-lm"

        def _output_settings(self):
            return {}

        def _generate_uncached(self, prompts, request):
            self.batches.append(list(prompts))
            return ["words of a class" for _ in prompts]

        def _continuation_logprobs_uncached(self, pairs, chat):
            raise AssertionError

    lm = ThemeLM()
    asked = []
    monkeypatch.setattr(summaries, "resolve_lm", lambda name: asked.append(name) or lm)
    assert main(["summarize", str(fitted_dir), "--top", "3", "--lm", "some-lm"]) == 0
    printed = capsys.readouterr().out
    assert "class 'neg': words of a class" in printed and "class 'pos':" in printed
    assert asked == ["some-lm"] and len(lm.batches) == 1
    assert main(["summarize", str(fitted_dir), "--context", "movie reviews", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["label"] for c in data["classes"]] == ["neg", "pos"]
    assert "from movie reviews" in lm.batches[-1][0]
    assert main(["summarize", str(fitted_dir), "--top", "0"]) == 2
    assert "k must be >= 1" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:.*lost their beginning")  # the tiny LM's 256-token window
def test_summarize_with_a_tiny_local_lm_and_a_failing_server(
    tmp_path, train_csv, tiny_lm_dir, monkeypatch, capsys
):
    import socket

    monkeypatch.setenv("GLASSTEXT_HOME", str(tmp_path / "home"))
    out = tmp_path / "tree"
    args = ["fit", "augtree", "--train", str(train_csv), "--expansion", "none", "--out", str(out)]
    assert main([*args, "--max-depth", "2", "--min-samples-leaf", "1"]) == 0
    capsys.readouterr()
    command = ["summarize", str(out), "--lm", tiny_lm_dir, "--max-new-tokens", "4", "--json"]
    assert main(command) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["model_kind"] == "AugTreeClassifier" and first["lm_usage"]["n_generate_calls"] >= 1
    assert any(c["evidence"] for c in first["classes"])
    assert main(command) == 0  # the answers now come from the persistent cache
    second = json.loads(capsys.readouterr().out)
    assert second["lm_usage"]["n_generate_calls"] == 0
    assert second["classes"] == first["classes"]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["summarize", str(out), "--lm", f"openai:m@http://127.0.0.1:{port}/v1"]) == 1
    assert "the language model failed" in capsys.readouterr().err


def test_explain_module_on_a_saved_model(fitted_dir, train_csv, monkeypatch, capsys):
    from explain.nl_fakes import ThemeLM
    from glasstext.explain import sasc

    lm = ThemeLM()
    monkeypatch.setattr(sasc, "resolve_lm", lambda name: lm)
    command = ["explain-module", str(fitted_dir), "--corpus", str(train_csv), "--class", "pos"]
    assert main([*command, "--n-synthetic", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["explanations"] and data["n_ngrams"] > 0
    assert data["lm_usage"]["n_generate_calls"] == len(lm.prompts) > 0
    assert main([*command, "--n-synthetic", "2"]) == 0
    assert "The module responds to:" in capsys.readouterr().out
    assert main([*command[:-1], "maybe"]) == 2
    assert "not a class of the module" in capsys.readouterr().err
    assert main([*command, "--text-column", "nope"]) == 2
    assert "column 'nope' not found" in capsys.readouterr().err


def test_explain_module_over_several_saved_models(fitted_dir, train_csv, monkeypatch, capsys):
    from explain.nl_fakes import ThemeLM
    from glasstext.explain import nl

    lm = ThemeLM()
    monkeypatch.setattr(nl, "resolve_lm", lambda name, device="auto": lm)
    command = ["explain-module", str(fitted_dir), str(fitted_dir), "--corpus", str(train_csv)]
    assert main([*command, "--class", "pos", "--n-synthetic", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == [str(fitted_dir)] * 2
    assert rows[0]["explanations"] == rows[1]["explanations"]  # same model, same seed
    assert main([*command, "--n-synthetic", "2"]) == 0
    assert capsys.readouterr().out.count("The module responds to:") == 2


def test_explain_dataset_from_a_file(tmp_path, monkeypatch, capsys):
    from explain.nl_fakes import AdditionLM, addition_data
    from glasstext.explain import iprompt

    monkeypatch.setattr(iprompt, "resolve_lm", lambda name: AdditionLM())
    X, y = addition_data(20)
    path = tmp_path / "pairs.csv"
    path.write_text("question,answer\n" + "".join(f"{a},{b}\n" for a, b in zip(X, y, strict=True)))
    command = ["explain-dataset", str(path), "--input-column", "question"]
    assert main([*command, "--output-column", "answer", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    best = data["prompts"][0]
    assert "add" in best["prompt"].lower() and best["test_accuracy"] == 1.0
    assert main(command) == 2  # no "output" column
    assert "column 'output' not found" in capsys.readouterr().err


def test_an_lm_that_gives_nothing_usable_exits_1(tmp_path, monkeypatch, capsys):
    from explain.nl_fakes import AdditionLM, addition_data
    from glasstext.explain import iprompt

    monkeypatch.setattr(iprompt, "resolve_lm", lambda name: AdditionLM(empty=True))
    X, y = addition_data(8)
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "".join(json.dumps({"input": a, "output": b}) + "\n" for a, b in zip(X, y, strict=True))
    )
    assert main(["explain-dataset", str(path)]) == 1
    assert "no usable prompt" in capsys.readouterr().err
