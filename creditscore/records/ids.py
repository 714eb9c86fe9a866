"""Identifiers: unified social credit codes (GB 32100-2015) and resident ID numbers (GB 11643-1999).

Codes arrive from departmental exports and spreadsheets with full-width digits,
stray spaces and lower-case ``x``; they are normalised once, here, at the edge,
and every later module may assume the canonical upper-case form.

Check characters
----------------
USCC position 18 is a mod-31 check over positions 1-17 (weights ``3**(i-1) mod 31``).
Because 31 is prime and every weight is non-zero, it detects every single-character
substitution and every adjacent transposition of a valid code.

USCC position 17 is the check character of the embedded GB 11714 organisation code
(positions 9-16, weights 3 7 9 10 5 8 4 2, mod 11). On its own it *cannot* detect a
substitution whose two characters' values differ by a multiple of 11 (``0``↔``B``,
``1``↔``C``, ``B``↔``M`` …), nor an adjacent transposition of two such characters,
since the change in the weighted sum is then ``0 mod 11``. Inside a USCC the
final mod-31 check catches those.

Resident ID position 18 is ISO 7064 MOD 11-2 over positions 1-17; it detects every
single-digit substitution and adjacent transposition.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass

from creditscore.errors import ChecksumMismatch, InvalidCode

__all__ = [
    "ID_CHECK",
    "ID_WEIGHTS",
    "USCC_ALPHABET",
    "ResidentIdParts",
    "UsccParts",
    "generate_resident_id",
    "generate_uscc",
    "mask_ids_in_text",
    "mask_resident_id",
    "normalise_code",
    "org_code_check_char",
    "parse_resident_id",
    "parse_uscc",
    "resident_id_check_char",
    "upgrade_legacy_id",
    "uscc_check_char",
    "validate_resident_id",
    "validate_uscc",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # GB 11643: weights of positions 1–17
ID_CHECK = "10X98765432"  # check character by weighted sum mod 11

#: Registration authority → (name, {organisation type → name}). GB 32100-2015 table 1.
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
                   "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}

_FULLWIDTH_SPACES = {"\u3000", "\u00a0", "\u2002", "\u2003", "\u2009"}


def normalise_code(value: object) -> str:
    """Canonical text of a code as typed by a person or exported by a system.

    Full-width characters become half-width (NFKC), all whitespace goes, letters
    are upper-cased. Numbers that a spreadsheet turned into ints are turned back
    into their digits (a float is refused: its digits may already be lost).
    """
    if isinstance(value, bool) or value is None:
        raise InvalidCode(f"expected a code, got {value!r}")
    if isinstance(value, float):
        raise InvalidCode(
            f"code {value!r} was stored as a floating-point number, so its last digits may be lost; "
            "re-export the column as text"
        )
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(ch for ch in text if not ch.isspace() and ch not in _FULLWIDTH_SPACES)
    return text.upper()


# --- unified social credit code -------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """Check character (position 18) of a USCC from its first 17 characters."""
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    c = 31 - total % 31
    return "0" if c == 31 else USCC_ALPHABET[c]


def org_code_check_char(body8: str) -> str:
    """Check character of a GB 11714 organisation code from its first 8 characters."""
    total = 0
    for ch, w in zip(body8, _ORG_WEIGHTS, strict=True):
        if ch.isdigit():
            v = int(ch)
        elif "A" <= ch <= "Z":
            v = ord(ch) - ord("A") + 10
        else:
            raise InvalidCode(f"organisation code {body8!r}: character {ch!r} is not a digit or letter")
        total += v * w
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


@dataclass(frozen=True, slots=True)
class UsccParts:
    """The parts of a unified social credit code."""

    code: str
    authority: str
    authority_name: str
    org_type: str
    org_type_name: str
    division_code: str
    org_code: str

    @property
    def is_market_entity(self) -> bool:
        """Registered by market regulation (authority 9): enterprises, individual businesses, cooperatives."""
        return self.authority == "9"


def validate_uscc(code: object, *, check_digits: bool = True) -> str:
    """Return the normalised USCC, or raise :class:`InvalidCode` saying what is wrong.

    Parameters
    ----------
    code
        The code as received; full-width characters and spaces are tolerated.
    check_digits
        When false, a wrong check character is not an error. Use it only where
        the source is known to hold genuinely issued codes that fail the check.
    """
    text = normalise_code(code)
    if len(text) != 18:
        raise InvalidCode(f"USCC {text!r}: must have 18 characters, got {len(text)}")
    for pos, ch in enumerate(text, start=1):
        if ch not in _USCC_VALUE:
            hint = " (the letters I, O, S, V and Z are never used)" if ch in "IOSVZ" else ""
            raise InvalidCode(f"USCC {text}: character {ch!r} at position {pos} is not allowed{hint}")
    authority = AUTHORITIES.get(text[0])
    if authority is None:
        raise InvalidCode(
            f"USCC {text}: {text[0]!r} at position 1 is not a registration authority "
            f"(expected one of {''.join(AUTHORITIES)})"
        )
    if text[1] not in authority[1]:
        raise InvalidCode(
            f"USCC {text}: {text[1]!r} at position 2 is not an organisation type of authority "
            f"{text[0]} ({authority[0]}); expected one of {''.join(authority[1])}"
        )
    if not text[2:8].isdigit():
        raise InvalidCode(f"USCC {text}: positions 3-8 must be a 6-digit division code, got {text[2:8]!r}")
    if check_digits:
        expected_org = org_code_check_char(text[8:16])
        if text[16] != expected_org:
            raise ChecksumMismatch(
                f"USCC {text}: organisation-code check character (position 17) should be "
                f"{expected_org!r}, got {text[16]!r}",
                expected=expected_org, got=text[16], position=17,
            )
        expected = uscc_check_char(text[:17])
        if text[17] != expected:
            raise ChecksumMismatch(
                f"USCC {text}: check character (position 18) should be {expected!r}, got {text[17]!r}",
                expected=expected, got=text[17], position=18,
            )
    return text


def parse_uscc(code: object, *, check_digits: bool = True) -> UsccParts:
    """Validate a USCC and split it into authority, organisation type, division and organisation code."""
    text = validate_uscc(code, check_digits=check_digits)
    name, types = AUTHORITIES[text[0]]
    return UsccParts(
        code=text,
        authority=text[0],
        authority_name=name,
        org_type=text[1],
        org_type_name=types[text[1]],
        division_code=text[2:8],
        org_code=text[8:17],
    )


def generate_uscc(
    rng: random.Random,
    *,
    division_code: str,
    authority: str = "9",
    org_type: str = "1",
) -> str:
    """A random, valid USCC; both check characters are computed, never guessed."""
    if authority not in AUTHORITIES or org_type not in AUTHORITIES[authority][1]:
        raise InvalidCode(f"no organisation type {org_type!r} under authority {authority!r}")
    if len(division_code) != 6 or not division_code.isdigit():
        raise InvalidCode(f"division code must be 6 digits, got {division_code!r}")
    # Organisation-code bodies in the wild are digits and the USCC's letters.
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    first17 = authority + org_type + division_code + body + org_code_check_char(body)
    if first17[16] not in _USCC_VALUE:  # pragma: no cover - check chars are digits or X
        raise AssertionError(first17)
    return first17 + uscc_check_char(first17)


# --- resident identity number --------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Check character (position 18) of an 18-digit resident ID (ISO 7064 MOD 11-2)."""
    return ID_CHECK[sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True, slots=True)
