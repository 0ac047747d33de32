"""Model, CTC loss and decoder fit together: a tiny model over-fitted on espeak-ng speech reads it back."""

import json

from training.metrics import character_error_rate


def test_overfitted_tiny_model_transcribes_its_sentences_back(trained_model, vivavoce):
    folder, clips = trained_model

    result = vivavoce("transcribe", *clips, "--model", folder, "--format", "json")

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    hypotheses = {record["file"]: record["text"] for record in records}
    references = [clips[path] for path in clips]
    assert character_error_rate(references, [hypotheses[str(path)] for path in clips]) < 0.10
