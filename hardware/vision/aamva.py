"""The AAMVA DL/ID card design standard data in the PDF417 barcode on the back of US and
Canadian driver's licences and ID cards, read into what check-in needs.

A payload is a header, a subfile directory, then the subfiles, each a list of elements:

    @ LF RS CR ANSI  636000  08  00  02  DL 0041 0278  ZV 0319 0008  DLDAQT64235789 LF ... CR ZV...
    compliance       IIN     ver jur n   type offset length           subfile: type, elements

Version 1 (CDS 2000) has no jurisdiction version; pre-standard files (version 0) may say
"AAMVA" instead of "ANSI ". The directory is trusted where it agrees with the text; scanners
that rewrite the control characters and issuers that write wrong offsets are common, so
otherwise the subfiles are found by scanning the lines.

Errors:

    AamvaError (ValueError)
     ├── NotAamva          no AAMVA header or no DL/ID subfile: not a licence barcode
     └── MissingElement    a licence without a family name or a date of birth

Values that are present but unreadable (an impossible date, an unknown sex code) are not
errors: the field is None and `LicenceData.problems` says which element, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal

__all__ = [
    "CANADIAN_IINS",
    "COMPLIANCE_INDICATOR",
    "DATA_ELEMENT_SEPARATOR",
    "RECORD_SEPARATOR",
    "SEGMENT_TERMINATOR",
    "US_IINS",
    "AamvaError",
    "Element",
    "LicenceData",
    "MissingElement",
    "NotAamva",
    "Sex",
    "country_of_issuer",
    "parse",
]

COMPLIANCE_INDICATOR = "@"
DATA_ELEMENT_SEPARATOR = "\n"
RECORD_SEPARATOR = "\x1e"
SEGMENT_TERMINATOR = "\r"

Sex = Literal["M", "F", "X"]


class AamvaError(ValueError):
    """Base of the errors a barcode payload can raise."""


class NotAamva(AamvaError):
    """The text is not an AAMVA DL/ID payload (a QR code, a misread, an empty scan)."""


class MissingElement(AamvaError):
    """An AAMVA payload without an element check-in cannot do without."""

    def __init__(self, element_id: str, description: str) -> None:
        super().__init__(f"the licence has no {description} ({element_id})")
        self.element_id = element_id


class Element(StrEnum):
    """Data element identifiers, named as in the standard's element tables."""

    CUSTOMER_FAMILY_NAME = "DCS"
    CUSTOMER_FIRST_NAME = "DAC"
    CUSTOMER_MIDDLE_NAMES = "DAD"
    CUSTOMER_GIVEN_NAMES = "DCT"  # versions 2-3: first and middle names in one element
    DRIVER_LICENSE_NAME = "DAA"  # version 1: the full name
    DRIVER_LAST_NAME = "DAB"  # version 1
    NAME_SUFFIX = "DCU"
    DRIVER_NAME_SUFFIX = "DAE"  # version 1
    FAMILY_NAME_TRUNCATION = "DDE"
    FIRST_NAME_TRUNCATION = "DDF"
    MIDDLE_NAME_TRUNCATION = "DDG"
    DATE_OF_BIRTH = "DBB"
    DOCUMENT_EXPIRATION_DATE = "DBA"
    DOCUMENT_ISSUE_DATE = "DBD"
    SEX = "DBC"
    CUSTOMER_ID_NUMBER = "DAQ"
    ADDRESS_STREET_1 = "DAG"
    ADDRESS_STREET_2 = "DAH"
    ADDRESS_CITY = "DAI"
    ADDRESS_JURISDICTION_CODE = "DAJ"
    ADDRESS_POSTAL_CODE = "DAK"
    RESIDENCE_STREET_1 = "DAL"  # version 1, when it differs from the mailing address
    RESIDENCE_STREET_2 = "DAM"
    RESIDENCE_CITY = "DAN"
    RESIDENCE_JURISDICTION_CODE = "DAO"
    RESIDENCE_POSTAL_CODE = "DAP"
    COUNTRY_IDENTIFICATION = "DCG"
    JURISDICTION_VEHICLE_CLASS = "DCA"
    JURISDICTION_RESTRICTION_CODES = "DCB"
    JURISDICTION_ENDORSEMENT_CODES = "DCD"
    DRIVER_LICENSE_CLASSIFICATION = "DAR"  # version 1
    DRIVER_LICENSE_RESTRICTIONS = "DAS"  # version 1
    DRIVER_LICENSE_ENDORSEMENTS = "DAT"  # version 1
    FEDERAL_COMMERCIAL_VEHICLE_CODES = "DCH"  # versions 2-3
    HEIGHT = "DAU"
    EYE_COLOR = "DAY"
    DOCUMENT_DISCRIMINATOR = "DCF"


