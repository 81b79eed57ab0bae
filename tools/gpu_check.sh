#!/usr/bin/env bash
# One GPU session for issue 16, about 8-9 minutes on one CUDA GPU, every step under its own `timeout`.
#
#   tools/gpu_check.sh [OUT_DIR]                        # CUDA; OUT_DIR defaults to $OUT, else gpu_check_out/
#   tools/gpu_check.sh --device cpu --dry-run [OUT_DIR] # the same steps on the CPU with tiny sizes/steps
#   tools/gpu_check.sh --only chapters,compile OUT2     # a second run of some phases (bench, dispatch,
#                                                       # chapters, train, compile); BUDGET_S=... to resize
#
# The whole run keeps to BUDGET_S (default 540 s): every phase has a deadline, and a step's limit is the
# smaller of its own and the time left to its phase's deadline (a step with under 10 s left is skipped, exit
# "skip"). The most predictable, most wanted figures come first; the cold torch.compile runs come last.
# Steps (figures under OUT_DIR; steps.tsv has one row per step: name, exit status, seconds, time limit):
#   env            nvidia-smi, torch/CUDA versions, GPU name                      -> env.txt
#   bench_eager    clusir bench base/small/tiny, batch 12, 128², bf16            -> bench_eager.{json,md}
#   bench_compile  the same with torch.compile, one preset per step              -> bench_compile_<p>.{json,md}
#   dispatch       sparse vs batched vs dense expert FFN (clusir bench --dispatch) -> dispatch.{json,md}
#   chapters       every chapter with QUICK=False under its own cap (papermill)   -> chapters.tsv, chapters/
#   train          tiny-preset N+H+R on MiniAIO at 128² (configs/miniaio/nhr_tiny.yaml, capped steps)
#   export, eval   float16 copy of the checkpoint; clusir eval on the MiniAIO test split -> nhr_tiny_gpu.pt, eval.json
# A failed or timed-out step is recorded and the script goes on; it exits 1 if any step failed.
# Dry run: presets nano, 32² crops, 1-2 steps; compile steps run with TORCHDYNAMO_DISABLE=1 (torch.compile
# becomes a no-op: compile itself is tested by tests/test_train_compile.py); only chapter 00, in the smoke
# profile (CLUSIR_SMOKE=1: QUICK=False with step counts capped).
set -u -o pipefail

DEVICE=cuda
DRY=0
DEST=""
ONLY="${ONLY:-bench,dispatch,chapters,train,compile}"   # e.g. ONLY=chapters,compile for a second run
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $1" >&2; exit 2 ;;
    *) DEST="$1"; shift ;;
  esac
done
DEST="${DEST:-${OUT:-gpu_check_out}}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python}"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
if [ -e "$DEST/steps.tsv" ]; then
  echo "gpu_check.sh: $DEST already holds a run (steps.tsv); choose an empty folder" >&2
  exit 2
fi
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg

if [ "$DRY" = 1 ]; then
  PRESETS="nano"; BATCH=2; CROP=32; INFER=32; TSTEPS=1; WARM=0; CHAPTERS="00"; CHAPTER_CAP=240
  TRAIN_PRESET=nano; TRAIN_STEPS=2; TRAIN_BATCH=2; WORKERS=0; EVAL_LIMIT="--limit 1"; STAGES="0"
  export CLUSIR_SMOKE=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
  CAP() { echo 300; }     # generous limits: the dry run is a plumbing test on a shared CPU
  BUDGET_S="${BUDGET_S:-3600}"; AMP=bf16
else
  PRESETS="base small tiny"; BATCH=12; CROP=128; INFER=256; TSTEPS=10; WARM=3; CHAPTERS="all"
  CHAPTER_CAP=60; TRAIN_PRESET=tiny; TRAIN_STEPS="${TRAIN_STEPS:-1200}"; TRAIN_BATCH=16; WORKERS=8
  EVAL_LIMIT=""; STAGES="0 1 2 3"
  CAP() { echo "$1"; }
  BUDGET_S="${BUDGET_S:-540}"; AMP=bf16
