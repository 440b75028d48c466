"""Write AAMVA DL/ID payloads, so the test corpus can print the PDF417 barcodes the kiosk
must read, in every version of the standard a patient's card may carry.

The payload follows the standard to the byte: the header, a subfile directory with the real
offsets and lengths, the DL or ID subfile with the element set of the chosen version, and one
jurisdiction subfile per Z prefix found among the extra elements:

    version 0-1   DAA 'LAST,FIRST,MIDDLE' + DAB/DAC/DAD, dates CCYYMMDD, no DCG
    version 2-3   DCS + DCT 'FIRST,MIDDLE', dates MMDDCCYY (USA) or CCYYMMDD (CAN)
    version 4-10  DCS/DAC/DAD with the DDE/DDF/DDG truncation flags, dates as 2-3

parse(encode(x, version=v)) gives x back for a cardholder written the way the parser writes
one: names in title case, the address in upper case as issuers print it, sex M/F/X.
Elements whose value is unknown (no expiration date, no sex) are left out rather than made up;
versions 0-1 carry no country (DCG), so there the country read back is the IIN's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Protocol

from hardware.vision.aamva import (
    COMPLIANCE_INDICATOR,
    DATA_ELEMENT_SEPARATOR,
    RECORD_SEPARATOR,
    SEGMENT_TERMINATOR,
    Element,
    MissingElement,
    country_of_issuer,
)

__all__ = ["SUPPORTED_VERSIONS", "Cardholder", "encode"]

SUPPORTED_VERSIONS = range(0, 11)  # 0 = pre-standard, 1 = CDS 2000 ... 10 = CDS 2020


class Cardholder(Protocol):
    """What encode() reads: `LicenceData` fits, so does any object with these attributes.
    An optional `raw_elements` mapping adds further elements (eye colour, Z... elements)."""

    @property
    def first_name(self) -> str | None: ...
    @property
    def middle_name(self) -> str | None: ...
    @property
    def last_name(self) -> str: ...
    @property
    def suffix(self) -> str | None: ...
    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def expiration_date(self) -> date | None: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def license_number(self) -> str | None: ...
    @property
    def address_line1(self) -> str | None: ...
    @property
    def address_line2(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def state(self) -> str | None: ...
    @property
    def postal_code(self) -> str | None: ...
    @property
    def country(self) -> str | None: ...


# Elements encode() derives from the cardholder's fields in one version or another, so the
# `raw_elements` of a card read in another version cannot contradict them.
_DERIVED = frozenset(
    {
        Element.CUSTOMER_FAMILY_NAME,
        Element.CUSTOMER_FIRST_NAME,
        Element.CUSTOMER_MIDDLE_NAMES,
        Element.CUSTOMER_GIVEN_NAMES,
        Element.DRIVER_LICENSE_NAME,
        Element.DRIVER_LAST_NAME,
        Element.NAME_SUFFIX,
        Element.DRIVER_NAME_SUFFIX,
        Element.FAMILY_NAME_TRUNCATION,
        Element.FIRST_NAME_TRUNCATION,
        Element.MIDDLE_NAME_TRUNCATION,
        Element.DATE_OF_BIRTH,
        Element.DOCUMENT_EXPIRATION_DATE,
        Element.DOCUMENT_ISSUE_DATE,
        Element.SEX,
        Element.CUSTOMER_ID_NUMBER,
        Element.ADDRESS_STREET_1,
        Element.ADDRESS_STREET_2,
        Element.ADDRESS_CITY,
        Element.ADDRESS_JURISDICTION_CODE,
        Element.ADDRESS_POSTAL_CODE,
        Element.RESIDENCE_STREET_1,
        Element.RESIDENCE_STREET_2,
        Element.RESIDENCE_CITY,
        Element.RESIDENCE_JURISDICTION_CODE,
        Element.RESIDENCE_POSTAL_CODE,
        Element.COUNTRY_IDENTIFICATION,
    }
)
_NAME_FIELD_LENGTH = 40  # DCS, DAC and DAD from version 4 on
_SEX_CODES = {"M": "1", "F": "2", "X": "9"}
_ELEMENT_ID = re.compile(r"[A-Z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f]")


def _clean(value: str | None) -> str:
    """Upper case, one line: a value must not carry a separator into the payload."""
    return " ".join(_CONTROL.sub(" ", value or "").split()).upper()


def _date_text(day: date, *, year_first: bool) -> str:
    return day.strftime("%Y%m%d") if year_first else day.strftime("%m%d%Y")


def _postal_code_text(postal_code: str | None) -> str:
    """'12345' -> '123450000', '12345-6789' -> '123456789', 'K1A 0B1' -> 'K1A0B1'; padded to
    the element's 11 characters as issuers do."""
    compact = re.sub(r"[\s-]", "", postal_code or "").upper()
    if re.fullmatch(r"\d{5}", compact):
        compact += "0000"
    return compact.ljust(11) if compact else ""


