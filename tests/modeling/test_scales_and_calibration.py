"""Master scales (validated, monotone) and calibration (Platt / isotonic, through the cycle, JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from creditscore.errors import ConfigError
from creditscore.modeling.calibration import Calibrator
from creditscore.modeling.scales import SCALES_PATH, load_scales
from tests.helpers import edited_copy


def test_enterprise_scale_has_the_nine_grades_in_order() -> None:
    sme = load_scales().scales["sme"]
    assert sme.names == ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
    assert list(sme.grade(np.array([0.001, 0.0025, 0.0099, 0.5]))) == ["AAA", "AA", "A", "C"]


def test_household_scale_uses_the_assessors_cut_offs() -> None:
    hh = load_scales().scales["household"]
    scores = np.array([85.0, 80.0, 79.9, 70.0, 60.0, 59.9])
    pds = np.array([hh.score.pd_at(s) for s in scores])
    assert list(hh.grade(pds)) == ["AAA", "AAA", "AA", "AA", "A", "非信用户"]


@pytest.mark.parametrize("segment", ["sme", "household"])
def test_lower_pd_never_gets_a_worse_grade_or_a_lower_score(segment: str) -> None:
    scale = load_scales().scales[segment]
    pds = np.linspace(0.0001, 0.9, 2000)
    assert np.all(np.diff(scale.grade_index(pds)) >= 0)
    assert np.all(np.diff(scale.score.score(pds)) <= 0)


def _scales_with(tmp_path: Path, old: str, new: str) -> Path:
    return edited_copy(SCALES_PATH, tmp_path, old, new)


def test_overlapping_bands_are_refused(tmp_path: Path) -> None:
    path = _scales_with(tmp_path, "lower: 0.0025, upper: 0.005", "lower: 0.002, upper: 0.005")
    with pytest.raises(ConfigError, match=r"scales\.yaml:\d+: scales\.sme: .*AAA and AA overlap"):
        load_scales(path)


def test_a_gap_between_bands_is_refused(tmp_path: Path) -> None:
    path = _scales_with(tmp_path, "lower: 0.0025, upper: 0.005", "lower: 0.003, upper: 0.005")
    with pytest.raises(ConfigError, match="leave a gap"):
        load_scales(path)


def test_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _scales_with(tmp_path, "basis: pd", "basis: pd\n    colour: red")
    with pytest.raises(ConfigError, match=r"scales\.yaml:\d+: scales\.sme\.colour: Extra inputs are not permitted"):
        load_scales(path)


def _calibration_data(n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    margin = rng.normal(-1, 1.5, n)
    true_pd = 1 / (1 + np.exp(-(0.6 * margin - 2.2)))  # the model's margin is over-confident and shifted
    return margin, (rng.random(n) < true_pd).astype(int)


@pytest.mark.parametrize("method", ["platt", "isotonic", "auto"])
def test_calibrated_pd_matches_the_default_rate(method: str) -> None:
    margin, y = _calibration_data()
    cal = Calibrator(method).fit(margin, y)
    pd_ = cal.predict(margin)
    assert abs(pd_.mean() - y.mean()) < 0.003
    assert np.all(np.diff(cal.predict(np.sort(margin))) >= 0)  # never reorders subjects


def test_auto_prefers_platt_when_the_truth_is_logistic() -> None:
    margin, y = _calibration_data()
    cal = Calibrator("auto").fit(margin, y)
    assert cal.method_ == "platt"
    assert set(cal.cv_log_loss_) == {"platt", "isotonic"}


def test_central_tendency_moves_the_mean_pd_to_the_long_run_rate() -> None:
    margin, y = _calibration_data()
    cal = Calibrator("platt").fit(margin, y, central_tendency=0.05)
    assert abs(cal.predict(margin).mean() - 0.05) < 1e-6


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrator_json_round_trip(method: str) -> None:
    margin, y = _calibration_data()
    cal = Calibrator(method).fit(margin, y, central_tendency=0.04)
    again = Calibrator.from_dict(cal.to_dict())
    np.testing.assert_array_equal(again.predict(margin), cal.predict(margin))


def test_calibration_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        Calibrator().fit(np.zeros(10), np.zeros(10))