fi
# phase deadlines, in seconds from the start (fractions of the budget)
END_BENCH=$((BUDGET_S * 20 / 100)); END_CHAPTERS=$((BUDGET_S * 58 / 100)); END_TRAIN=$((BUDGET_S * 85 / 100))
END=$BUDGET_S
printf 'step\texit\tseconds\tlimit_s\n' > "$DEST/steps.tsv"
FAILED=0
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# limit_for LIMIT_S: the smaller of LIMIT_S and the time left to the current phase's deadline $END
limit_for() {
  local l; l="$(CAP "$1")"; local left=$((END - SECONDS))
  [ "$left" -lt "$l" ] && l="$left"
  echo "$l"
}

# step NAME LIMIT_S CMD...: run CMD under `timeout`, log to NAME.log, record the row
step() {
  local name="$1" limit; limit="$(limit_for "$2")"; shift 2
  local t0=$SECONDS rc
  if [ "$limit" -lt 10 ]; then
    printf '%s\tskip\t0\t%s\n' "$name" "$limit" >> "$DEST/steps.tsv"; FAILED=1
    echo "   $name: skipped, the phase's time is spent" >&2; return 0
  fi
  echo "== $name (limit ${limit}s): $*" >&2
  timeout --kill-after=10 "$limit" "$@" > "$DEST/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$limit" >> "$DEST/steps.tsv"
  [ "$rc" = 0 ] || { FAILED=1; echo "   $name: exit $rc (124 = timed out); see $DEST/$name.log" >&2; }
  return 0
}

# -- env ------------------------------------------------------------------------------------------------
ENV_PY='import platform, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "python", platform.python_version())
print("gpu", torch.cuda.get_device_name() if torch.cuda.is_available() else None)'
step env 30 bash -c 'date -u; git -C "$1" rev-parse HEAD; nvidia-smi || echo "nvidia-smi: not available"
  "$2" -c "$3"' env "$ROOT" "$PY" "$ENV_PY"
cp "$DEST/env.log" "$DEST/env.txt"
if [ "$DEVICE" = cuda ] && ! grep -q '^gpu [^N]' "$DEST/env.txt"; then
  echo "gpu_check.sh: $PY sees no CUDA GPU (env.txt); install a CUDA build of torch or set PYTHON" >&2
  exit 2
fi

# -- (a) bench: eager and dispatch now, compiled at the end ---------------------------------------------
END=$END_BENCH
BENCH=(-m clusir bench --device "$DEVICE" --batch "$BATCH" --crop "$CROP" --infer-size "$INFER"
       --train-steps "$TSTEPS" --infer-steps "$TSTEPS" --warmup "$WARM" --amp "$AMP" --markdown)
[ "$DEVICE" = cpu ] && BENCH+=(--threads 1)
# shellcheck disable=SC2086
want bench && step bench_eager 90 "$PY" "${BENCH[@]}" --presets $PRESETS --json "$DEST/bench_eager.json"
# shellcheck disable=SC2086
want dispatch && step dispatch 40 "$PY" -m clusir bench --dispatch --device "$DEVICE" --presets tiny base --stages $STAGES \
  --batch "$BATCH" --crop "$CROP" --train-steps "$((TSTEPS > 1 ? 5 : 1))" --warmup 1 --amp "$AMP" \
  --json "$DEST/dispatch.json"

