"""The served model: loaded in the app's lifespan, swapped atomically on reload.

Requests take a reference to the current :class:`Triager` once, so a reload never changes the model under a
request in flight; a bundle that fails verification or loading leaves the old model serving.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from triage.decision import Triager
from triage.errors import ModelNotReady, TriageError
from triage.models import load_bundle
from triage.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class ModelState:
    settings: Settings
    triager: Triager | None = None
    last_error: str | None = None
    loaded_at: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Triager:
        """The triager to use for one request; raises :class:`ModelNotReady` when none is loaded."""
        triager = self.triager
        if triager is None:
            raise ModelNotReady(self.last_error or "the model is still loading")
        return triager

    def load(self, model_dir: str | Path | None = None) -> Triager:
        """Verify and load a bundle, then swap it in. On failure the previous model keeps serving and the
        error is kept in ``last_error`` and raised."""
        path = Path(model_dir or self.settings.model_dir)
        with self._lock:
            try:
                triager = Triager.from_settings(load_bundle(path), self.settings)
                triager.decide(["warm-up ticket"])  # first call initialises ONNX Runtime and sklearn paths
            except TriageError as exc:
                self.last_error = f"loading {path} failed: {exc}"
                logger.error("%s", self.last_error)
                raise
            self.triager, self.last_error, self.loaded_at = triager, None, datetime.now(UTC)
            logger.info("serving model %s from %s", triager.version, path)
            return triager
