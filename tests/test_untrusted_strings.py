"""User strings that try to steer a terminal or a report's text direction."""

from __future__ import annotations

import json

import pytest

from glasstext.cli import main
from glasstext.cli.terminal import terminal_safe
from glasstext.markup import escape, isolate_bidi

ESC_TITLE = "\x1b]0;owned\x07"  # OSC: sets the terminal's title
RLO = "\u202e"

TRAIN = ["good movie", "great fun film", "a lovely story", "bad movie", "awful boring film"] * 4
HOSTILE_POS = f"pos{ESC_TITLE}\r{RLO}"
LABELS = [HOSTILE_POS, HOSTILE_POS, HOSTILE_POS, "neg", "neg"] * 4


@pytest.fixture
def hostile_model_dir(tiny_bert_dir, tmp_path):
    from glasstext.backends.encoder import Encoder
    from glasstext.models import AugLinearClassifier

    model = AugLinearClassifier(
        encoder=Encoder(str(tiny_bert_dir), cache=tmp_path / "c.sqlite"), cv=2
    )
    return model.fit(TRAIN, LABELS).save(tmp_path / "model")


def test_terminal_safe_escapes_controls_but_keeps_layout():
    shown = terminal_safe(f"a\tb\nc{ESC_TITLE}\rd\x9b{RLO}\ud800")
    assert shown == "a\tb\nc\\u001b]0;owned\\u0007\\u000dd\\u009b\\u202e\\ud800"


def test_terminal_safe_keeps_json_lines_valid():
    line = json.dumps({"label": f"x{RLO}\x9b\ud800"}, ensure_ascii=False)
    assert json.loads(terminal_safe(line)) == json.loads(line)


@pytest.mark.parametrize("command", [["show"], ["explain", "good movie"]])
def test_show_and_explain_print_no_control_character(hostile_model_dir, command, capsys):
    assert main([command[0], str(hostile_model_dir), *command[1:]]) == 0
    out = capsys.readouterr().out
    assert "pos" in out
    assert not any(c in out for c in ("\x1b", "\x07", "\r", RLO))
    assert "]0;owned" in out


def test_predict_json_lines_stay_valid(hostile_model_dir, tmp_path, capsys):
    assert main(["predict", str(hostile_model_dir), "good movie", "--proba"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    row = json.loads(out.splitlines()[0])
    assert row["prediction"] in (HOSTILE_POS, "neg")


def test_error_lines_escape_user_text(tmp_path, capsys):
    missing = tmp_path / f"no{ESC_TITLE}model"
    assert main(["show", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\u001b" in err


def test_isolate_bidi_leaves_plain_strings_alone():
    assert isolate_bidi("plain text, עברית") == "plain text, עברית"
    assert escape("<a & 'b'>") == "&lt;a &amp; &#x27;b&#x27;&gt;"


@pytest.mark.parametrize(
    "text", [f"abc{RLO}def", "\u2067x\u2066y", f"\u2069\u2069{RLO}z", "\u202bq\u2068r\u202c"]
)
def test_isolate_bidi_closes_every_isolate_it_opens(text):
    wrapped = isolate_bidi(text)
    depth = 0
    for ch in wrapped:
        if ch in "\u2066\u2067\u2068":
            depth += 1
        elif ch == "\u2069" and depth:
            depth -= 1
    assert depth == 0
    assert wrapped.startswith("\u2068") and text in wrapped


def test_report_keeps_a_label_override_inside_the_label(hostile_model_dir):
    from glasstext.models.base import load_model

    page = load_model(hostile_model_dir).to_html(["good movie"])
    assert f"\u2068pos{ESC_TITLE}\r{RLO}\u2069" in page or RLO not in page
    # every override in the page sits inside an isolate that closes it
    for start in [i for i, c in enumerate(page) if c == RLO]:
        assert page.rfind("\u2068", 0, start) > page.rfind("\u2069", 0, start)


@pytest.mark.parametrize("pattern", ["(", "[a-", "*x", 12])
def test_an_invalid_token_pattern_is_refused_before_any_work(pattern):
    from glasstext.exceptions import InvalidParameterError
    from glasstext.models import AugTreeClassifier

    model = AugTreeClassifier(expansion="none", token_pattern=pattern)
    with pytest.raises(InvalidParameterError, match="token_pattern must be a valid regular"):
        model.fit(["good movie", "bad movie"] * 3, ["pos", "neg"] * 3)
