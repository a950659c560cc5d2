"""The model registry: entries, signing, storage, the model card, the gate, ranking."""
