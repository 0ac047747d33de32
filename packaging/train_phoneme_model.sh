#!/usr/bin/env bash
# The recipe of the bundled phoneme model (assets/models/phonemes-en), for pronunciation practice.
#
#   bash packaging/train_phoneme_model.sh WORK_DIR            # every stage not yet done
#   bash packaging/train_phoneme_model.sh WORK_DIR finetune   # one stage (again, or resumed)
#   bash packaging/train_phoneme_model.sh WORK_DIR ship       # copy it into assets/models/phonemes-en
#
# Training writes its progress as JSON lines to WORK_DIR/finetune.events.
# Stages: corpus (synthetic speech with espeak-ng phoneme transcripts, in each voice's accent),
# tests (held-out sentences), finetune (from the bundled default recogniser, whose network already hears English speech: it
# gets a new output layer of phonemes), finetune2 (a second cycle), evaluate, and `ship`, run by name only. An interrupted
# stage continues when run again; a finished one leaves WORK_DIR/STAGE.done. HOURS (default 10),
# STEPS (default 3000), STEPS2 (the second cycle's, default 2500), WORKERS (default 1) and BATCH (seconds of audio per update, default 30)
# can be set. The model card (assets/models/phonemes-en/README.md) records the shipped run.
set -euo pipefail

work=${1:?usage: train_phoneme_model.sh WORK_DIR [STAGE]}
only=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
vivavoce=${VIVAVOCE:-$root/.venv/bin/vivavoce}
hours=${HOURS:-10}
steps=${STEPS:-3000}
workers=${WORKERS:-1}
batch=${BATCH:-30}
engines=espeak,flite,festival,pico,rhvoice
mkdir -p "$work"
cd "$work"

run_stage() {  # run_stage NAME COMMAND...: run unless done (or run by name); resumable ones get --resume
    local name=$1; shift
    if [[ -n $only && $only != "$name" ]] || { [[ -z $only ]] && [[ -e $name.done ]]; }; then
        return 0
    fi
    echo "== $name: $*" >&2
    if [[ -e $name ]]; then "$@" --resume; else "$@"; fi
    touch "$name.done"
}

run_stage corpus "$vivavoce" train synth --out corpus --hours "$hours" --seed 21 --phonemes --engines "$engines"
# The held-out test sentences, read by the same synthesisers and by Piper's voice, never heard.
run_stage tests "$vivavoce" train synth --out test-clean --hours 0.15 --seed 2 --test-set clean --phonemes \
    --engines "$engines,piper"

# A new phoneme output layer on the default recogniser: only it learns for the first 300 updates
# (its random gradients would disturb the network), then everything, the feature encoder too.
run_stage finetune "$vivavoce" train finetune --data corpus --init default --out finetune --phonemes \
    --max-utterance-seconds 16 --batch-seconds "$batch" --learning-rate 5e-4 --max-steps "$steps" \
    --stage-fractions 0.05 0.3 0.65 --mask-prob 0.05 --channel-mask-prob 0 --train-feature-encoder \
    --freeze-transformer-steps 300 --eval-every 500 --patience 10 --valid-fraction 0.01 --workers "$workers" \
    --events finetune.events

# A second cycle over the same corpus: the learning rate warmed up again, held for almost half of
# the run, then decayed. The first cycle's phoneme error rate fell 13 points per 500 updates while
# its rate was high, and 1 to 2 points per 500 once it decayed.
run_stage finetune2 "$vivavoce" train finetune --data corpus --init finetune --out finetune2 \
    --max-utterance-seconds 16 --batch-seconds "$batch" --learning-rate 5e-4 --max-steps "${STEPS2:-2500}" \
    --stage-fractions 0.05 0.45 0.5 --mask-prob 0.05 --channel-mask-prob 0 --train-feature-encoder \
    --freeze-transformer-steps 0 --eval-every 500 --patience 10 --valid-fraction 0.01 --workers "$workers" \
    --events finetune2.events

final=finetune
[[ -e finetune2/model.safetensors ]] && final=finetune2

# Verdicts on minimal pairs read by each synthesiser (and Piper's voice, never heard), and the false
# alarms on real people reading (benchmarks/real_speech).
if [[ -z $only || $only == evaluate ]]; then
    "$vivavoce" train evaluate --model "$final" --data test-clean --by engine
    "$root/.venv/bin/python" "$root/benchmarks/pronunciation.py" --model "$work/$final"
fi

if [[ $only == ship ]]; then
    "$root/.venv/bin/python" "$root/packaging/ship_model.py" "$final" "$root/assets/models/phonemes-en" \
        "packaging/train_phoneme_model.sh (see README.md beside this file)"
    echo "shipped $work/$final as assets/models/phonemes-en; write its figures into its README.md" >&2
fi
