"""The bare baseline for benchmarks/api.py: the same model's predict + pred_contrib on a fixed vector, nothing else."""

from __future__ import annotations

import gc

import numpy as np
from fastapi import FastAPI

from creditscore.features import load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle

bundle = ModelBundle.load(DEMO_BUNDLES / "sme", catalogue=load_catalogue("sme"))
vector = np.zeros((1, len(bundle.feature_names)))
app = FastAPI()
gc.collect()
gc.freeze()  # as the service does at start-up (api/app.py): the baseline gets the same tuning


@app.get("/bare")
def bare() -> dict[str, float]:
    margin = bundle.booster.predict(vector, raw_score=True)
    contrib = bundle.booster.predict(vector, pred_contrib=True)
    return {"margin": float(margin[0]), "top": float(np.max(contrib[0, :-1]))}