# AAMVA's Issuer Identification Numbers (IIN), IIN -> jurisdiction code.
CANADIAN_IINS: Mapping[str, str] = {
    "604426": "PE",
    "604428": "QC",
    "604429": "YT",
    "604432": "AB",
    "604433": "NU",
    "604434": "NT",
    "636012": "ON",
    "636013": "NS",
    "636016": "NL",
    "636017": "NB",
    "636028": "BC",
    "636044": "SK",
    "636048": "MB",
}
US_IINS: Mapping[str, str] = {
    "604427": "AS",
    "604430": "MP",
    "604431": "PR",
    "636000": "VA",
    "636001": "NY",
    "636002": "MA",
    "636003": "MD",
    "636004": "NC",
    "636005": "SC",
    "636006": "CT",
    "636007": "LA",
    "636008": "MT",
    "636009": "NM",
    "636010": "FL",
    "636011": "DE",
    "636014": "CA",
    "636015": "TX",
    "636018": "IA",
    "636019": "GU",
    "636020": "CO",
    "636021": "AR",
    "636022": "KS",
    "636023": "OH",
    "636024": "VT",
    "636025": "PA",
    "636026": "AZ",
    "636027": "US",  # the State Department
    "636029": "OR",
    "636030": "MO",
    "636031": "WI",
    "636032": "MI",
    "636033": "AL",
    "636034": "ND",
    "636035": "IL",
    "636036": "NJ",
    "636037": "IN",
    "636038": "MN",
    "636039": "NH",
    "636040": "UT",
    "636041": "ME",
    "636042": "SD",
    "636043": "DC",
    "636045": "WA",
    "636046": "KY",
    "636047": "HI",
    "636049": "NV",
    "636050": "ID",
    "636051": "MS",
    "636052": "RI",
    "636053": "TN",
    "636054": "NE",
    "636055": "GA",
    "636058": "OK",
    "636059": "AK",
    "636060": "WY",
    "636061": "WV",
    "636062": "VI",
}
_CANADIAN_PROVINCES = frozenset(CANADIAN_IINS.values()) | {"PQ", "NF", "YK"}  # and old codes


def country_of_issuer(iin: str) -> str | None:
    """'USA' or 'CAN' for a known IIN: it decides the date order when DCG is absent."""
    if iin in CANADIAN_IINS:
        return "CAN"
    if iin in US_IINS:
        return "USA"
    return None


