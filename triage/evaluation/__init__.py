"""Evaluation of trained models: metrics per head and per class, and of the decisions they drive."""

from triage.evaluation.evaluate import Evaluation, evaluate, evaluate_model, evaluate_triager
from triage.evaluation.metrics import auto_route_summary, expected_calibration_error, head_metrics, risk_coverage

__all__ = [
    "Evaluation",
    "auto_route_summary",
    "evaluate",
    "evaluate_model",
    "evaluate_triager",
    "expected_calibration_error",
    "head_metrics",
    "risk_coverage",
]
