"""Master scales: calibrated PD → score → grade, from ``models/scales.yaml``.

The enterprise scale maps 12-month PD to the nine grades AAA … C; the household
scale maps a 100-point score to AAA / AA / A / 非信用户, the vocabulary village
assessors use. Scores are the usual log-odds scaling::

    score = base_score + pdo / ln 2 · ln(odds / base_odds),   odds = (1 − PD) / PD

clipped to [minimum, maximum]. A lower PD always means a higher score and a
grade at least as good.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditscore.config import load_yaml_model
from creditscore.resources import MODELS_DIR

__all__ = ["Band", "MasterScale", "Scales", "ScoreScaling", "load_scales"]

SCALES_PATH = MODELS_DIR / "scales.yaml"


class ScoreScaling(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_score: float
    base_odds: float = Field(gt=0)
    pdo: float = Field(gt=0)
    minimum: float
    maximum: float

    @model_validator(mode="after")
    def _range(self) -> ScoreScaling:
        if not self.minimum < self.base_score < self.maximum:
            raise ValueError("base_score must lie strictly between minimum and maximum")
        return self

    def score(self, pd_: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(pd_, dtype=float), 1e-9, 1 - 1e-9)
        raw = self.base_score + self.pdo / np.log(2) * np.log((1 - p) / p / self.base_odds)
        # Rounded to 0.01: a grade must follow the score a person reads, not a floating-point hair.
        return np.round(np.clip(raw, self.minimum, self.maximum), 2)

    def pd_at(self, score: float) -> float:
        """The PD whose (unclipped) score is ``score``: how score bands read as PD."""
        odds = self.base_odds * 2 ** ((score - self.base_score) / self.pdo)
        return 1 / (1 + odds)


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grade: str
    label_zh: str
    lower: float
    upper: float


class MasterScale(BaseModel):
    """One segment's scale: grades from the best, with contiguous [lower, upper) bands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: Literal["pd", "score"]
    score: ScoreScaling
    grades: list[Band] = Field(min_length=2)

    @model_validator(mode="after")
    def _contiguous(self) -> MasterScale:
        bands = self.grades if self.basis == "pd" else list(reversed(self.grades))
        names = [b.grade for b in self.grades]
        if len(set(names)) != len(names):
            raise ValueError(f"grade names repeat: {names}")
        for b in bands:
            if not b.lower < b.upper:
                raise ValueError(f"grade {b.grade}: lower {b.lower} must be below upper {b.upper}")
        for prev, nxt in itertools.pairwise(bands):
            if prev.upper != nxt.lower:
                what = "overlap" if prev.upper > nxt.lower else "leave a gap"
                raise ValueError(f"grades {prev.grade} and {nxt.grade} {what}: {prev.upper} vs {nxt.lower}")
        full = (0.0, 1.0) if self.basis == "pd" else (self.score.minimum, self.score.maximum)
        if (bands[0].lower, bands[-1].upper) != full:
            raise ValueError(f"bands must cover {full[0]}–{full[1]}, they cover {bands[0].lower}–{bands[-1].upper}")
        return self

    @property
    def names(self) -> list[str]:
        return [b.grade for b in self.grades]

    def grade_index(self, pd_: np.ndarray) -> np.ndarray:
        """0 for the best grade … n−1 for the worst."""
        p = np.asarray(pd_, dtype=float)
        if self.basis == "pd":
            uppers = np.array([b.upper for b in self.grades[:-1]])
            return np.searchsorted(uppers, p, side="right")
        s = self.score.score(p)
        lowers = np.array([b.lower for b in self.grades[:-1]])  # descending from the best
        return np.searchsorted(-lowers, -s, side="left")  # a score on a lower bound earns that grade

    def grade(self, pd_: np.ndarray) -> np.ndarray:
        return np.array(self.names, dtype=object)[self.grade_index(pd_)]

    def pd_bands(self) -> list[tuple[str, float, float]]:
        """Each grade's PD range (for a score-based scale, the PD at its score bounds)."""
        if self.basis == "pd":
            return [(b.grade, b.lower, b.upper) for b in self.grades]
        return [(b.grade, self.score.pd_at(b.upper) if b.upper < self.score.maximum else 0.0,
                 self.score.pd_at(b.lower) if b.lower > self.score.minimum else 1.0) for b in self.grades]


class Scales(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    scales: dict[Literal["sme", "household"], MasterScale]


def load_scales(path: str | Path | None = None) -> Scales:
    return load_yaml_model(path or SCALES_PATH, Scales)
