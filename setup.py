"""Build hook: the declarations the library reads ship inside the wheel, as ``creditscore/_shipped/``.

The indicator catalogue (``features/``), the master scales, policy and monitoring thresholds, and the small demo
bundles (``models/``) stay top-level folders in the repository, where analysts edit them; a built wheel carries
a copy so that an installed service grades without the source tree (:mod:`creditscore.resources` finds either).
Everything else about the package is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"features": ["*.yaml"], "models": ["*.yaml", "demo/*/*"]}


class BuildWithDeclarations(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the source tree itself
            return
        target = Path(self.build_lib) / "creditscore" / "_shipped"
        for folder, patterns in SHIPPED.items():
            for pattern in patterns:
                for source in sorted((ROOT / folder).glob(pattern)):
                    if source.is_file():
                        dest = target / folder / source.relative_to(ROOT / folder)
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithDeclarations})
