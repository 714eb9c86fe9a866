"""Golden scores: a fixed set of subjects whose indicators, PD, grades and reasons are committed.

A dependency bump (LightGBM, numpy, scikit-learn, pandas) or a code change that moves any of them fails CI with
the differences listed. The peers' most damaging failures were scores that changed silently after an upgrade.

Update the file deliberately, after reading the differences, with the one command::

    python -m tests.golden.golden --update

Two layers, so a failure says where the change is: the committed **indicators** are scored again (model,
calibration, policy, reasons: the scoring path and its libraries), and the indicators are computed again from the
same seeded synthetic records (the feature pipeline and the generator).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd

from creditscore.decisions.scorer import Scorer
from creditscore.features import compute_features, load_catalogue
from creditscore.modeling.bundle import DEMO_BUNDLES, ModelBundle
from creditscore.policy import load_policy
from creditscore.records.subjects import Segment
from creditscore.synth import SynthConfig, generate

FILE = Path(__file__).with_name("golden_scores.json")
AS_OF = dt.date(2024, 6, 30)
SEED, FIRMS, HOUSEHOLDS, PER_SEGMENT = 20240630, 400, 400, 40
PD_TOLERANCE = 1e-9  # relative: a bit-level difference across platforms passes, a moved score does not


def scorer(segment: Segment) -> Scorer:
    catalogue = load_catalogue(segment)
    return Scorer(segment, ModelBundle.load(DEMO_BUNDLES / segment.value, catalogue=catalogue), catalogue,
                  load_policy())


def indicators() -> dict[str, pd.DataFrame]:
    """Every segment's golden subjects' indicators, from the seeded synthetic records."""
    population = generate(SynthConfig(seed=SEED, n_firms=FIRMS, n_households=HOUSEHOLDS))
    out = {}
    for segment in (Segment.SME, Segment.HOUSEHOLD):
        s = scorer(segment)
        features = compute_features(s.catalogue, population.tables, AS_OF, s.policy)
        chosen = features.sort_index().iloc[:: max(len(features) // PER_SEGMENT, 1)][:PER_SEGMENT]
        # labelled by position: no resident ID (even a synthetic one) in a committed file
        chosen.index = pd.Index([f"{segment.value}-{i:02d}" for i in range(len(chosen))], name="subject_id")
        out[segment.value] = chosen
    return out


def scores(features: pd.DataFrame, segment: Segment) -> dict[str, dict[str, object]]:
    scored = scorer(segment).score(features)
    d, why = scored.decisions, scored.reasons
    out = {}
    for subject, row in d.iterrows():
        mine = why[why["subject_id"] == subject].sort_values(["kind", "rank"])
        out[str(subject)] = {"pd": float(row["pd"]), "model_grade": str(row["model_grade"]),
                             "final_grade": str(row["final_grade"]), "eligible": bool(row["eligible"]),
                             "reasons": [f"{r.kind}:{r.reason_code}:{r.text_zh}" for r in mine.itertuples()]}
    return out


def current() -> dict[str, object]:
    data: dict[str, object] = {"as_of": AS_OF.isoformat(), "seed": SEED, "segments": {}}
    for name, features in indicators().items():
        data["segments"][name] = {
            "indicators": json.loads(features.to_json(orient="index", double_precision=15)),
            "scores": scores(features, Segment.of(name)),
        }
    return data


def differences(committed: dict[str, object], now: dict[str, object], *, part: str) -> list[str]:
    """Every subject and field that differs, readable: ``sme 9141…X pd: 0.0213 → 0.0219``."""
    out = []
    for name, seg in committed["segments"].items():
        before, after = seg[part], now["segments"].get(name, {}).get(part, {})
        for subject in sorted(set(before) | set(after)):
            a, b = before.get(subject), after.get(subject)
            if a is None or b is None:
                out.append(f"{name} {subject}: {'added' if a is None else 'gone'}")
                continue
            for field in sorted(set(a) | set(b)):
                x, y = a.get(field), b.get(field)
                same = (x is None and y is None) or (isinstance(x, float) and isinstance(y, float) and (
                    (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=PD_TOLERANCE, abs_tol=1e-12))
                ) or x == y
                if not same:
                    out.append(f"{name} {subject} {field}: {x} → {y}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="write the current scores as the golden ones")
    args = parser.parse_args()
    now = current()
    if FILE.is_file():
        committed = json.loads(FILE.read_text(encoding="utf-8"))
        changed = differences(committed, now, part="indicators") + differences(committed, now, part="scores")
        print("\n".join(changed) if changed else "no difference from the golden scores")
    if args.update:
        FILE.write_text(json.dumps(now, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"written: {FILE}")


if __name__ == "__main__":
    main()
