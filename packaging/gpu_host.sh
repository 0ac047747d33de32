#!/usr/bin/env bash
# The default model's recipe on a GPU host that has Python and PyTorch but none of the speech
# packages and no network: synthesis, pretraining and fine-tuning run there in the background,
# and the results are gathered into OUT, the models in 15 MB parts (`cat NAME.part* >
# model.safetensors`) for hosts that limit the size of a file brought back.
#
#   BUNDLE=engines.tar.xz WHEELS=DIR OUT=DIR bash packaging/gpu_host.sh start SECONDS
#   OUT=DIR bash packaging/gpu_host.sh wait SECONDS
#
# `start` unpacks the engines (packaging/engines_bundle.sh made BUNDLE; the recipe then uses every
# synthesiser in it unless ENGINES is set), installs the wheels in
# WHEELS (soundfile, cffi, pycparser, platformdirs, when the host's Python lacks them), starts
# the recipe's stages corpus, pretrain, finetune1-3 in the background, and meanwhile trains a
# few steps on benchmarks/real_speech, so that a failure on the GPU shows at once. Both modes
# then report progress every 20 s until every stage is done or SECONDS pass, and gather what is
# done into OUT: logs, events and settings (logs.tgz), the pretrained model and the most
# advanced fine-tuned one. `wait` picks up a run a previous `start` left going.
# With CONTINUE=1, `start` instead fine-tunes the shipped default model further on a fresh corpus
# (two stages, finetune5a and finetune5b, synthesis overlapping the first; the `continue` block
# below); HOURS is then two numbers (the first stage's hours, then the total) and MINUTES two.
# The recipe's settings come from the environment as packaging/train_default_model.sh reads
# them; defaults here suit one large GPU and a 10-minute budget. The test sets are made and the
# models evaluated back on the machine with the engines installed.
set -u
mode=${1:?usage: gpu_host.sh start|wait SECONDS}
budget=${2:?usage: gpu_host.sh start|wait SECONDS}
t0=$(date +%s)
root=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN:-/tmp/vivavoce-gpu}
work=$run/work
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
# Every synthesiser the bundle holds (comma-separated), for a recipe whose ENGINES is not set.
held=$(ls "$run/bundle/bin" 2>/dev/null | sed -n 's/\.real$//p' | sed 's/espeak-ng/espeak/; s/pico2wave/pico/;
    s/RHVoice-test/rhvoice/' | sort | paste -sd,)

if [[ $mode == recipe ]]; then  # the stages, one after another (started by `start`)
    export VIVAVOCE=$run/vivavoce HOURS=${HOURS:-24} BATCH=${BATCH:-240} WORKERS=${WORKERS:-12} \
        PRETRAIN_LR=${PRETRAIN_LR:-2e-4} MINUTES=${MINUTES:-"2 1 2.5 1.5"} ENGINES=${ENGINES:-${held:-espeak,flite,festival}}
    echo "engines: $ENGINES"
    for stage in corpus pretrain finetune1 finetune2 finetune3; do
        echo "== $(date +%T) $stage"
        bash "$root/packaging/train_default_model.sh" "$work" "$stage" || { echo "$stage failed"; break; }
        touch "$work/$stage.done"
    done
    echo "== $(date +%T) finished"; touch "$run/finished"
    exit 0
fi

if [[ $mode == continue ]]; then  # fine-tune the shipped model further (started by `start` with CONTINUE=1)
    # A first few hours with every core; then, while the first stage trains on them, more hours
    # (the same seeded sequence, so a prefix of one corpus) with all but the loader's cores; the
    # second stage reads everything made by then. The learning rate warms up in the first stage,
    # holds through it, warms up again briefly (a fresh optimiser) and decays over the second.
    engines=${ENGINES:-${held:-espeak,flite,festival}}
    read -r first_hours hours <<< "${HOURS:-6 60}"
    read -r -a minutes <<< "${MINUTES:-1.8 4.5}"
    batch=${BATCH:-240}; rate=${LEARNING_RATE:-1e-3}; cores=$(nproc); loaders=${LOADERS:-4}
    common=(--max-utterance-seconds 16 --batch-seconds "$batch" --learning-rate "$rate" --max-steps 100000
            --mask-prob 0.05 --channel-mask-prob 0 --train-feature-encoder --freeze-transformer-steps 0
            --patience 100 --valid-fraction 0.005)
    echo "engines: $engines"
    cd "$work"
    echo "== $(date +%T) corpus ($first_hours h)"
    "$run/vivavoce" train synth --out corpus --hours "$first_hours" --seed "${SEED:-5}" --engines "$engines" \
        --workers "$cores" || { echo "corpus failed"; touch "$run/finished"; exit 0; }
    setsid "$run/vivavoce" train synth --out corpus --hours "$hours" --seed "${SEED:-5}" --engines "$engines" \
        --workers $(( cores > loaders + 1 ? cores - loaders : 1 )) --resume > synth-more.log 2>&1 < /dev/null &
    more=$!
    echo "== $(date +%T) finetune5a"
    "$run/vivavoce" train finetune --data corpus --init "$root/assets/models/default" --out finetune5a \
        "${common[@]}" --stage-fractions 0.1 0.9 0 --eval-every 200 --workers "$loaders" \
        --max-minutes "${minutes[0]}" --events finetune5a.events || echo "finetune5a failed"
    kill -TERM -- -"$more" 2>/dev/null; wait "$more" 2>/dev/null
    echo "== $(date +%T) corpus now: $(( $(wc -l < corpus/manifest.tsv) - 1 )) recordings"
    if [[ -e finetune5a/model.safetensors ]]; then
        echo "== $(date +%T) finetune5b"
        "$run/vivavoce" train finetune --data corpus --init finetune5a --out finetune5b \
            "${common[@]}" --stage-fractions 0.03 0.37 0.6 --eval-every 250 --workers $(( cores - 2 )) \
            --max-minutes "${minutes[1]}" --events finetune5b.events || echo "finetune5b failed"
    fi
    echo "== $(date +%T) finished"; touch "$run/finished"
    exit 0
fi

OUT=${OUT:?set OUT, the folder the results are gathered into}
mkdir -p "$OUT"
if [[ $mode == start ]]; then
    mkdir -p "$work"
    {
        if [[ -n ${WHEELS:-} ]]; then
            "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$run/site" \
                "$WHEELS"/*.whl
        fi
        if [[ -n ${BUNDLE:-} ]]; then
            tar -xJf "$BUNDLE" -C "$run" && cp -rn "$run/bundle/root/." /
        fi
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
        echo "$(nproc) cores"
    } > "$run/setup.log" 2>&1
    cat > "$run/vivavoce" <<EOF
#!/bin/sh
export PATH=$run/bundle/bin:\$PATH PYTHONPATH=$run/site:$root
exec $python -m app.cli "\$@"
EOF
    chmod +x "$run/vivavoce"
    "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
        >> "$run/setup.log" 2>&1
    cat "$run/setup.log"
    touch "$work/tests.done"  # the test sets need Piper; they are made where the engines live
    # In a session of its own, so that it outlives the command (and the shell) that started it.
    smoke=$run/smoke
    recipe=recipe; init=$smoke/pre
    if [[ -n ${CONTINUE:-} ]]; then recipe=continue; init=$root/assets/models/default; fi
    setsid nohup bash "$0" "$recipe" 0 > "$run/run.log" 2>&1 < /dev/null &
    if ! { "$run/vivavoce" train pretrain --data "$root/benchmarks/real_speech" --out "$smoke/pre" \
               --preset compact --max-steps 3 --batch-seconds 20 --crop-seconds 3 --workers 2 &&
           "$run/vivavoce" train finetune --data "$root/benchmarks/real_speech" --init "$init" \
               --out "$smoke/ft" --max-steps 4 --batch-seconds 20 --workers 2 --eval-every 2 \
               --valid-fraction 0.2 --freeze-transformer-steps 1; } > "$run/smoke.log" 2>&1; then
        tail -40 "$run/smoke.log"; cp "$run/smoke.log" "$OUT/"
        echo "the smoke run failed (above); the recipe may fail the same way: $run/run.log" >&2
        exit 1
    fi
    echo "smoke run passed after $(( $(date +%s) - t0 )) s"
fi

while (( $(date +%s) - t0 < budget - 25 )) && [[ ! -e $run/finished ]]; do
    sleep 20
    echo "-- $(( $(date +%s) - t0 )) s: $(tail -1 "$run/run.log" | cut -c1-200)"
    events=$(ls -t "$work"/*.events 2>/dev/null | head -1)
    [[ -n $events ]] && echo "   $(basename "$events"): $(tail -1 "$events" | cut -c1-300)"
done

cd "$work"
tar -czf "$OUT/logs.tgz" ../run.log ../setup.log ./*.events ./*/README.md ./*/config.json \
    ./*/training/config.toml corpus/manifest.tsv 2>/dev/null
final=""
for stage in finetune1 finetune2 finetune3 finetune5a finetune5b; do
    [[ -e $stage/model.safetensors ]] && final=$stage
done
for stage in pretrain $final; do
    [[ -e $stage/model.safetensors ]] || continue
    split -b 15M -d "$stage/model.safetensors" "$OUT/$stage.safetensors.part"
    cp "$stage/config.json" "$OUT/$stage.config.json"
done
ls -l "$OUT"
tail -20 "$run/run.log"
