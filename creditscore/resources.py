"""Where the shipped declarations live: the indicator catalogue, scales, policy, thresholds and demo bundles.

In a checkout (and an editable install) they are the repository's top-level ``features/`` and ``models/``
folders, which analysts edit. A built wheel carries a copy inside the package, ``creditscore/_shipped/``
(``setup.py`` puts it there), so an installed service grades without the source tree. One module answers
"where", so no other module counts ``parents[...]`` to find a file.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEMO_BUNDLES", "FEATURES_DIR", "MODELS_DIR"]

_PACKAGE = Path(__file__).resolve().parent


def _root(name: str) -> Path:
    shipped = _PACKAGE / "_shipped" / name
    return shipped if shipped.is_dir() else _PACKAGE.parent / name


#: The indicator catalogue: ``sme.yaml``, ``household.yaml``.
FEATURES_DIR = _root("features")
#: Master scales, policy, monitoring thresholds.
MODELS_DIR = _root("models")
#: Small bundles shipped so the product grades out of the box (trained on synthetic data).
DEMO_BUNDLES = MODELS_DIR / "demo"
