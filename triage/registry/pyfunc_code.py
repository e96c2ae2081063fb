"""The code of a logged triage pyfunc model (MLflow's models from code): the model is built from the
installed triage, never unpickled. See :mod:`triage.registry.pyfunc`."""

from mlflow.models import set_model

from triage.registry.pyfunc import TriageBundleModel

set_model(TriageBundleModel())
