"""The training pipeline of triage: tracked runs from ticket exports to model bundles."""

from training.pipeline import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