# -- (b) every chapter, full profile, each under a cap ---------------------------------------------------
want chapters || CHAPTERS=none
mkdir -p "$DEST/chapters"
printf 'chapter\texit\tseconds\tlimit_s\terror\n' > "$DEST/chapters.tsv"
# the copies run have the exercise solutions injected after their stubs (clusir/exercises.py), as in the build
NBS=$("$PY" -c "from pathlib import Path; from clusir.bookrun import chapter_notebooks, select
from clusir.exercises import prepare
import sys; names = None if sys.argv[1] == 'all' else sys.argv[1].split(',')
nbs = [] if sys.argv[1] == 'none' else select(chapter_notebooks(Path.cwd()), names)
copies = {p.name: p for p in prepare(Path.cwd(), Path(sys.argv[2]))} if nbs else {}
print(' '.join(str(copies[p.name]) for p in nbs))" "$CHAPTERS" "$DEST/prepared")
CH_T0=$SECONDS
END=$END_CHAPTERS
for nb in $NBS; do
  name="$(basename "$nb" .ipynb)"
  limit="$CHAPTER_CAP"; case "$name" in 06_*) [ "$DRY" = 1 ] || limit=120 ;; esac
  limit="$(limit_for "$limit")"
  if [ "$limit" -lt 10 ]; then
    printf '%s\tskip\t0\t%s\tthe chapters phase ran out of time\n' "$name" "$limit" >> "$DEST/chapters.tsv"
    FAILED=1; continue
  fi
  t0=$SECONDS
  CLUSIR_ROOT="$ROOT" timeout --kill-after=10 "$limit" "$PY" -m papermill "$nb" "$DEST/chapters/$name.ipynb" \
    -p QUICK False --cwd "$(dirname "$nb")" --no-progress-bar --start-timeout 300 > "$DEST/chapters/$name.log" 2>&1
  rc=$?
  err=$(grep -E "CUDA|cuda|Error|error:" "$DEST/chapters/$name.log" | grep -v WARNING | tail -1 | tr '\t' ' ' | cut -c1-300)
  [ "$rc" = 0 ] && err=""
  [ "$rc" = 0 ] || FAILED=1
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$limit" "$err" >> "$DEST/chapters.tsv"
  echo "   $name: exit $rc, $((SECONDS - t0)) s" >&2
done
want chapters && printf 'chapters\t%s\t%s\t%s\n' "$(awk -F'\t' 'NR>1 && $2!=0 {n++} END {print n+0}' "$DEST/chapters.tsv")" \
  "$((SECONDS - CH_T0))" "-" >> "$DEST/steps.tsv"

# -- (c) short tiny N+H+R training at 128², float16 export, MiniAIO test split ---------------------------
END=$END_TRAIN
RUN="$DEST/train"
TRAIN_SET=(data.num_workers="$WORKERS" batch_size="$TRAIN_BATCH" save_every=200 log_every=50 eval_every=0
           progress=false epochs="$(( (TRAIN_STEPS * TRAIN_BATCH + 3999) / 4000 ))" run_dir="$RUN")
[ "$DRY" = 1 ] && TRAIN_SET+=(data.crop="$CROP" data.samples_per_epoch=4 data.val_split=None warmup_steps=0)
if want train; then
step train 150 "$PY" -m clusir train --config configs/miniaio/nhr_tiny.yaml --preset "$TRAIN_PRESET" \
  --max-steps "$TRAIN_STEPS" --set "${TRAIN_SET[@]}"
step export 30 "$PY" -c "import sys; from clusir.train.checkpoint import export_release, load_checkpoint
c = load_checkpoint(sys.argv[1]); export_release(c, sys.argv[2], half=True); print('exported step', c['step'])" \
  "$RUN/last.pt" "$DEST/nhr_tiny_gpu.pt"
# shellcheck disable=SC2086
step eval 60 "$PY" -m clusir eval --checkpoint "$DEST/nhr_tiny_gpu.pt" --setting nhr --split test \
  --device "$DEVICE" --json "$DEST/eval.json" $EVAL_LIMIT
fi

# -- (a, end) torch.compile, one preset per step, with what is left of the budget -------------------------
END=$BUDGET_S
for p in $PRESETS; do
  COMPILE_ENV=(); [ "$DRY" = 1 ] && COMPILE_ENV=(env TORCHDYNAMO_DISABLE=1)
  want compile && step "bench_compile_$p" 60 "${COMPILE_ENV[@]}" "$PY" "${BENCH[@]}" --presets "$p" --compile \
    --json "$DEST/bench_compile_$p.json"
done
for f in bench_eager dispatch $(for p in $PRESETS; do echo "bench_compile_$p"; done); do
  [ -f "$DEST/$f.log" ] && grep -Ev '^(benched|USDT:)' "$DEST/$f.log" > "$DEST/$f.md"
done

echo "gpu_check.sh: done in ${SECONDS}s; figures in $DEST (steps.tsv, chapters.tsv)" >&2
cat "$DEST/steps.tsv" >&2
exit "$FAILED"
