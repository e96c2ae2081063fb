"""Evaluation of trained models: metrics per head and per class."""

from triage.evaluation.evaluate import evaluate_model
from triage.evaluation.metrics import expected_calibration_error, head_metrics

__all__ = ["evaluate_model", "expected_calibration_error", "head_metrics"]