def _truncated(name: str) -> tuple[str, str]:
    """The name as it fits the element, and the truncation flag: T(runcated) or N(ot)."""
    if len(name) > _NAME_FIELD_LENGTH:
        return name[:_NAME_FIELD_LENGTH], "T"
    return name, "N"


def _name_elements(data: Cardholder, version: int) -> list[tuple[str, str]]:
    last, first, middle = _clean(data.last_name), _clean(data.first_name), _clean(data.middle_name)
    suffix = _clean(data.suffix)
    elements: list[tuple[str, str]]
    if version <= 1:
        full = ",".join(part for part in (last, first, middle, suffix) if part)
        elements = [
            (Element.DRIVER_LICENSE_NAME, full),
            (Element.DRIVER_LAST_NAME, last),
            (Element.CUSTOMER_FIRST_NAME, first),
            (Element.CUSTOMER_MIDDLE_NAMES, middle),
            (Element.DRIVER_NAME_SUFFIX, suffix),
        ]
    elif version <= 3:
        # 'MARY ANN,' keeps a two-word first name whole: the comma is what splits the names.
        given = f"{first},{middle}" if middle or " " in first else first
        elements = [
            (Element.CUSTOMER_FAMILY_NAME, last),
            (Element.CUSTOMER_GIVEN_NAMES, given),
            (Element.NAME_SUFFIX, suffix),
        ]
    else:
        last, last_flag = _truncated(last)
        first, first_flag = _truncated(first or "NONE")
        middle, middle_flag = _truncated(middle or "NONE")
        elements = [
            (Element.CUSTOMER_FAMILY_NAME, last),
            (Element.FAMILY_NAME_TRUNCATION, last_flag),
            (Element.CUSTOMER_FIRST_NAME, first),
            (Element.FIRST_NAME_TRUNCATION, first_flag),
            (Element.CUSTOMER_MIDDLE_NAMES, middle),
            (Element.MIDDLE_NAME_TRUNCATION, middle_flag),
            (Element.NAME_SUFFIX, suffix),
        ]
    return [(element, value) for element, value in elements if value]


def _document_discriminator(data: Cardholder) -> str:
    """DCF is unique per card issued; the licence number and issue date make one up."""
    issued = data.issue_date.strftime("%Y%m%d") if data.issue_date else ""
    return (_clean(data.license_number) + issued)[:25] or "0000000000"


def _filler_elements(version: int, document_type: str) -> list[tuple[str, str]]:
    """Mandatory elements a cardholder does not supply, with what issuers write when there
    is nothing to say; a card's own values in `raw_elements` win."""
    vehicle_class = "D" if document_type == "DL" else "NONE"
    if version <= 1:
        return [
            (Element.DRIVER_LICENSE_CLASSIFICATION, vehicle_class),
            (Element.DRIVER_LICENSE_RESTRICTIONS, "NONE"),
            (Element.DRIVER_LICENSE_ENDORSEMENTS, "NONE"),
            (Element.EYE_COLOR, "UNK"),
            (Element.HEIGHT, "069 IN"),
        ]
    fillers: list[tuple[str, str]] = [
        (Element.JURISDICTION_VEHICLE_CLASS, vehicle_class),
        (Element.JURISDICTION_RESTRICTION_CODES, "NONE"),
        (Element.JURISDICTION_ENDORSEMENT_CODES, "NONE"),
        (Element.EYE_COLOR, "UNK"),
        (Element.HEIGHT, "069 IN"),
    ]
    if version <= 3:
        fillers.append((Element.FEDERAL_COMMERCIAL_VEHICLE_CODES, "NONE"))
    return fillers


