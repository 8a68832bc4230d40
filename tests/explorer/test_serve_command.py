"""``glasstext serve`` end to end: a saved model folder, a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from explorer_models import fitted_augtree
from glasstext.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def tree_dir(tmp_path_factory) -> Path:
    return fitted_augtree().save(tmp_path_factory.mktemp("explorer") / "tree")


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_serve_a_saved_model_on_a_free_loopback_port(tree_dir):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "glasstext.cli", "serve", str(tree_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "glasstext explorer: Aug-Tree 'tree' at http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/info", timeout=30) as response:
            info = json.loads(response.read())
        assert info["kind"] == "Aug-Tree" and info["table_only"] is True
        a = _post(url + "api/analyze", {"text": "a dull and boring film"})
        assert a["prediction"] == "negative"
    finally:
        process.terminate()
        process.wait(20)
    assert "warning" not in (process.stderr.read() if process.stderr else "")


@pytest.fixture
def served(monkeypatch) -> dict:
    """``glasstext serve`` without a server: what it would bind and the app it would run.

    The socket asked for is recorded and a free loopback one given instead, so
    no test listens on anything but 127.0.0.1.
    """
    import glasstext.explorer as explorer
    import glasstext.explorer.app as explorer_app

    served: dict = {}
    real_bind = explorer_app.bind

    def fake_bind(host, port):
        served.update(bound=(host, port))
        return real_bind("127.0.0.1", 0)

    def fake_serve(app, host, port, **kwargs):
        served.update(host=host, port=port, app=app)

    monkeypatch.setattr(explorer_app, "bind", fake_bind)
    monkeypatch.setattr(explorer, "serve", fake_serve)
    return served


def _status(app, host: str) -> int:
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="http://127.0.0.1")
    return client.get("/api/info", headers={"host": host}).status_code


def test_a_public_address_is_warned_about(tree_dir, served, capsys):
    assert main(["serve", str(tree_dir), "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
    assert served["bound"] == ("0.0.0.0", 8123)
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "no login" in err
    assert "--allowed-host" in err


def test_a_public_address_accepts_only_this_machines_names(tree_dir, served):
    assert main(["serve", str(tree_dir), "--host", "0.0.0.0", "--port", "8123"]) == 0
    app = served["app"]
    assert _status(app, "evil.example") == 400
    assert _status(app, "evil.example:8123") == 400
    assert _status(app, f"{socket.gethostname()}:8123") == 200
    assert _status(app, "0.0.0.0:8123") == 200  # the URL it prints
    assert _status(app, "localhost:8123") == 200


def test_allowed_host_adds_names(tree_dir, served):
    flags = ["--allowed-host", "explorer.example", "--allowed-host", "*.lab.example"]
    assert main(["serve", str(tree_dir), "--host", "0.0.0.0", *flags]) == 0
    app = served["app"]
    assert _status(app, "explorer.example:8000") == 200
    assert _status(app, "gpu1.lab.example") == 200
    assert _status(app, "evil.example") == 400
    assert main(["serve", str(tree_dir), "--allowed-host", "explorer.example"]) == 0
    assert _status(served["app"], "explorer.example") == 200
    assert _status(served["app"], "evil.example") == 400


def test_a_loopback_address_accepts_its_own_url(tree_dir, served):
    assert main(["serve", str(tree_dir), "--host", "127.0.0.2", "--port", "8123"]) == 0
    assert _status(served["app"], "127.0.0.2:8123") == 200
    assert _status(served["app"], "localhost:8123") == 200
    assert _status(served["app"], "evil.example:8123") == 400
    assert main(["serve", str(tree_dir), "--host", "::1", "--port", "8123"]) == 0
    assert _status(served["app"], "[::1]:8123") == 200


@pytest.mark.parametrize("entry", ["http://x.example", "x.example:80", "a*b.example", ""])
def test_a_malformed_allowed_host_is_refused(tree_dir, served, capsys, entry):
    assert main(["serve", str(tree_dir), "--allowed-host", entry]) == 2
    err = capsys.readouterr().err
    assert "allowed host" in err and len(err.splitlines()) == 1
    assert "bound" not in served  # refused before listening


def test_a_busy_port_is_a_one_line_error(tree_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", str(tree_dir), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("glasstext: error: cannot listen")
    assert f"127.0.0.1:{port}" in err and "in use" in err and "--port" in err


def test_an_unresolvable_host_is_a_one_line_error(tree_dir, capsys):
    assert main(["serve", str(tree_dir), "--host", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("glasstext: error: cannot listen")
    assert "no-such-host.invalid" in err and "does not resolve" in err


def test_bad_limits_and_ports_are_refused(tree_dir, capsys):
    assert main(["serve", str(tree_dir), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["serve", str(tree_dir), "--max-chars", "0"]) == 2
    assert "max_chars" in capsys.readouterr().err


def test_a_zero_shot_lm_with_a_proxy_shows_its_calls(tiny_lm_dir, tiny_plain_lm_dir, tmp_path):
    from fastapi.testclient import TestClient

    from glasstext.cli import build_parser
    from glasstext.cli.serve import _target
    from glasstext.explorer import create_app

    flags = ["--lm", tiny_lm_dir, "--proxy", tiny_plain_lm_dir, "--method", "occlusion"]
    labels = ["--labels", " positive", " negative"]
    args = build_parser("serve").parse_args(["serve", *flags, *labels])
    target = _target(args)
    assert target.kind == "zero-shot LM" and target.classes == ["positive", "negative"]
    client = TestClient(create_app(target), base_url="http://127.0.0.1")
    a = client.post("/api/analyze", json={"text": "the movie was good fun"}).json()
    assert len(a["units"]) == 5 and sum(a["proba"]) == pytest.approx(1.0)
    assert a["cost"]["calls"]["model_calls"] >= 1 and a["cost"]["calls"]["proxy_calls"] >= 1
    assert any(n.startswith("proxy ") for n in a["notes"])
    w = client.post("/api/whatif", json={"text": "the movie was good fun", "remove": [3]}).json()
    assert w["edited_text"] == "the movie was fun" and w["after"] is not None


def test_a_saved_auglinear_model_is_served_without_torch(tiny_bert_dir, tmp_path):
    """Table-only: loading, analysing and what-if never import torch or the encoder."""
    from explorer_models import training_texts
    from glasstext import AugLinearClassifier, Encoder

    X, y = training_texts(60)
    folder = AugLinearClassifier(encoder=Encoder(str(tiny_bert_dir), cache=False), cv=2).fit(X, y)
    folder = folder.save(tmp_path / "auglinear")
    script = f"""
import sys
from fastapi.testclient import TestClient
from glasstext.explorer import create_app, target_for_model
from glasstext.models import load_model
client = TestClient(create_app(target_for_model(load_model({str(folder)!r}))),
                    base_url="http://127.0.0.1")
a = client.post("/api/analyze", json={{"text": "a truly unseen phrase, dull"}}).json()
w = client.post("/api/whatif", json={{"text": "a dull film", "remove": [1]}}).json()
assert a["units"] and w["after"], (a, w)
print("torch" in sys.modules, "transformers" in sys.modules)
"""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