class ResidentIdParts:
    """The parts of a resident ID number."""

    number: str
    division_code: str
    birth_date: dt.date
    sex: str  # "M" or "F": odd sequence numbers are men
    legacy: bool


def _birth_date(text: str, digits: str, today: dt.date | None) -> dt.date:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: birth date {digits} is not a real date") from None
    limit = today or dt.date.today()
    if born > limit:
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: birth date {born} is in the future")
    if born.year < 1880:
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: birth year {born.year} is implausible")
    return born


def validate_resident_id(number: object, *, today: dt.date | None = None, allow_legacy: bool = True) -> str:
    """Return the normalised resident ID, or raise :class:`InvalidCode` saying what is wrong.

    18-digit numbers are checked in full (check character, real birth date not in
    the future); legacy 15-digit numbers, still found in rural records, have no
    check character and a two-digit year in the 1900s. Messages never contain the
    full number.
    """
    if isinstance(number, int) and not isinstance(number, bool):
        text = str(number)
        if len(text) in (14, 17):
            raise InvalidCode(
                f"resident ID {mask_resident_id(text)} has {len(text)} digits and was stored as a number: "
                "a leading zero may have been lost; re-export the column as text"
            )
    text = normalise_code(number)
    if len(text) == 15 and allow_legacy:
        if not text.isdigit():
            raise InvalidCode(f"resident ID {mask_resident_id(text)}: a 15-digit number must be all digits")
        _birth_date(text, "19" + text[6:12], today)
        return text
    if len(text) != 18:
        lengths = "18 (or 15 for old numbers)" if allow_legacy else "18"
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: must have {lengths} characters, got {len(text)}")
    if not text[:17].isdigit():
        bad = next(i for i, ch in enumerate(text[:17], start=1) if not ch.isdigit())
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: position {bad} must be a digit")
    if not (text[17].isdigit() or text[17] == "X"):
        raise InvalidCode(f"resident ID {mask_resident_id(text)}: position 18 must be a digit or X")
    _birth_date(text, text[6:14], today)
    expected = resident_id_check_char(text[:17])
    if text[17] != expected:
        raise ChecksumMismatch(
            f"resident ID {mask_resident_id(text)}: check character (position 18) should be "
            f"{expected!r}, got {text[17]!r}",
            expected=expected, got=text[17], position=18,
        )
    return text