@dataclass(frozen=True, kw_only=True)
class LicenceData:
    """What a licence barcode says about its holder; `raw_elements` keeps every element read
    (element id -> value, Z... jurisdiction elements included) for anything not mapped."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str
    suffix: str | None = None
    date_of_birth: date | None = None
    expiration_date: date | None = None
    issue_date: date | None = None
    sex: Sex | None = None
    license_number: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    issuer_iin: str = ""
    aamva_version: int = 0
    jurisdiction_version: int | None = None
    document_type: str = "DL"
    raw_elements: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, str | int | None]:
        """The shape the kiosk sends on: ISO dates, nothing the check-in does not use."""
        return {
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            "last_name": self.last_name,
            "date_of_birth": _iso(self.date_of_birth),
            "expiration_date": _iso(self.expiration_date),
            "sex": self.sex,
            "license_number": self.license_number,
            "address_line1": self.address_line1,
            "city": self.city,
            "state": self.state,
            "postal_code": self.postal_code,
            "issuer_iin": self.issuer_iin,
            "aamva_version": self.aamva_version,
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


# --- header and subfiles ----------------------------------------------------------------------

_HEADER = re.compile(r"(ANSI ?|AAMVA)(\d{6})(\d{2})")
_DIRECTORY_ENTRY = re.compile(r"([A-Z]{2})([0-9A-Za-z]{4})([0-9A-Za-z]{4})")
_SEPARATORS = re.compile(r"[\r\n\x1c\x1d\x1e]+")
_SEPARATOR_CHARACTERS = "\r\n\x1c\x1d\x1e"
_ELEMENT = re.compile(r"([A-Z]{3})(.*)", re.DOTALL)
_DOCUMENT_TYPES = ("DL", "ID")
_MAIN_SUBFILE_START = re.compile(r"(DL|ID)[\r\n\x1c\x1d\x1e]*(?=[DZ][A-Z]{2})")
_PREFIX_LENGTH = len(
    COMPLIANCE_INDICATOR + DATA_ELEMENT_SEPARATOR + RECORD_SEPARATOR + SEGMENT_TERMINATOR
)


@dataclass(frozen=True)
class _DirectoryEntry:
    subfile_type: str
    offset: int | None  # None where an issuer wrote letters instead of digits
    length: int | None


@dataclass(frozen=True)
class _Header:
    iin: str
    version: int
    jurisdiction_version: int | None
    directory: tuple[_DirectoryEntry, ...]
    file_start: int  # where the '@' is, or would be had the scanner kept it
    directory_start: int
    end: int  # the first character after the directory


@dataclass(frozen=True)
class _Subfile:
    subfile_type: str
    elements: tuple[tuple[str, str], ...]


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _read_directory(text: str, start: int, count: int) -> tuple[_DirectoryEntry, ...]:
    entries = []
    position = start
    for _ in range(count):
        match = _DIRECTORY_ENTRY.match(text, position)
        if match is None:
            break
        subfile_type, offset, length = match.groups()
        entries.append(_DirectoryEntry(subfile_type, _number(offset), _number(length)))
        position = match.end()
    return tuple(entries)


def _read_header(text: str) -> _Header:
    """The header, laid out with or without the jurisdiction version, whichever lets the
    directory read in full: version 1 has none, and some issuers get this wrong."""
    match = _HEADER.search(text)
    if match is None:
        raise NotAamva("no AAMVA header ('ANSI ' or 'AAMVA' and an IIN)")
    iin, version = match.group(2), int(match.group(3))
    layouts = (False, True) if version <= 1 else (True, False)
    best: _Header | None = None
    for with_jurisdiction_version in layouts:
        position = match.end()
        jurisdiction_version = None
        if with_jurisdiction_version:
            jurisdiction_version = _number(text[position : position + 2])
            if jurisdiction_version is None:
                continue
            position += 2
        count = _number(text[position : position + 2])
        if count is None:
            continue
        directory = _read_directory(text, position + 2, count)
        header = _Header(
            iin=iin,
            version=version,
            jurisdiction_version=jurisdiction_version,
            directory=directory,
            file_start=match.start() - _PREFIX_LENGTH,
            directory_start=position + 2,
            end=position + 2 + 10 * len(directory),
        )
        if count > 0 and len(directory) == count:
            return header
        best = best or header
    if best is None:
        file_start = match.start() - _PREFIX_LENGTH
        return _Header(iin, version, None, (), file_start, match.end(), match.end())
    return best


def _read_elements(lines: list[str]) -> tuple[tuple[str, str], ...]:
    elements = []
    for line in lines:
        match = _ELEMENT.match(line.strip())
        if match is not None:
            elements.append((match.group(1), match.group(2).strip()))
    return tuple(elements)


def _read_by_directory(text: str, header: _Header) -> list[_Subfile] | None:
    """The subfiles where the directory points at each and accounts for the whole text, or
    None where it does not."""
    subfiles = []
    previous_end = header.end
    for entry in sorted(header.directory, key=lambda e: e.offset or 0):
        if entry.offset is None or entry.length is None:
            return None
        start = header.file_start + entry.offset
        end = start + entry.length
        if (
            start < previous_end
            or end > len(text)
            or text[start : start + 2] != entry.subfile_type
            or text[end - 1] not in _SEPARATOR_CHARACTERS
        ):
            return None
        lines = _SEPARATORS.split(text[start + 2 : end])
        subfiles.append(_Subfile(entry.subfile_type, _read_elements(lines)))
        previous_end = end
    if text[previous_end:].strip(_SEPARATOR_CHARACTERS + " \t"):
        return None
    return subfiles


def _subfile_starting(line: str, known_types: frozenset[str]) -> str | None:
    """The jurisdiction subfile a scanned line opens ('ZVZVA01', a bare 'ZV'), if any."""
    designator, first_id = line[:2], line[2:5]
    if not re.fullmatch(r"Z[A-Z]", designator) and designator not in known_types:
        return None
    if len(line) == 2 or re.fullmatch(designator + r"[A-Z]", first_id):
        return designator
    return None


def _read_by_scanning(text: str, header: _Header) -> list[_Subfile]:
    """The subfiles found line by line from the first 'DL' or 'ID' that opens one: from the
    start of the directory, which may itself be what is broken."""
    start = _MAIN_SUBFILE_START.search(text, header.directory_start)
    if start is None:
        return []
    known_types = frozenset(e.subfile_type for e in header.directory) - set(_DOCUMENT_TYPES)
    subfile_type, lines = start.group(1), list[str]()
    subfiles = []
    for line in _SEPARATORS.split(text[start.end() :]):
        opened = _subfile_starting(line.strip(), known_types)
        if opened is not None:
            subfiles.append(_Subfile(subfile_type, _read_elements(lines)))
            subfile_type, lines = opened, [line.strip()[2:]]
        else:
            lines.append(line)
    subfiles.append(_Subfile(subfile_type, _read_elements(lines)))
    return subfiles


def _main_subfile(subfiles: list[_Subfile]) -> _Subfile | None:
    for subfile in subfiles:
        if subfile.subfile_type in _DOCUMENT_TYPES and subfile.elements:
            return subfile
    return None


def _read_subfiles(text: str, header: _Header) -> tuple[_Subfile, list[_Subfile]]:
    """The DL or ID subfile and all the subfiles, by the directory where it holds."""
    subfiles = _read_by_directory(text, header) or []
    main = _main_subfile(subfiles)
    if main is None:
        subfiles = _read_by_scanning(text, header)
        main = _main_subfile(subfiles)
    if main is None:
        raise NotAamva("an AAMVA header without a DL or ID subfile")
    return main, subfiles


# --- values -----------------------------------------------------------------------------------

_PLACEHOLDERS = frozenset({"", "NONE", "NMN", "NMI", "UNAVL", "UNAVAIL", "N/A"})
_NAME_WORD_START = re.compile(r"(^|[\s\-'.])([a-z])")
_SUFFIX_WORDS = frozenset({"JR", "JR.", "SR", "SR.", "II", "III", "IV", "V", "VI", "2ND", "3RD"})


def _text(elements: Mapping[str, str], *element_ids: str) -> str | None:
    """The first of the elements that holds something, spaces collapsed."""
    for element_id in element_ids:
        value = " ".join(elements.get(element_id, "").split())
        if value:
            return value
    return None


def _name_case(name: str | None) -> str | None:
    """'SMITH-JONES' -> 'Smith-Jones', "O'BRIEN" -> "O'Brien"; names an issuer already wrote
    in mixed case are left as written, and 'NONE' placeholders read as no name."""
    if name is None:
        return None
    name = " ".join(name.split())
    if name.upper() in _PLACEHOLDERS:
        return None
    if name != name.upper():
        return name
    return _NAME_WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), name.lower())


def _suffix_case(suffix: str | None) -> str | None:
    """Roman numerals stay upper case ('III'); 'JR' reads 'Jr', '3RD' reads '3rd'."""
    if suffix is None or suffix.upper() in _PLACEHOLDERS:
        return None
    if re.fullmatch(r"[IVX]+", suffix.upper()):
        return suffix.upper()
    if re.fullmatch(r"\d+(ST|ND|RD|TH)", suffix.upper()):
        return suffix.lower()
    return _name_case(suffix)


def _split_given_names(given: str) -> tuple[str | None, str | None]:
    """DCT (versions 2-3): 'FIRST,MIDDLE' or 'FIRST MIDDLE MIDDLE'."""
    if "," in given:
        first, _, middle = given.partition(",")
        middle = " ".join(middle.replace(",", " ").split())
        return first.strip() or None, middle or None
    words = given.split()
    return (words[0], " ".join(words[1:]) or None) if words else (None, None)


def _split_full_name(
    full: str,
) -> tuple[str | None, str | None, str | None, str | None]:
    """DAA (version 1): 'LAST,FIRST,MIDDLE[,SUFFIX]', or the same with spaces (some issuers
    use '$' or '@' for the comma)."""
    parts = [p.strip() for p in re.split(r"[,$@]", full)] if re.search(r"[,$@]", full) else []
    if not parts:
        parts = full.split()
    parts = [p for p in parts if p]
    if not parts:
        return None, None, None, None
    suffix = parts.pop() if len(parts) >= 3 and parts[-1].upper() in _SUFFIX_WORDS else None
    last = parts[0]
    first = parts[1] if len(parts) > 1 else None
    middle = " ".join(parts[2:]) or None
    return last, first, middle, suffix


@dataclass(frozen=True)
class _Name:
    first: str | None
    middle: str | None
    last: str | None
    suffix: str | None


def _read_name(elements: Mapping[str, str], version: int) -> _Name:
    """The name from the elements of the payload's version first, then any other version's:
    issuers mixing element sets are common enough."""
    last = _text(elements, Element.CUSTOMER_FAMILY_NAME, Element.DRIVER_LAST_NAME)
    first = _text(elements, Element.CUSTOMER_FIRST_NAME)
    middle = _text(elements, Element.CUSTOMER_MIDDLE_NAMES)
    suffix = _text(elements, Element.NAME_SUFFIX, Element.DRIVER_NAME_SUFFIX)
    given = _text(elements, Element.CUSTOMER_GIVEN_NAMES)
    if given is not None and (version in (2, 3) or first is None):
        first, middle = _split_given_names(given)
    full = _text(elements, Element.DRIVER_LICENSE_NAME)
    if full is not None and (last is None or first is None):
        full_last, full_first, full_middle, full_suffix = _split_full_name(full)
        if last is None:
            last = full_last
        if first is None:
            first, middle = full_first, middle or full_middle
        suffix = suffix or full_suffix
    return _Name(_name_case(first), _name_case(middle), _name_case(last), _suffix_case(suffix))


def _date_in_order(digits: str, year_first: bool) -> date | None:
    if year_first:
        year, month, day = digits[:4], digits[4:6], digits[6:]
    else:
        month, day, year = digits[:2], digits[2:4], digits[4:]
    try:
        read = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return read if 1900 <= read.year <= 2199 else None


def _read_date(value: str, *, year_first: bool) -> date | None:
    """CCYYMMDD (Canada, version 1) or MMDDCCYY (US, version 2 on): the expected order
    first, then the other, which the field shows issuers sometimes use."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return None
    return _date_in_order(digits, year_first) or _date_in_order(digits, not year_first)


