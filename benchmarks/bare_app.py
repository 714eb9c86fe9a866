"""The bare baseline for benchmarks/api.py: the same model's predict + pred_contrib on a fixed vector, nothing else.

``/bare`` is an ``async def`` route, so the model runs on the event loop as the service's grades do
(api/batching.py); it is the baseline of the grade / bare ratio. ``/bare-threaded`` is the same body as a
plain ``def``, which FastAPI sends through its thread pool: that hop alone halves the throughput of a 0.1 ms
body (measured: 1 worker, concurrency 8, ~3,500 → ~1,700 req/s), so a ratio against it flatters the service.
"""

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


def _predict() -> dict[str, float]:
    margin = bundle.booster.predict(vector, raw_score=True)
    contrib = bundle.booster.predict(vector, pred_contrib=True)
    return {"margin": float(margin[0]), "top": float(np.max(contrib[0, :-1]))}


@app.get("/bare")
async def bare() -> dict[str, float]:
    return _predict()


@app.get("/bare-threaded")
def bare_threaded() -> dict[str, float]:
    return _predict()
