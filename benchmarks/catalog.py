"""Every benchmark: its make target, its runs (one result file each) and its expected time.

    python benchmarks/catalog.py               # the list `make bench` prints
    python benchmarks/catalog.py run NAME      # what `make bench-NAME` runs

A benchmark with parts runs one invocation per part, one after another; each
invocation is one process writing one file whole (see ``harness.py``). The
expected times are for a full run on two idle cores from an empty cache,
estimated from the last measured runs (the committed files' wall times or fit
seconds); the result files record the real ones.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

AUGLINEAR_ACCURACY_PARTS = {
    "rotten_tomatoes_2k": 45,
    "sms_spam": 7,
    "reuters_r8": 19,
    "20newsgroups_2k": 30,
    "rotten_tomatoes": 21,
    "tweets": 4,
    "amazon_reviews": 4,
    "nyt_editorials": 6,
    "reuters_r52": 120,
    "trec_questions": 7,
    "election_tweets": 5,
    "length_shift": 7,
    "speed": 1,
}
SMALL_DATA_PARTS = {
    "rotten_tomatoes": 14,
    "sms_spam": 10,
    "reuters_r8": 43,
    "tweets": 7,
    "amazon_reviews": 8,
    "nyt_editorials": 7,
}


@dataclass(frozen=True)
class Benchmark:
    name: str  # make bench-NAME
    script: str  # benchmarks/SCRIPT.py
    what: str
    minutes: int  # full run, two idle cores
    runs: tuple[tuple[str, ...], ...] = ((),)  # one invocation (one result file) each
    needs: str = ""  # beyond `make setup`
    quick: tuple[str, ...] = ()  # arguments beside --quick for the CI check
    quick_skip: str = ""  # why the CI check does not run it, when it cannot
    schema: str = "SCHEMA"  # the script's attribute naming its file's top-level keys
    # further quick checks: (arguments beside --quick, the attribute naming their schema)
    extra: tuple[tuple[tuple[str, ...], str], ...] = field(default=())


def parts(table: dict[str, int], flag: str) -> tuple[tuple[str, ...], ...]:
    return tuple((flag, name) for name in table)


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "auglinear",
        "auglinear",
        "Aug-Linear fit and inference speed against imodelsX (its own venv)",
        13,
        needs="the imodelsX venv (benchmarks/peer/setup_imodelsx.sh, run on first use)",
    ),
    Benchmark(
        "auglinear-accuracy",
        "auglinear_accuracy",
        "Aug-Linear accuracy against TF-IDF, sentence embedding...; one file per dataset",
        sum(AUGLINEAR_ACCURACY_PARTS.values()),
        runs=parts(AUGLINEAR_ACCURACY_PARTS, "--part"),
        extra=((("--part", "speed"), "SPEED_SCHEMA"),),
    ),
    Benchmark(
        "auglinear-heldout-orange",
        "auglinear_heldout_orange",
        "the default on book excerpts and Friends lines (evaluation only)",
        6,
    ),
    Benchmark(
        "auglinear-small-data",
        "auglinear_small_data",
        "few labels: 100..2,000 training texts, five draws; one file per dataset",
        sum(SMALL_DATA_PARTS.values()),
        runs=parts(SMALL_DATA_PARTS, "--dataset"),
    ),
    Benchmark("augtree", "augtree", "Aug-Tree ROC AUC against scikit-learn's tree", 28),
    Benchmark("augtree-factors", "augtree_factors", "which tree constraints cost AUC", 19),
    Benchmark(
        "device-check",
        "device_check",
        "CPU and GPU fits agree (exits 0 without a GPU, nothing written)",
        5,
        needs="a CUDA or MPS GPU",
    ),
    Benchmark("embedding-speed", "embedding_speed", "MiniLM n-grams/s at fp32, bf16, int8", 4),
    Benchmark(
        "nl-explanations",
        "nl_explanations",
        "SASC on planted modules, prompt search on known rules (SmolLM2, Gemma)",
        31,
    ),
    Benchmark(
        "lm-audit",
        "lm_audit",
        "audit_lm: planted triggers found, surrogate fidelity, the proxy's savings",
        29,
    ),
    Benchmark("protolm", "protolm", "Proto-LM and fine-tuning on Rotten Tomatoes", 45),
    Benchmark(
        "proxy-downstream",
        "proxy_downstream",
        "prompt compression and demonstration pruning; one file per part",
        53,
        runs=(("--part", "compression"), ("--part", "demonstrations"), ("--part", "remote")),
        needs="llama-cpp-python for the remote part (make test installs it)",
    ),
    Benchmark(
        "proxy-explanations",
        "proxy_explanations",
        "explaining Gemma through proxies: fidelity against target calls",
        34,
        runs=((), ("--remote-only",)),
        needs="the bench extra (installed by the target); llama-cpp-python for --remote-only",
    ),
    Benchmark(
        "proxy-scale",
        "proxy_scale",
        "proxies at task scale; one file per part",
        46,
        runs=(("--part", "sizes"), ("--part", "screen_1000"), ("--part", "screen_2000")),
    ),
    Benchmark(
        "scale",
        "scale",
        "Ray on one machine, Aug-Linear on 1M documents; one file per part",
        15,
        runs=parts(
            {"memory": 0, "embedding": 0, "explanations": 0, "sasc": 0, "ray_data": 0}, "--part"
        ),
        needs="the ray extra (make setup installs it)",
    ),
    Benchmark("text-ngrams", "text_ngrams", "tokenizer and n-gram lookup on 100k documents", 1),
)
BY_NAME = {b.name: b for b in BENCHMARKS}


def listing() -> str:
    lines = [
        "Benchmarks (make bench-NAME runs one; expected time of a full run on two idle cores):",
        "",
    ]
    for b in BENCHMARKS:
        files = f"{len(b.runs)} files" if len(b.runs) > 1 else "1 file"
        lines.append(f"  bench-{b.name:<26} ~{b.minutes:>4} min  {files:<9} {b.what}")
        if b.needs:
            lines.append(f"  {'':<32} needs: {b.needs}")
    total = sum(b.minutes for b in BENCHMARKS)
    lines += [
        "",
        f"  all of them: ~{total / 60:.1f} h. Never on a shared machine; --quick to check.",
    ]
    return "\n".join(lines)


def run(name: str) -> int:
    """Each of the benchmark's invocations in turn; stops at the first failure."""
    bench = BY_NAME[name]
    for args in bench.runs:
        command = [sys.executable, str(HERE / f"{bench.script}.py"), *args]
        print("+", " ".join(command[1:]), flush=True)
        code = subprocess.run(command, check=False).returncode
        if code:
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(listing())
        return 0
    if argv[0] == "run" and len(argv) == 2 and argv[1] in BY_NAME:
        return run(argv[1])
    print(f"usage: catalog.py [run NAME]; NAME one of {', '.join(BY_NAME)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
