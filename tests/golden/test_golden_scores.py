"""Golden scores: committed PD, grades and reasons of fixed subjects (see tests/golden/golden.py).

A failure lists every difference. If the change is intended (a retrained demo model, a reworded reason, a
deliberate pipeline change), update the file with ``python -m tests.golden.golden --update`` and say why in the
commit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from creditscore.records.subjects import Segment
from tests.golden import golden


@pytest.fixture(scope="module")
def committed() -> dict[str, object]:
    return json.loads(golden.FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("segment", [Segment.SME, Segment.HOUSEHOLD])
def test_the_committed_indicators_score_as_committed(committed: dict[str, object], segment: Segment) -> None:
    """The scoring path and its libraries: the same indicators give the same PD, grades and reasons."""
    seg = committed["segments"][segment.value]
    features = pd.DataFrame.from_dict(seg["indicators"], orient="index")
    features.index.name = "subject_id"
    features = features[golden.scorer(segment).catalogue.ids].astype(float)
    now = {"segments": {segment.value: {"scores": golden.scores(features, segment)}}}
    changed = golden.differences({"segments": {segment.value: seg}}, now, part="scores")
    assert not changed, "golden scores moved (python -m tests.golden.golden --update if intended):\n" + \
        "\n".join(changed[:40])


def test_the_pipeline_computes_the_committed_indicators(committed: dict[str, object]) -> None:
    """The feature pipeline and the generator: the seeded records give the committed indicators."""
    now = {"segments": {name: {"indicators": json.loads(f.to_json(orient="index", double_precision=15))}
                        for name, f in golden.indicators().items()}}
    changed = golden.differences(committed, now, part="indicators")
    assert not changed, "golden indicators moved (python -m tests.golden.golden --update if intended):\n" + \
        "\n".join(changed[:40])


def test_a_moved_score_is_caught(committed: dict[str, object]) -> None:
    """The comparison can fail: one PD moved by one part in a million is reported with the subject."""
    seg = committed["segments"]["sme"]
    subject = next(iter(seg["scores"]))
    moved = json.loads(json.dumps(seg))
    moved["scores"][subject]["pd"] *= 1 + 1e-6
    changed = golden.differences({"segments": {"sme": seg}}, {"segments": {"sme": moved}}, part="scores")
    assert changed == [f"sme {subject} pd: {seg['scores'][subject]['pd']} → {moved['scores'][subject]['pd']}"]