_SEX_CODES: Mapping[str, Sex] = {"1": "M", "2": "F", "9": "X", "M": "M", "F": "F", "X": "X"}


def _read_postal_code(value: str) -> str | None:
    """'123450000' -> '12345' (no +4 on file), '123456789' -> '12345-6789', 'K1A0B1' ->
    'K1A 0B1'; None when it is neither a ZIP code nor a Canadian postal code."""
    compact = re.sub(r"[\s-]", "", value).upper()
    if re.fullmatch(r"\d{9}", compact):
        return compact[:5] if compact.endswith("0000") else f"{compact[:5]}-{compact[5:]}"
    if re.fullmatch(r"\d{5}", compact):
        return compact
    if re.fullmatch(r"[A-Z]\d[A-Z]\d[A-Z]\d", compact):
        return f"{compact[:3]} {compact[3:]}"
    return None


_MAILING_ADDRESS = (
    Element.ADDRESS_STREET_1,
    Element.ADDRESS_STREET_2,
    Element.ADDRESS_CITY,
    Element.ADDRESS_JURISDICTION_CODE,
    Element.ADDRESS_POSTAL_CODE,
)
_RESIDENCE_ADDRESS = (
    Element.RESIDENCE_STREET_1,
    Element.RESIDENCE_STREET_2,
    Element.RESIDENCE_CITY,
    Element.RESIDENCE_JURISDICTION_CODE,
    Element.RESIDENCE_POSTAL_CODE,
)