def _main_elements(
    data: Cardholder,
    extras: Mapping[str, str],
    *,
    version: int,
    country: str,
    document_type: str,
) -> list[tuple[str, str]]:
    """The DL or ID subfile's elements: the cardholder's, the mandatory fillers, then any
    other D... element the cardholder's `raw_elements` carries."""
    year_first = version <= 1 or country == "CAN"
    dates = [
        (Element.DOCUMENT_EXPIRATION_DATE, data.expiration_date),
        (Element.DOCUMENT_ISSUE_DATE, data.issue_date),
        (Element.DATE_OF_BIRTH, data.date_of_birth),
    ]
    elements: list[tuple[str, str]] = [(Element.CUSTOMER_ID_NUMBER, _clean(data.license_number))]
    elements += _name_elements(data, version)
    elements += [(e, _date_text(d, year_first=year_first)) for e, d in dates if d is not None]
    if data.sex in _SEX_CODES:
        elements.append((Element.SEX, _SEX_CODES[data.sex]))
    elements += [
        (Element.ADDRESS_STREET_1, _clean(data.address_line1)),
        (Element.ADDRESS_STREET_2, _clean(data.address_line2)),
        (Element.ADDRESS_CITY, _clean(data.city)),
        (Element.ADDRESS_JURISDICTION_CODE, _clean(data.state)),
        (Element.ADDRESS_POSTAL_CODE, _postal_code_text(data.postal_code)),
    ]
    if version >= 2:
        discriminator = _document_discriminator(data)
        elements += [
            (Element.DOCUMENT_DISCRIMINATOR, discriminator),
            (Element.COUNTRY_IDENTIFICATION, country),
        ]
    elements += _filler_elements(version, document_type)
    elements = [(element, _clean(extras.get(element)) or value) for element, value in elements]
    written = {element for element, _ in elements}
    elements += [
        (element_id, _clean(value))
        for element_id, value in extras.items()
        if element_id.startswith("D") and element_id not in written
    ]
    return [(element, value) for element, value in elements if value]


def _jurisdiction_subfiles(extras: Mapping[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Z... elements grouped into their subfiles: 'ZVA' goes to subfile 'ZV'."""
    subfiles: dict[str, list[tuple[str, str]]] = {}
    for element_id, value in extras.items():
        if element_id.startswith("Z") and _clean(value):
            subfiles.setdefault(element_id[:2], []).append((element_id, _clean(value)))
    return subfiles


def _subfile_text(subfile_type: str, elements: list[tuple[str, str]]) -> str:
    lines = DATA_ELEMENT_SEPARATOR.join(element + value for element, value in elements)
    return subfile_type + lines + SEGMENT_TERMINATOR


def encode(
    data: Cardholder,
    *,
    version: int,
    iin: str = "636014",
    jurisdiction_version: int = 0,
    document_type: str = "DL",
) -> str:
    """A complete AAMVA payload for the cardholder, as the chosen version lays it out."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"AAMVA version {version} is not one of 0-10")
    if not re.fullmatch(r"\d{6}", iin):
        raise ValueError("an IIN is six digits")
    if not 0 <= jurisdiction_version <= 99:
        raise ValueError("a jurisdiction version is two digits")
    if document_type not in ("DL", "ID"):
        raise ValueError("the document type is DL or ID")
    if not _clean(data.last_name):
        raise MissingElement(Element.CUSTOMER_FAMILY_NAME, "family name")
    if data.date_of_birth is None:
        raise MissingElement(Element.DATE_OF_BIRTH, "date of birth")

    raw: Mapping[str, str] = getattr(data, "raw_elements", None) or {}
    extras = {k: v for k, v in raw.items() if _ELEMENT_ID.fullmatch(k) and k not in _DERIVED}
    country = _clean(data.country) or country_of_issuer(iin) or "USA"
    main = _main_elements(
        data, extras, version=version, country=country, document_type=document_type
    )
    subfiles = [_subfile_text(document_type, main)]
    subfiles += [_subfile_text(t, e) for t, e in _jurisdiction_subfiles(extras).items()]

    header = COMPLIANCE_INDICATOR + DATA_ELEMENT_SEPARATOR + RECORD_SEPARATOR
    header += SEGMENT_TERMINATOR + ("ANSI " if version >= 1 else "AAMVA") + iin
    header += f"{version:02d}" + (f"{jurisdiction_version:02d}" if version >= 2 else "")
    header += f"{len(subfiles):02d}"
    offset = len(header) + 10 * len(subfiles)
    directory = ""
    for subfile in subfiles:
        directory += f"{subfile[:2]}{offset:04d}{len(subfile):04d}"
        offset += len(subfile)
    payload = header + directory + "".join(subfiles)
    try:
        payload.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("a PDF417 licence barcode carries Latin-1 text only") from None
    return payload
