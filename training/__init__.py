"""Training: data, pretraining, fine-tuning, evaluation, synthetic speech. No Qt here."""