@dataclass(frozen=True)
class _Address:
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    problems: tuple[str, ...]


def _read_address(elements: Mapping[str, str]) -> _Address:
    """The mailing address, or the residence address a version 1 card may carry instead."""
    mailing = _text(elements, Element.ADDRESS_STREET_1) is not None
    residence = _text(elements, Element.RESIDENCE_STREET_1) is not None
    street_1, street_2, city, state_id, postal_id = (
        _RESIDENCE_ADDRESS if residence and not mailing else _MAILING_ADDRESS
    )
    problems = []
    state_text = _text(elements, state_id)
    state = state_text.upper() if state_text and re.fullmatch(r"[A-Za-z]{2}", state_text) else None
    if state_text is not None and state is None:
        problems.append(f"{state_id} (state) is not a two-letter code")
    postal_text = _text(elements, postal_id)
    postal_code = _read_postal_code(postal_text) if postal_text is not None else None
    if postal_text is not None and postal_code is None:
        problems.append(f"{postal_id} (postal code) is neither a ZIP nor a Canadian postal code")
    return _Address(
        line1=_text(elements, street_1),
        line2=_text(elements, street_2),
        city=_text(elements, city),
        state=state,
        postal_code=postal_code,
        problems=tuple(problems),
    )


def _read_country(elements: Mapping[str, str], iin: str, address: _Address) -> str | None:
    """DCG where the card has it; otherwise the issuer's country, then the address's."""
    written = (_text(elements, Element.COUNTRY_IDENTIFICATION) or "").upper()
    if written in ("USA", "US"):
        return "USA"
    if written in ("CAN", "CA", "CDN"):
        return "CAN"
    if written:
        return written
    by_issuer = country_of_issuer(iin)
    if by_issuer is not None:
        return by_issuer
    if address.postal_code is not None:
        return "CAN" if " " in address.postal_code else "USA"
    if address.state in _CANADIAN_PROVINCES:
        return "CAN"
    return None


