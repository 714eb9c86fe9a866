"""The catalogue files: strict validation with file, line and key; reason templates for every indicator."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditscore.errors import ConfigError
from creditscore.features import load_catalogue
from creditscore.features.catalogue import FEATURES_DIR
from tests.helpers import edited_copy


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sme.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    return edited_copy(FEATURES_DIR / "sme.yaml", tmp_path, old, new).parent


def test_typo_in_a_key_names_file_line_and_key(tmp_path: Path) -> None:
    folder = _mutated(tmp_path, "    direction: increasing\n", "    directon: increasing\n")
    with pytest.raises(ConfigError, match=r"sme\.yaml:\d+: indicators\[0\]\.directon: Extra inputs are not permitted"):
        load_catalogue("sme", folder)


def test_unknown_field_of_the_source_kind_is_refused(tmp_path: Path) -> None:
    folder = _mutated(tmp_path, "field: grade, order: year,", "field: grade, order: yeer,")
    with pytest.raises(ConfigError, match="tax_grades has no field 'yeer'"):
        load_catalogue("sme", folder)


def test_duplicate_indicator_id_is_refused(tmp_path: Path) -> None:
    folder = _mutated(tmp_path, "id: tax_grade_d_latest", "id: tax_grade_latest")
    with pytest.raises(ConfigError, match="declared twice"):
        load_catalogue("sme", folder)


def test_reason_template_may_only_use_value(tmp_path: Path) -> None:
    folder = _mutated(tmp_path, "近12个月新增欠薪{value:.0f}次", "近12个月新增欠薪{count}次")
    with pytest.raises(ConfigError, match=r"may only use \{value\}"):
        load_catalogue("sme", folder)


def test_records_about_the_other_kind_of_subject_are_refused(tmp_path: Path) -> None:
    folder = _mutated(tmp_path, "source: tax_grades, field: grade, order: year,\n",
                      "source: households, field: members, order: surveyed_on,\n")
    with pytest.raises(ConfigError, match="households records are not about enterprises"):
        load_catalogue("sme", folder)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sme\.yaml:2: not valid YAML"):
        load_catalogue("sme", _write(tmp_path, "catalogue: sme\n  version: [\n"))


def test_catalogue_hash_follows_what_the_model_depends_on(tmp_path: Path) -> None:
    """A model is refused on another computation or direction, not on a reworded reason or name."""
    original = load_catalogue("sme")
    assert len(original.hash) == 64
    for name in "abc":
        (tmp_path / name).mkdir()
    reworded = load_catalogue("sme", _mutated(tmp_path / "a", "近12个月新增欠薪", "近一年新增欠薪"))
    assert reworded.hash == original.hash
    window = load_catalogue("sme", _mutated(tmp_path / "b", "window_days: 365", "window_days: 366"))
    assert window.hash != original.hash
    direction = load_catalogue("sme", _mutated(tmp_path / "c", "direction: decreasing", "direction: none"))
    assert direction.hash != original.hash


@pytest.mark.parametrize("segment", ["sme", "household"])
@pytest.mark.parametrize("value", [0.0, 3.0, 0.25, 12_345.6, -0.4])
def test_every_reason_renders_in_both_languages(segment: str, value: float) -> None:
    for indicator in load_catalogue(segment).indicators:
        zh = indicator.reason.render("zh", value)
        en = indicator.reason.render("en", value)
        assert "{" not in zh
        assert "{" not in en
        assert zh.strip()
        assert en.strip()


def test_families_and_directions_are_declared() -> None:
    for segment in ("sme", "household"):
        for indicator in load_catalogue(segment).indicators:
            assert indicator.name_zh
            assert indicator.name_en
            assert indicator.unit
