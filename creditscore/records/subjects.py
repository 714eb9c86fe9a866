"""Who a record or a query is about: the segment type, and the one function that tells a firm from a person.

A firm is identified by its unified social credit code (USCC) and graded on the SME scale; a household by the
resident ID of its head and graded on the household scale. The product used to spell this fact in several
places ("sme" / "enterprise" / "enterprises", four functions deciding firm-or-person); every door now asks
:class:`Segment` and :func:`identify`.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from creditscore.errors import InvalidCode
from creditscore.records.contracts import SubjectType
from creditscore.records.ids import mask_ids_in_text, mask_resident_id, validate_resident_id, validate_uscc

__all__ = ["Segment", "Subject", "display_id", "identify"]


class Segment(enum.StrEnum):
    """A population graded by its own catalogue, model and master scale."""

    SME = "sme"
    HOUSEHOLD = "household"

    @classmethod
    def of(cls, value: object) -> Segment:
        """The segment for any of its spellings: ``sme``, ``enterprise(s)``, ``household(s)``, a :class:`SubjectType`.

        Raises :class:`~creditscore.errors.InvalidCode` naming what is accepted.
        """
        if isinstance(value, Segment):
            return value
        found = _SPELLINGS.get(str(getattr(value, "value", value)).strip().lower())
        if found is None:
            raise InvalidCode(f"unknown segment {value!r}: use sme (firms) or household (rural households)")
        return found

    @property
    def subject_type(self) -> SubjectType:
        """The subject type the record contracts and the audit log use."""
        return SubjectType.ENTERPRISE if self is Segment.SME else SubjectType.HOUSEHOLD

    @property
    def subject_kind(self) -> str:
        """The record kind that holds the subjects themselves."""
        return "enterprises" if self is Segment.SME else "households"

    @property
    def noun(self) -> str:
        """How a sentence names one subject of the segment."""
        return "enterprise" if self is Segment.SME else "household"

    @property
    def identifier(self) -> str:
        """What identifies a subject of the segment, in words."""
        return "a unified social credit code" if self is Segment.SME else "a resident ID"

    def validate(self, code: object) -> str:
        """The normalised identifier of a subject of this segment (raises InvalidCode saying what is wrong)."""
        return validate_uscc(code) if self is Segment.SME else validate_resident_id(code)

    def display(self, subject_id: str) -> str:
        """The identifier as it may be shown: a person's resident ID masked, a firm's code as it is."""
        return mask_resident_id(subject_id) if self is Segment.HOUSEHOLD else subject_id


_SPELLINGS: dict[str, Segment] = {
    "sme": Segment.SME, "enterprise": Segment.SME, "enterprises": Segment.SME, "firm": Segment.SME,
    "household": Segment.HOUSEHOLD, "households": Segment.HOUSEHOLD,
}


class Subject(NamedTuple):
    """A normalised identifier and the segment it belongs to."""

    id: str
    segment: Segment


def identify(code: object, expected: Segment | str | None = None) -> Subject:
    """Normalise ``code`` and tell whether it is a firm (USCC) or a person (resident ID).

    With ``expected``, the code must be of that segment; a valid code of the other kind is refused as such
    ("this is a resident ID, not …"), an invalid one with the reason of the expected kind. Without it, the
    error is the one of the kind the code most resembles (17 leading digits: a resident ID). Error messages
    never hold a full resident ID.
    """
    if expected is not None:
        wanted = Segment.of(expected)
        other = Segment.HOUSEHOLD if wanted is Segment.SME else Segment.SME
        try:
            return Subject(wanted.validate(code), wanted)
        except InvalidCode as error:
            try:
                other.validate(code)
            except InvalidCode:
                raise error from None
            raise InvalidCode(f"this is {other.identifier}, not the identifier this route expects "
                              f"({wanted.identifier})") from None
    try:
        return Subject(validate_resident_id(code), Segment.HOUSEHOLD)
    except InvalidCode as person_error:
        try:
            return Subject(validate_uscc(code), Segment.SME)
        except InvalidCode as firm_error:
            looks_personal = str(code).strip()[:17].isdigit()
            raise (person_error if looks_personal else firm_error) from None


def display_id(code: object) -> str:
    """Any identifier as it may be shown in a message: a valid USCC as it is, anything else with every run that
    could be a resident ID masked (an ID sent where a firm's code belongs, an ID inside junk)."""
    text = str(code).strip()
    try:
        return validate_uscc(text)
    except InvalidCode:
        return mask_ids_in_text(text)