def parse(text: str) -> LicenceData:
    """Read a decoded PDF417 licence barcode, forgiving what scanners and issuers get wrong."""
    text = text.replace("\x00", "")
    header = _read_header(text)
    main, subfiles = _read_subfiles(text, header)
    elements: dict[str, str] = {}
    for subfile in [main, *subfiles]:
        for element_id, value in subfile.elements:
            elements.setdefault(element_id, value)

    name = _read_name(elements, header.version)
    if name.last is None:
        family_name = (
            Element.DRIVER_LAST_NAME if header.version <= 1 else Element.CUSTOMER_FAMILY_NAME
        )
        raise MissingElement(family_name, "family name")
    if _text(elements, Element.DATE_OF_BIRTH) is None:
        raise MissingElement(Element.DATE_OF_BIRTH, "date of birth")

    address = _read_address(elements)
    problems = list(address.problems)
    country = _read_country(elements, header.iin, address)
    year_first = country == "CAN" or header.version <= 1

    def read_date(element: Element, description: str) -> date | None:
        value = _text(elements, element)
        if value is None:
            return None
        read = _read_date(value, year_first=year_first)
        if read is None:
            problems.append(f"{element} ({description}) is not a valid date")
        return read

    date_of_birth = read_date(Element.DATE_OF_BIRTH, "date of birth")
    expiration_date = read_date(Element.DOCUMENT_EXPIRATION_DATE, "expiration date")
    issue_date = read_date(Element.DOCUMENT_ISSUE_DATE, "issue date")

    sex_text = _text(elements, Element.SEX)
    sex = _SEX_CODES.get(sex_text.upper()) if sex_text is not None else None
    if sex_text is not None and sex is None:
        problems.append(f"{Element.SEX} (sex) is not a known code")

    return LicenceData(
        first_name=name.first,
        middle_name=name.middle,
        last_name=name.last,
        suffix=name.suffix,
        date_of_birth=date_of_birth,
        expiration_date=expiration_date,
        issue_date=issue_date,
        sex=sex,
        license_number=_text(elements, Element.CUSTOMER_ID_NUMBER),
        address_line1=address.line1,
        address_line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
        country=country,
        issuer_iin=header.iin,
        aamva_version=header.version,
        jurisdiction_version=header.jurisdiction_version,
        document_type=main.subfile_type,
        raw_elements=elements,
        problems=tuple(problems),
    )
