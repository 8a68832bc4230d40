"""Every Python example in the README and the docs runs, and the docs say what the code does.

Each fenced ``python`` block of ``README.md`` and ``docs/**/*.md`` is one test. The
blocks of a file share one namespace and one working folder (a temporary one) and run
in order, as a reader runs them: a block that needs an earlier one runs it first. They
use the packaged offline models and the built-in datasets (``tests/conftest.py`` gives
them the test glasstext home), so these tests are ``integration`` tests.

A block opts out with an HTML comment on the line just before its fence, which states
why; a skip without a reason fails::

    <!-- docs-test: skip (needs an OpenAI-compatible server) -->

The cheap checks beside them are unit tests: the README's length, the results block
and the benchmark pages match ``benchmarks/results`` (``scripts/gen_docs.py --check``),
the docs narrate no history, and every ``glasstext`` command line shown is accepted
by the parser.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\b(?P<reason>.*?)-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
# Narrated history the docs must not contain (issue 32); matched case-insensitively.
HISTORY = re.compile(
    r"[0-9]+(st|nd|rd|th) session|this session|earlier session|in scratch"
    r"|scratch (run|script|trial|figure)|earlier_run",
    re.IGNORECASE,
)


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None  # the stated reason, "" when the comment gives none, None: runs

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def doc_files() -> list[Path]:
    files = [README, *sorted(DOCS.rglob("*.md"))]
    return [p for p in files if p.is_file()]


def parse_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file (fences at the start of a line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        s = SKIP.match(prev.strip())
        skip = None if s is None else s.group("reason").strip(" ():-—")
        blocks.append(Block(path, start + 1, m.group("lang"), "\n".join(body) + "\n", skip))
        i += 1
    return blocks


def python_blocks() -> list[Block]:
    return [b for p in doc_files() for b in parse_blocks(p) if b.lang == "python"]


@dataclass
class FileRun:
    """The shared state of one file's blocks: namespace, working folder, progress."""

    cwd: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    failed: str | None = None


_RUNS: dict[Path, FileRun] = {}


def _run(block: Block, state: FileRun) -> None:
    old = Path.cwd()
    os.chdir(state.cwd)
    try:
        exec(compile(block.code, block.id, "exec"), state.namespace)
    except BaseException:
        state.failed = block.id
        raise
    finally:
        os.chdir(old)
    state.done.add(block.line)


BLOCKS = python_blocks()


@pytest.fixture(scope="module", autouse=True)
def _stop_ray_afterwards() -> Any:
    """The scale page starts a local Ray; later test modules expect none."""
    yield
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()


@pytest.mark.integration
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_python_example_runs(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    if block.skip is not None:
        assert block.skip, f"{block.id}: a docs-test skip must say why"
        pytest.skip(block.skip)
    state = _RUNS.get(block.path)
    if state is None:
        state = _RUNS[block.path] = FileRun(tmp_path_factory.mktemp("docs-example"))
    for earlier in parse_blocks(block.path):
        if earlier.line >= block.line:
            break
        if earlier.lang != "python" or earlier.skip is not None or earlier.line in state.done:
            continue
        if state.failed:
            pytest.fail(f"an earlier example of this file failed: {state.failed}")
        _run(earlier, state)
    _run(block, state)


# -- cheap checks --------------------------------------------------------------------------


def test_every_skip_states_a_reason() -> None:
    silent = [b.id for p in doc_files() for b in parse_blocks(p) if b.skip == ""]
    assert not silent, f"docs-test skips without a reason: {silent}"


def test_readme_is_short_and_opens_with_its_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    install = text.index("## Install")
    assert text.index("make demo") > install and text.index("make test") > install
    assert text.index("make demo") < text.index("## Quick start")


def _gen_docs() -> Any:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", module)
    spec.loader.exec_module(module)
    return module


def test_generated_results_match_the_json() -> None:
    """README's results block and docs/benchmarks/*.md are what gen_docs.py renders now."""
    gen = _gen_docs()
    stale = [
        str(p.relative_to(REPO))
        for p, text in gen.outputs().items()
        if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run python scripts/gen_docs.py: {stale} differ from benchmarks/results"


def test_results_block_fails_without_its_json(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    gen = _gen_docs()
    monkeypatch.setattr(gen, "RESULTS", tmp_path)
    gen.load.cache_clear()
    gen.load_parts.cache_clear()
    try:
        with pytest.raises(gen.MissingResultError, match=r"is missing: run benchmarks/"):
            gen.results_block()
        (tmp_path / "auglinear_accuracy").mkdir()
        with pytest.raises(gen.MissingResultError, match=r"auglinear_accuracy/ holds no part"):
            gen.accuracy_section()
    finally:
        gen.load.cache_clear()
        gen.load_parts.cache_clear()


def project_text_files() -> list[Path]:
    """README, CHANGELOG, the docs, and every source, script and benchmark file, results
    included (this test file names the pattern, so it is left out)."""
    suffixes = {".md", ".py", ".json", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ipynb"}
    roots = [DOCS, REPO / "src", REPO / "benchmarks", REPO / "scripts", REPO / "tests"]
    files = [README, REPO / "CHANGELOG.md", REPO / "Makefile", REPO / "pyproject.toml"]
    files += [p for root in roots for p in sorted(root.rglob("*")) if p.suffix in suffixes]
    return [p for p in files if p.is_file() and p != Path(__file__).resolve()]


def test_project_narrates_no_history() -> None:
    found = [
        f"{p.relative_to(REPO)}:{n}: {line.strip()[:120]}"
        for p in project_text_files()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if HISTORY.search(line)
    ]
    assert not found, "\n".join(found)


def _command_lines() -> list[tuple[str, list[str]]]:
    """``glasstext ...`` lines of the bash blocks, continuation lines joined, comments cut."""
    out = []
    for p in doc_files():
        for b in parse_blocks(p):
            if b.lang not in ("bash", "sh", "console"):
                continue
            joined = b.code.replace("\\\n", " ")
            for line in joined.splitlines():
                line = line.strip()
                if not line.startswith("glasstext "):
                    continue
                words = shlex.split(line, comments=True)
                out.append((f"{b.id}: {line}", words[1:]))
    return out


COMMANDS = _command_lines()


@pytest.mark.parametrize("words", [w for _, w in COMMANDS], ids=[i for i, _ in COMMANDS])
def test_command_lines_parse(words: list[str]) -> None:
    from glasstext.cli import build_parser

    parser = build_parser(full=True)
    args = parser.parse_args(words)
    assert hasattr(args, "run") or words[:1] == ["cache"]