def parse_resident_id(number: object, *, today: dt.date | None = None) -> ResidentIdParts:
    """Validate a resident ID and return its division code, birth date and sex."""
    text = validate_resident_id(number, today=today)
    legacy = len(text) == 15
    birth = text[6:12] if legacy else text[6:14]
    born = dt.date(int(("19" + birth)[:4] if legacy else birth[:4]), int(birth[-4:-2]), int(birth[-2:]))
    seq = text[12:15] if legacy else text[14:17]
    return ResidentIdParts(
        number=text, division_code=text[:6], birth_date=born, sex="M" if int(seq) % 2 else "F", legacy=legacy
    )


def upgrade_legacy_id(number: object) -> str:
    """The 18-digit form of a legacy 15-digit number: year widened to 19YY, check character appended."""
    text = validate_resident_id(number)
    if len(text) == 18:
        return text
    first17 = text[:6] + "19" + text[6:]
    return first17 + resident_id_check_char(first17)


def mask_resident_id(number: str) -> str:
    """Hide the birth date and sequence for display: ``110105********002X``.

    Works on malformed input too (error messages use it), and never reveals more
    than the first 6 and last 4 characters of anything longer than 10.
    """
    text = str(number)
    if len(text) == 15:
        return text[:6] + "*" * 6 + text[-3:]
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


# A resident ID inside free text, as people type it: ASCII or full-width digits, a final X in either case and
# width, in groups of three or more broken by single spaces or hyphens ("110105 19491231 002X", "1101-0519-…"),
# touching letters or not ("ID110105…"), alone or inside a longer run of digits. Every such run of 15 or more
# characters is masked: an ID cannot hide in a longer number (and a bank card's number is worth hiding too);
# dates ("2024-06-30 2024-07-01") are groups of two and stay as they are.
_ID_IN_TEXT = re.compile(r"(?<!\d)\d{3,}(?:[ \-\u3000]\d{3,})*(?:[ \-\u3000]?[XxＸｘ])?(?!\d)")


def mask_ids_in_text(text: str) -> str:
    """Every run that could hold a resident ID masked, its first 6 and last 4 characters kept (3 of a 15-digit
    legacy ID) — for logs, free text, errors and exports. An all-digit USCC is masked too: a firm's code hidden in
    a log costs nothing; a person's leaked does."""
    return _ID_IN_TEXT.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = [i for i, ch in enumerate(run) if ch not in " -\u3000"]
    if len(digits) < 15:
        return run
    keep = set(digits[:6]) | set(digits[-3 if len(digits) == 15 else -4:])
    return "".join(ch if i in keep or i not in digits else "*" for i, ch in enumerate(run))


def generate_resident_id(
    rng: random.Random, *, division_code: str, birth_date: dt.date, sex: str, legacy: bool = False
) -> str:
    """A valid resident ID for the given division, birth date and sex ("M" or "F")."""
    seq = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
    if legacy:
        if not 1900 <= birth_date.year <= 1999:
            raise InvalidCode("legacy 15-digit numbers only exist for people born in the 1900s")
        return f"{division_code}{birth_date:%y%m%d}{seq:03d}"
    first17 = f"{division_code}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)
