"""The MLflow pyfunc flavour of a bundle: ``mlflow.pyfunc.load_model("models:/NAME@champion").predict(df)``
answers as the API does, as a table (the columns of ``triage predict``).

The logged model holds the signed bundle as an artifact and, as its code, :mod:`triage.registry.pyfunc_code`
(three readable lines that build :class:`TriageBundleModel` from the installed triage: models from code, no
pickled object). ``load_context`` verifies the bundle's signature with the trusted keys of the settings, as
the service does, before anything is loaded.

>>> import mlflow, pandas as pd
>>> model = mlflow.pyfunc.load_model("models:/triage@champion")  # doctest: +SKIP
>>> model.predict(pd.DataFrame({"subject": ["VPN down"], "body": ["since 9am"]}))["decision"][0]  # doctest: +SKIP
'auto_route'
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from triage.registry.versions import BUNDLE_ARTIFACT


class TriageBundleModel(PythonModel):
    """A verified bundle behind MLflow's pyfunc interface. ``predict`` takes a DataFrame of tickets with
    ``subject`` and/or ``body`` (and an optional ``id``, echoed first) and returns, per ticket, per head the
    label, confidence, threshold and prediction set, then the decision, reason codes and reasons."""

    def load_context(self, context: Any) -> None:
        from triage.decision import Triager
        from triage.models import load_bundle
        from triage.settings import get_settings

        settings = get_settings()
        self.max_chars_ = settings.max_text_chars
        self.triager_ = Triager.from_settings(load_bundle(context.artifacts[BUNDLE_ARTIFACT]), settings)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, str] | None = None) -> pd.DataFrame:
        from triage.registry.predictions import decision_columns, ticket_texts

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        table = pd.DataFrame(decision_columns(self.triager_, ticket_texts(frame, max_chars=self.max_chars_)))
        if "id" in frame.columns:
            table.insert(0, "id", frame["id"].to_numpy())
        return table
