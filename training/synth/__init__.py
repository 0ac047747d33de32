"""Synthetic speech for training: synthesisers, augmentation and the corpus builder."""
