"""The MLflow "model from code" wrapper: the registry stores this file and the bundle folder, not a pickle.

MLflow executes this file when the registered model is loaded as a pyfunc; the
service itself reads the bundle's files directly (see :func:`creditscore.modeling.registry.load_registered`).
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class BundleModel(PythonModel):
    """PD, score and grade from a creditscore model bundle (columns: the catalogue's indicators)."""

    def load_context(self, context) -> None:
        from creditscore.modeling.bundle import ModelBundle

        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.bundle.predict(model_input)


mlflow.models.set_model(BundleModel())
