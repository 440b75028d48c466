"""AAMVA DL/ID barcodes: the payloads issuers print in each version of the standard, what
scanners do to them on the way, and the encoder the test corpus prints barcodes with."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from hardware.vision.aamva import (
    CANADIAN_IINS,
    AamvaError,
    LicenceData,
    MissingElement,
    NotAamva,
    parse,
)
from hardware.vision.aamva_encode import encode

# --- samples as issuers write them --------------------------------------------------------------

# The example of the AAMVA DL/ID-2013 standard (version 8, Virginia), as printed: a DL subfile
# and a Virginia ZV subfile, the postal code padded to 11 characters.
VIRGINIA_V8 = (
    "@\n\x1e\rANSI 636000080002DL00410278ZV03190008"
    "DLDAQT64235789\nDCSSAMPLE\nDDEN\nDACMICHAEL\nDDFN\nDADJOHN\nDDGN\nDCUJR\nDCAD\nDCBK\n"
    "DCDPH\nDBD06062019\nDBB06061986\nDBA12102024\nDBC1\nDAU068 in\nDAYBRO\n"
    "DAG2300 WEST BROAD STREET\nDAIRICHMOND\nDAJVA\nDAK232690000  \n"
    "DCF2424244747474786102204\nDCGUSA\nDCK123456789\nDDAF\nDDB06062018\nDDC06062020\nDDD1\r"
    "ZVZVA01\r"
)
# Pre-standard (version 0): the 'AAMVA' header form, the full name with spaces, a letter for
# the sex and MMDDCCYY dates.
SOUTH_CAROLINA_V0 = (
    "@\n\x1e\rAAMVA6360050001DL00290127"
    "DLDAQ100234567\nDAADOE JANE A\nDAG1205 PENDLETON ST\nDAICOLUMBIA\nDAJSC\nDAK292010000\n"
    "DARD\nDBA07242003\nDBB07241969\nDBCF\nDBD07241998\r"
)
# CDS 2000 (version 1): no jurisdiction version, DAA 'LAST,FIRST,MIDDLE', CCYYMMDD dates.
FLORIDA_V1 = (
    "@\n\x1e\rANSI 6360100101DL00290171"
    "DLDAQP123456650701\nDAAPUBLIC,JOHN,QUINCY\nDAG1600 N MONROE ST\nDAITALLAHASSEE\nDAJFL\n"
    "DAK323030000\nDARE\nDASNONE\nDATNONE\nDBA20090701\nDBB19650701\nDBC1\nDBD20010715\n"
    "DAU600\nDAYBRO\r"
)
# CDS 2005 (version 3): DCS and DCT 'FIRST,MIDDLE', an empty DCU.
TEXAS_V3 = (
    "@\n\x1e\rANSI 636015030001DL00310211"
    "DLDCAC\nDCBNONE\nDCDNONE\nDBA04152010\nDCSGARCIA\nDCTMARIA,ELENA\nDCU\nDBD04152005\n"
    "DBB04151978\nDBC2\nDAYBRN\nDAU065 in\nDAG4100 GUADALUPE ST\nDAIAUSTIN\nDAJTX\n"
    "DAK787510000\nDAQ12345678\nDCF12345678TX0415200515\nDCGUSA\nDCHNONE\r"
)
# Ontario writes zero offsets in its directory; CCYYMMDD dates, a Canadian postal code.
ONTARIO_V3 = (
    "@\n\x1e\rANSI 636012030101DL00000000"
    "DLDCAG\nDCBNONE\nDCDNONE\nDBA20260315\nDCSTREMBLAY\nDCTJEAN-PIERRE,LUC\nDBD20210310\n"
    "DBB19800315\nDBC1\nDAYBRN\nDAU178 cm\nDAG100 QUEEN ST W\nDAITORONTO\nDAJON\nDAKM5H 2N2\n"
    "DAQT64235789800315\nDCFAB1234567\nDCGCAN\nDCHNONE\r"
)
# CDS 2009 (version 4), an ID card: DCS/DAC/DAD, a 'NONE' middle name, a ZM subfile.
MICHIGAN_V4_ID = (
    "@\n\x1e\rANSI 636032040102ID00410229ZM02700012"
    "IDDCANONE\nDCBNONE\nDCDNONE\nDBA03012013\nDCSSMITH-JONES\nDACELIZABETH\nDADNONE\n"
    "DBD02152009\nDBB03011948\nDBC2\nDAYBLU\nDAU064 in\nDAG1200 E MICHIGAN AVE\nDAILANSING\n"
    "DAJMI\nDAK489120000\nDAQS530123456789\nDCF0902150123456\nDCGUSA\nDDEN\nDDFN\nDDGN\r"
    "ZMZMA1\nZMBN\r"
)
# CDS 2016 (version 9), California: ZIP+4, a ZC subfile of three elements.
CALIFORNIA_V9 = (
    "@\n\x1e\rANSI 636014090102DL00410282ZC03230023"
    "DLDAQD1234567\nDCSNGUYEN\nDDEN\nDACTHANH\nDDFN\nDADMINH\nDDGN\nDCAC\nDCBNONE\nDCDNONE\n"
    "DBD08312021\nDBB01151990\nDBA01152027\nDBC1\nDAU067 IN\nDAYBRN\nDAG1500 CAPITOL MALL\n"
    "DAISACRAMENTO\nDAJCA\nDAK958141234  \nDCF08/31/202162345/BBFD/27\nDCGUSA\nDAW150\n"
    "DAZBLK\nDCK21243D12345678901\nDDAF\nDDB08292017\nDDK1\r"
    "ZCZCAGRN\nZCBBLK\nZCC150\r"
)
# CDS 2020 (version 10), New York: sex 9 (X), an empty middle name, a second address line.
NEW_YORK_V10 = (
    "@\n\x1e\rANSI 636001100002DL00410239ZN02800013"
    "DLDAQ123456789\nDCSRIVERA\nDDEN\nDACALEX\nDDFN\nDAD\nDDGN\nDCAD\nDCBNONE\nDCDNONE\n"
    "DBD09012023\nDBB11301995\nDBA11302031\nDBC9\nDAU070 IN\nDAYHAZ\nDAG350 W 42ND ST\n"
    "DAHAPT 12B\nDAINEW YORK\nDAJNY\nDAK100360000  \nDCF7X2K9Q4M1\nDCGUSA\nDDAF\nDDB12102020\n"
    "DDK1\nDDL1\r"
    "ZNZNAVETERAN\r"
)

SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "virginia-v8": (
        VIRGINIA_V8,
        dict(
            first_name="Michael",
            middle_name="John",
            last_name="Sample",
            suffix="Jr",
            date_of_birth=date(1986, 6, 6),
            expiration_date=date(2024, 12, 10),
            issue_date=date(2019, 6, 6),
            sex="M",
            license_number="T64235789",
            address_line1="2300 WEST BROAD STREET",
            city="RICHMOND",
            state="VA",
            postal_code="23269",
            country="USA",
            issuer_iin="636000",
            aamva_version=8,
            jurisdiction_version=0,
            document_type="DL",
        ),
    ),
    "south-carolina-v0": (
        SOUTH_CAROLINA_V0,
        dict(
            first_name="Jane",
            middle_name="A",
            last_name="Doe",
            date_of_birth=date(1969, 7, 24),
            expiration_date=date(2003, 7, 24),
            sex="F",
            postal_code="29201",
            country="USA",
            aamva_version=0,
            jurisdiction_version=None,
        ),
    ),
    "florida-v1": (
        FLORIDA_V1,
        dict(
            first_name="John",
            middle_name="Quincy",
            last_name="Public",
            date_of_birth=date(1965, 7, 1),
            expiration_date=date(2009, 7, 1),
            issue_date=date(2001, 7, 15),
            sex="M",
            license_number="P123456650701",
            city="TALLAHASSEE",
            state="FL",
            postal_code="32303",
            country="USA",
            aamva_version=1,
            jurisdiction_version=None,
        ),
    ),
    "texas-v3": (
        TEXAS_V3,
        dict(
            first_name="Maria",
            middle_name="Elena",
            last_name="Garcia",
            suffix=None,
            date_of_birth=date(1978, 4, 15),
            expiration_date=date(2010, 4, 15),
            sex="F",
            license_number="12345678",
            address_line1="4100 GUADALUPE ST",
            postal_code="78751",
            aamva_version=3,
            jurisdiction_version=0,
        ),
    ),
    "ontario-v3": (
        ONTARIO_V3,
        dict(
            first_name="Jean-Pierre",
            middle_name="Luc",
            last_name="Tremblay",
            date_of_birth=date(1980, 3, 15),
            expiration_date=date(2026, 3, 15),
            issue_date=date(2021, 3, 10),
            sex="M",
            city="TORONTO",
            state="ON",
            postal_code="M5H 2N2",
            country="CAN",
            issuer_iin="636012",
            jurisdiction_version=1,
        ),
    ),
    "michigan-v4-id": (
        MICHIGAN_V4_ID,
        dict(
            first_name="Elizabeth",
            middle_name=None,
            last_name="Smith-Jones",
            date_of_birth=date(1948, 3, 1),
            sex="F",
            license_number="S530123456789",
            postal_code="48912",
            aamva_version=4,
            jurisdiction_version=1,
            document_type="ID",
        ),
    ),
    "california-v9": (
        CALIFORNIA_V9,
        dict(
            first_name="Thanh",
            middle_name="Minh",
            last_name="Nguyen",
            date_of_birth=date(1990, 1, 15),
            expiration_date=date(2027, 1, 15),
            sex="M",
            license_number="D1234567",
            city="SACRAMENTO",
            postal_code="95814-1234",
            issuer_iin="636014",
            aamva_version=9,
            jurisdiction_version=1,
        ),
    ),
    "new-york-v10": (
        NEW_YORK_V10,
        dict(
            first_name="Alex",
            middle_name=None,
            last_name="Rivera",
            date_of_birth=date(1995, 11, 30),
            sex="X",
            address_line1="350 W 42ND ST",
            address_line2="APT 12B",
            city="NEW YORK",
            state="NY",
            postal_code="10036",
            aamva_version=10,
        ),
    ),
}

PERSON_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "date_of_birth",
    "expiration_date",
    "issue_date",
    "sex",
    "license_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
)


def person(data: LicenceData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in PERSON_FIELDS}


def virginia_payload(
    *lines: str, version: int = 8, iin: str = "636000", without: tuple[str, ...] = ()
) -> str:
    """A well-formed Virginia payload whose elements are the usual ones, with `lines` put in
    place of (or added to) them and the ids in `without` left out."""
    elements = {
        "DAQ": "T64235789",
        "DCS": "SAMPLE",
        "DAC": "MICHAEL",
        "DBB": "06061986",
        "DAG": "2300 WEST BROAD STREET",
        "DAI": "RICHMOND",
        "DAJ": "VA",
        "DAK": "232690000",
        "DCG": "USA",
    }
    elements.update({line[:3]: line[3:] for line in lines})
    body = "DL" + "\n".join(k + v for k, v in elements.items() if k not in without) + "\r"
    header = f"@\n\x1e\rANSI {iin}{version:02d}" + ("00" if version >= 2 else "") + "01"
    return header + f"DL{len(header) + 10:04d}{len(body):04d}" + body


def element_ids(payload: str) -> set[str]:
    """The element ids a well-formed payload's subfiles hold, found through its directory."""
    ids = set()
    for _, offset, length in directory(payload):
        body = payload[offset + 2 : offset + length]
        ids |= {line[:3] for line in re.split(r"[\n\r]", body) if line}
    return ids


def directory(payload: str) -> list[tuple[str, int, int]]:
    """The subfile directory of a well-formed payload: (type, offset, length)."""
    header = re.match(r"@\n\x1e\r(?:ANSI |AAMVA)\d{6}(\d{2})", payload)
    assert header is not None
    position = header.end() + (2 if int(header.group(1)) >= 2 else 0)
    count = int(payload[position : position + 2])
    entries = re.findall(
        r"([A-Z]{2})(\d{4})(\d{4})", payload[position + 2 : position + 2 + 10 * count]
    )
    return [(t, int(offset), int(length)) for t, offset, length in entries]


# --- what issuers print -------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "expected"), SAMPLES.values(), ids=SAMPLES.keys())
def test_a_sample_reads_as_issued(payload, expected):
    read = parse(payload)
    assert {name: getattr(read, name) for name in expected} == expected


@pytest.mark.parametrize("payload", [p for p, _ in SAMPLES.values()], ids=SAMPLES.keys())
def test_a_sample_reads_without_problems(payload):
    assert parse(payload).problems == ()


@pytest.mark.parametrize(
    ("payload", "element_id", "value"),
    [
        (VIRGINIA_V8, "ZVA", "01"),
        (VIRGINIA_V8, "DCK", "123456789"),
        (MICHIGAN_V4_ID, "ZMB", "N"),
        (CALIFORNIA_V9, "ZCC", "150"),
        (CALIFORNIA_V9, "DAZ", "BLK"),
        (NEW_YORK_V10, "DDL", "1"),
        (NEW_YORK_V10, "ZNA", "VETERAN"),
    ],
)
def test_elements_not_mapped_to_fields_are_kept_raw(payload, element_id, value):
    assert parse(payload).raw_elements[element_id] == value


def test_an_unknown_element_is_kept_not_refused():
    assert parse(virginia_payload("DZZSOMETHING NEW")).raw_elements["DZZ"] == "SOMETHING NEW"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (VIRGINIA_V8, (8, 0)),
        (
            VIRGINIA_V8.replace(
                "ANSI 636000080002DL00410278ZV03190008", "ANSI 6360000802DL00390278ZV03170008"
            ),
            (8, None),
        ),
        (FLORIDA_V1, (1, None)),
        (FLORIDA_V1.replace("ANSI 6360100101DL00290171", "ANSI 636010010301DL00310171"), (1, 3)),
    ],
    ids=[
        "version 8",
        "version 8 without a jurisdiction version",
        "version 1",
        "version 1 with one",
    ],
)
def test_the_header_is_read_with_or_without_a_jurisdiction_version(payload, expected):
    read = parse(payload)
    assert (read.aamva_version, read.jurisdiction_version) == expected


# --- names --------------------------------------------------------------------------------------

NAME_FORMS = {
    "DCS/DAC/DAD": (8, ("DCSSAMPLE", "DACMICHAEL", "DADJOHN"), (), ("Michael", "John", "Sample")),
    "DAD NONE": (8, ("DACMICHAEL", "DADNONE"), (), ("Michael", None, "Sample")),
    "DAD empty": (10, ("DACMICHAEL", "DAD"), (), ("Michael", None, "Sample")),
    "DAD two names": (9, ("DACMICHAEL", "DADJOHN PAUL"), (), ("Michael", "John Paul", "Sample")),
    "truncated": (
        8,
        ("DCSWOLFESCHLEGELSTEINHAUSENBERGERDORFFWELC", "DDET", "DDFN"),
        (),
        ("Michael", None, "Wolfeschlegelsteinhausenbergerdorffwelc"),
    ),
    "DCT comma": (3, ("DCTMICHAEL,JOHN",), ("DAC",), ("Michael", "John", "Sample")),
    "DCT space": (3, ("DCTMICHAEL JOHN",), ("DAC",), ("Michael", "John", "Sample")),
    "DCT two middles": (2, ("DCTMICHAEL JOHN PAUL",), ("DAC",), ("Michael", "John Paul", "Sample")),
    "DCT first only": (3, ("DCTMICHAEL",), ("DAC",), ("Michael", None, "Sample")),
    "DCT two-word first": (3, ("DCTMARY ANN,LOUISE",), ("DAC",), ("Mary Ann", "Louise", "Sample")),
    "DCT on version 8": (8, ("DCTMICHAEL,JOHN",), ("DAC",), ("Michael", "John", "Sample")),
    "DAA commas": (1, ("DAASAMPLE,MICHAEL,JOHN",), ("DCS", "DAC"), ("Michael", "John", "Sample")),
    "DAA spaces": (1, ("DAASAMPLE MICHAEL JOHN",), ("DCS", "DAC"), ("Michael", "John", "Sample")),
    "DAA no middle": (1, ("DAASAMPLE,MICHAEL",), ("DCS", "DAC"), ("Michael", None, "Sample")),
    "DAB/DAC/DAD": (
        1,
        ("DABSAMPLE", "DACMICHAEL", "DADJOHN"),
        ("DCS",),
        ("Michael", "John", "Sample"),
    ),
}


@pytest.mark.parametrize(
    ("version", "lines", "without", "expected"), NAME_FORMS.values(), ids=NAME_FORMS.keys()
)
def test_each_name_form_gives_first_middle_and_last_name(version, lines, without, expected):
    read = parse(virginia_payload(*lines, version=version, without=without))
    assert (read.first_name, read.middle_name, read.last_name) == expected


@pytest.mark.parametrize(
    ("version", "lines", "without", "expected"),
    [
        (8, ("DCUJR",), (), "Jr"),
        (8, ("DCUIII",), (), "III"),
        (8, ("DCU",), (), None),
        (1, ("DAESR", "DABSAMPLE"), ("DCS",), "Sr"),
        (1, ("DAASAMPLE,MICHAEL,JOHN,IV",), ("DCS", "DAC"), "IV"),
    ],
    ids=["DCU JR", "DCU III", "DCU empty", "DAE", "in DAA"],
)
def test_the_name_suffix_is_read(version, lines, without, expected):
    assert parse(virginia_payload(*lines, version=version, without=without)).suffix == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("O'BRIEN", "O'Brien"),
        ("SMITH-JONES", "Smith-Jones"),
        ("MCDONALD", "Mcdonald"),
        ("DE LA CRUZ", "De La Cruz"),
        ("D'ANGELO-RUIZ", "D'Angelo-Ruiz"),
        ("ST. JOHN", "St. John"),
        ("McDonald", "McDonald"),  # an issuer writing mixed case knows best
        ("  GARCIA   LOPEZ ", "Garcia Lopez"),
    ],
)
def test_family_names_are_title_cased_sensibly(written, expected):
    assert parse(virginia_payload("DCS" + written)).last_name == expected


# --- sex ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [("1", "M"), ("2", "F"), ("9", "X"), ("M", "M"), ("F", "F"), ("X", "X"), ("f", "F")],
)
def test_sex_codes_and_letters_are_read(code, expected):
    assert parse(virginia_payload("DBC" + code)).sex == expected


def test_an_unknown_sex_code_reads_as_none_with_a_problem():
    read = parse(virginia_payload("DBC7"))
    assert (read.sex, read.problems) == (None, ("DBC (sex) is not a known code",))


def test_a_card_without_sex_reads_as_none_without_a_problem():
    read = parse(virginia_payload(without=("DBC",)))
    assert (read.sex, read.problems) == (None, ())


# --- postal codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("23269", "23269"),
        ("232690000", "23269"),
        ("232690000  ", "23269"),
        ("232691234", "23269-1234"),
        ("23269-1234", "23269-1234"),
        ("232691234  ", "23269-1234"),
        ("K1A0B1", "K1A 0B1"),
        ("K1A 0B1", "K1A 0B1"),
        ("k1a0b1     ", "K1A 0B1"),
    ],
)
def test_postal_codes_are_formatted(written, expected):
    assert parse(virginia_payload("DAK" + written)).postal_code == expected


@pytest.mark.parametrize("written", ["2326", "ABCDEFG", "2326900001"])
def test_a_postal_code_of_no_known_shape_reads_as_none_with_a_problem(written):
    read = parse(virginia_payload("DAK" + written))
    assert read.postal_code is None
    assert any(problem.startswith("DAK") for problem in read.problems)


def test_a_version_1_card_with_only_a_residence_address_gives_that_address():
    payload = virginia_payload(
        "DAL12 OAK LN",
        "DANNORFOLK",
        "DAOVA",
        "DAP235100000",
        version=1,
        without=("DAG", "DAI", "DAJ", "DAK"),
    )
    read = parse(payload)
    assert (read.address_line1, read.city, read.state, read.postal_code) == (
        "12 OAK LN",
        "NORFOLK",
        "VA",
        "23510",
    )


# --- dates and countries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "iin", "expected"),
    [
        (("DBB06061986", "DCGUSA"), "636000", date(1986, 6, 6)),
        (("DBB19860606", "DCGCAN", "DAKK1A0B1"), "636012", date(1986, 6, 6)),
        (("DBB19860606", "DCGCAN", "DAKK1A0B1"), "636000", date(1986, 6, 6)),
        (("DBB19860606", "DCGUSA"), "636000", date(1986, 6, 6)),  # the other order, misissued
        (("DBB06061986", "DCGCAN", "DAKK1A0B1"), "636012", date(1986, 6, 6)),
        (("DBB1986-06-06",), "636000", date(1986, 6, 6)),
        (("DBB06/06/1986",), "636000", date(1986, 6, 6)),
    ],
    ids=[
        "US MMDDCCYY",
        "CA CCYYMMDD",
        "CAN by DCG",
        "US CCYYMMDD",
        "CA MMDDCCYY",
        "ISO",
        "slashes",
    ],
)
def test_dates_are_read_in_either_order(lines, iin, expected):
    assert parse(virginia_payload(*lines, iin=iin)).date_of_birth == expected


@pytest.mark.parametrize(
    ("version", "written"), [(1, "19860606"), (1, "06061986"), (0, "06061986")]
)
def test_version_1_dates_are_read_in_either_order(version, written):
    assert parse(virginia_payload("DBB" + written, version=version)).date_of_birth == date(
        1986, 6, 6
    )


@pytest.mark.parametrize(
    ("element", "written"),
    [
        ("DBB", "02301986"),
        ("DBB", "00000000"),
        ("DBA", "99999999"),
        ("DBD", "1312201"),
        ("DBA", "N/A"),
    ],
)
def test_an_impossible_date_reads_as_none_with_a_problem(element, written):
    read = parse(virginia_payload(element + written))
    assert {"DBB": read.date_of_birth, "DBA": read.expiration_date, "DBD": read.issue_date}[
        element
    ] is None
    assert any(problem.startswith(element) for problem in read.problems)


def test_a_problem_names_the_element_and_never_carries_its_value():
    read = parse(virginia_payload("DBB02301986"))
    assert read.problems == ("DBB (date of birth) is not a valid date",)


@pytest.mark.parametrize("iin", sorted(CANADIAN_IINS))
def test_a_canadian_issuer_makes_a_card_without_dcg_canadian(iin):
    read = parse(virginia_payload("DBB19860606", iin=iin, without=("DCG", "DAK", "DAJ")))
    assert (read.country, read.date_of_birth) == ("CAN", date(1986, 6, 6))


@pytest.mark.parametrize(
    ("iin", "province"),
    [
        ("636012", "ON"),
        ("604428", "QC"),
        ("636028", "BC"),
        ("604432", "AB"),
        ("636048", "MB"),
        ("636044", "SK"),
        ("636013", "NS"),
        ("636017", "NB"),
        ("636016", "NL"),
        ("604426", "PE"),
        ("604429", "YT"),
        ("604434", "NT"),
        ("604433", "NU"),
    ],
)
def test_every_province_and_territory_has_its_iin(iin, province):
    assert CANADIAN_IINS[iin] == province


@pytest.mark.parametrize(
    ("lines", "iin", "expected"),
    [
        (("DAK",), "636000", "USA"),
        (("DAKK1A0B1",), "990000", "CAN"),
        (("DAK232690000",), "990000", "USA"),
        (("DAJQC", "DAK"), "990000", "CAN"),
        (("DAK",), "990000", None),
    ],
    ids=["US issuer", "Canadian postal code", "ZIP code", "province", "nothing to go by"],
)
def test_the_country_without_dcg_follows_the_issuer_then_the_address(lines, iin, expected):
    assert parse(virginia_payload(*lines, iin=iin, without=("DCG",))).country == expected


# --- what scanners do to a payload -----------------------------------------------------------

SCANNER_VARIANTS = {
    "CRLF line endings": lambda p: p.replace("\n", "\r\n"),
    "CR for every separator": lambda p: re.sub("[\n\x1e]", "\r", p),
    "LF for every separator": lambda p: re.sub("[\r\x1e]", "\n", p),
    "no leading @": lambda p: p[1:],
    "no compliance prefix at all": lambda p: p[4:],
    "AIM symbology prefix": lambda p: "]L2" + p,
    "stray NULs": lambda p: "\x00".join(p[i : i + 37] for i in range(0, len(p), 37)),
    "NUL padding": lambda p: p + "\x00" * 16,
    "trailing whitespace": lambda p: p + "   \r\n",
    "no final segment terminator": lambda p: p.rstrip("\r"),
}


@pytest.mark.parametrize("variant", SCANNER_VARIANTS.values(), ids=SCANNER_VARIANTS.keys())
@pytest.mark.parametrize(
    "payload", [VIRGINIA_V8, FLORIDA_V1, NEW_YORK_V10], ids=["v8", "v1", "v10"]
)
def test_a_scanner_variant_reads_the_same_as_the_original(payload, variant):
    assert person(parse(variant(payload))) == person(parse(payload))


@pytest.mark.parametrize("variant", SCANNER_VARIANTS.values(), ids=SCANNER_VARIANTS.keys())
def test_a_scanner_variant_keeps_the_jurisdiction_subfile(variant):
    assert parse(variant(VIRGINIA_V8)).raw_elements["ZVA"] == "01"


BROKEN_DIRECTORIES = {
    "offset off by nine": VIRGINIA_V8.replace("DL00410278", "DL00500278"),
    "offset off by one": VIRGINIA_V8.replace("DL00410278", "DL00400278"),
    "letters for offsets": VIRGINIA_V8.replace("DL00410278", "DLabacabac"),
    "length too short": VIRGINIA_V8.replace("DL00410278", "DL00410200"),
    "length past the end": VIRGINIA_V8.replace("ZV03190008", "ZV03190090"),
    "zero offsets": VIRGINIA_V8.replace("DL00410278ZV03190008", "DL00000000ZV00000000"),
    "one entry too many": VIRGINIA_V8.replace("080002DL", "080003DL"),
    "one entry too few": VIRGINIA_V8.replace("080002DL", "080001DL"),
}


@pytest.mark.parametrize("payload", BROKEN_DIRECTORIES.values(), ids=BROKEN_DIRECTORIES.keys())
def test_a_broken_directory_falls_back_to_scanning(payload):
    assert person(parse(payload)) == person(parse(VIRGINIA_V8))


@pytest.mark.parametrize("payload", BROKEN_DIRECTORIES.values(), ids=BROKEN_DIRECTORIES.keys())
def test_scanning_finds_the_jurisdiction_subfile(payload):
    assert parse(payload).raw_elements["ZVA"] == "01"


@pytest.mark.parametrize("prefix", ["@\n\x1e\r", "\n\x1e\r", "]L2@\n\x1e\r"], ids=repr)
def test_the_directory_finds_a_jurisdiction_subfile_placed_before_the_dl_subfile(prefix):
    jurisdiction, main = "ZVZVA01\r", VIRGINIA_V8[41:319]
    payload = f"{prefix}ANSI 636000080002ZV00410008DL00490278{jurisdiction}{main}"
    assert parse(payload).raw_elements["ZVA"] == "01"


def test_scanning_reads_a_subfile_type_alone_on_its_line():
    payload = VIRGINIA_V8.replace("DL00410278", "DL00000000").replace("DLDAQ", "DL\nDAQ")
    assert parse(payload).license_number == "T64235789"


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "https://frontdesk.example/c/8f3a2b",  # an appointment QR code
        "036000291452",  # a UPC
        "@\n\x1e\rANSI 636000080000",  # a header and nothing else
        "@\n\x1e\rANSI 636000080001DL00310010XXXXXXXX\r",  # no DL subfile where it says
    ],
    ids=["empty", "random text", "QR code", "UPC", "header only", "no subfile"],
)
def test_text_that_is_no_licence_raises_not_aamva(text):
    with pytest.raises(NotAamva):
        parse(text)


@pytest.mark.parametrize(
    ("payload", "element_id"),
    [
        (virginia_payload(without=("DBB",)), "DBB"),
        (virginia_payload("DBB"), "DBB"),
        (virginia_payload("DBB   "), "DBB"),
        (virginia_payload(without=("DCS",)), "DCS"),
        (virginia_payload(version=1, without=("DCS",)), "DAB"),
        (VIRGINIA_V8.replace("DBB06061986\n", ""), "DBB"),
    ],
    ids=["no DBB", "empty DBB", "blank DBB", "no DCS", "version 1 without a name", "sample"],
)
def test_a_licence_without_a_required_element_raises_missing_element(payload, element_id):
    with pytest.raises(MissingElement) as raised:
        parse(payload)
    assert raised.value.element_id == element_id


@pytest.mark.parametrize("error", [NotAamva, MissingElement])
def test_every_error_is_an_aamva_error_and_a_value_error(error):
    assert issubclass(error, AamvaError)
    assert issubclass(error, ValueError)


# --- the JSON shape -----------------------------------------------------------------------------


def test_to_json_has_exactly_the_agreed_keys():
    assert set(parse(VIRGINIA_V8).to_json()) == {
        "first_name",
        "middle_name",
        "last_name",
        "date_of_birth",
        "expiration_date",
        "sex",
        "license_number",
        "address_line1",
        "city",
        "state",
        "postal_code",
        "issuer_iin",
        "aamva_version",
    }


def test_to_json_writes_iso_dates_and_survives_json_dumps():
    shape = json.loads(json.dumps(parse(VIRGINIA_V8).to_json()))
    assert (shape["date_of_birth"], shape["expiration_date"]) == ("1986-06-06", "2024-12-10")


def test_to_json_writes_none_for_an_unreadable_date():
    assert parse(virginia_payload("DBA99999999")).to_json()["expiration_date"] is None


# --- the encoder --------------------------------------------------------------------------------

CARDHOLDERS = {
    "virginia": (
        "636000",
        LicenceData(
            first_name="Michael",
            middle_name="John",
            last_name="Sample",
            suffix="Jr",
            date_of_birth=date(1986, 6, 6),
            expiration_date=date(2024, 12, 10),
            issue_date=date(2019, 6, 6),
            sex="M",
            license_number="T64235789",
            address_line1="2300 WEST BROAD STREET",
            city="RICHMOND",
            state="VA",
            postal_code="23269",
            country="USA",
        ),
    ),
    "ontario": (
        "636012",
        LicenceData(
            first_name="Marie-Claire",
            last_name="Tremblay",
            date_of_birth=date(1980, 3, 15),
            expiration_date=date(2026, 3, 15),
            issue_date=date(2021, 3, 10),
            sex="F",
            license_number="T64235789800315",
            address_line1="100 QUEEN ST W",
            address_line2="UNIT 4",
            city="TORONTO",
            state="ON",
            postal_code="M5H 2N2",
            country="CAN",
        ),
    ),
    "oregon": (
        "636029",
        LicenceData(
            first_name="Alex",
            middle_name="Jordan Lee",
            last_name="O'Brien",
            suffix="III",
            date_of_birth=date(2001, 12, 31),
            expiration_date=date(2030, 1, 1),
            issue_date=date(2022, 2, 28),
            sex="X",
            license_number="7654321",
            address_line1="1221 SW 4TH AVE",
            city="PORTLAND",
            state="OR",
            postal_code="97204-1234",
            country="USA",
        ),
    ),
    "massachusetts": (
        "636002",
        LicenceData(
            first_name="Mary Ann",
            last_name="Smith-Jones",
            date_of_birth=date(1952, 2, 29),
            sex="F",
            license_number="S12345678",
            address_line1="24 BEACON ST",
            city="BOSTON",
            state="MA",
            postal_code="02108",
            country="USA",
        ),
    ),
}
VERSIONS = range(0, 11)
MANDATORY_FROM_VERSION_4 = {
    *"DCA DCB DCD DBA DCS DAC DAD DBD DBB DBC DAY".split(),
    *"DAU DAG DAI DAJ DAK DAQ DCF DCG DDE DDF DDG".split(),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("iin", "cardholder"), CARDHOLDERS.values(), ids=CARDHOLDERS.keys())
def test_parse_reads_back_what_encode_wrote(iin, cardholder, version):
    assert person(parse(encode(cardholder, version=version, iin=iin))) == person(cardholder)


@pytest.mark.parametrize("version", VERSIONS)
def test_parse_reads_back_the_header_encode_wrote(version):
    read = parse(
        encode(CARDHOLDERS["virginia"][1], version=version, iin="636000", jurisdiction_version=5)
    )
    expected_jurisdiction_version = 5 if version >= 2 else None
    assert (read.issuer_iin, read.aamva_version, read.jurisdiction_version) == (
        "636000",
        version,
        expected_jurisdiction_version,
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("document_type", ["DL", "ID"])
def test_parse_reads_back_the_document_type(version, document_type):
    payload = encode(CARDHOLDERS["virginia"][1], version=version, document_type=document_type)
    assert parse(payload).document_type == document_type


@pytest.mark.parametrize("version", VERSIONS)
def test_the_encoded_directory_points_at_each_subfile(version):
    cardholder = LicenceData(
        last_name="Sample",
        date_of_birth=date(1986, 6, 6),
        raw_elements={"ZVA": "01", "ZWB": "2"},
    )
    payload = encode(cardholder, version=version)
    entries = directory(payload)
    assert [t for t, _, _ in entries] == ["DL", "ZV", "ZW"]
    for subfile_type, offset, length in entries:
        assert payload[offset : offset + 2] == subfile_type
        assert payload[offset + length - 1] == "\r"
    assert entries[-1][1] + entries[-1][2] == len(payload)


@pytest.mark.parametrize(
    ("versions", "present", "absent"),
    [
        ((0, 1), {"DAA", "DAB", "DAC", "DAD"}, {"DCS", "DCT", "DCG", "DDE"}),
        ((2, 3), {"DCS", "DCT", "DCG", "DCH"}, {"DAA", "DAB", "DAC", "DAD", "DDE"}),
        (range(4, 11), {"DCS", "DAC", "DAD", "DDE", "DDF", "DDG"}, {"DAA", "DAB", "DCT", "DCH"}),
    ],
    ids=["versions 0-1", "versions 2-3", "versions 4-10"],
)
def test_encode_writes_the_name_elements_of_the_version(versions, present, absent):
    for version in versions:
        written = element_ids(encode(CARDHOLDERS["virginia"][1], version=version))
        assert (present - written, absent & written) == (set(), set()), version


@pytest.mark.parametrize("version", range(4, 11))
def test_encode_writes_every_mandatory_element_from_version_4_on(version):
    written = element_ids(encode(CARDHOLDERS["virginia"][1], version=version))
    assert MANDATORY_FROM_VERSION_4 - written == set()


@pytest.mark.parametrize(
    ("version", "country", "iin", "expected"),
    [
        (8, "USA", "636000", "\nDBB06061986\n"),
        (8, "CAN", "636012", "\nDBB19860606\n"),
        (3, "CAN", "636012", "\nDBB19860606\n"),
        (1, "USA", "636000", "\nDBB19860606\n"),
        (8, None, "636012", "\nDBB19860606\n"),
    ],
    ids=["USA", "CAN", "CAN version 3", "version 1", "country from the IIN"],
)
def test_encode_writes_dates_in_the_order_of_the_country_and_version(
    version, country, iin, expected
):
    cardholder = LicenceData(last_name="Sample", date_of_birth=date(1986, 6, 6), country=country)
    assert expected in encode(cardholder, version=version, iin=iin)


def test_encode_truncates_a_long_family_name_and_flags_it():
    cardholder = LicenceData(
        last_name="Wolfeschlegelsteinhausenbergerdorffwelchevoralternwaren",
        date_of_birth=date(1986, 6, 6),
    )
    payload = encode(cardholder, version=8)
    assert "DCSWOLFESCHLEGELSTEINHAUSENBERGERDORFFWELCH\nDDET\n" in payload


def test_encode_keeps_a_cards_own_values_for_the_mandatory_fillers():
    cardholder = LicenceData(
        last_name="Sample", date_of_birth=date(1986, 6, 6), raw_elements={"DAY": "BRO", "DCA": "A"}
    )
    read = parse(encode(cardholder, version=8))
    assert (read.raw_elements["DAY"], read.raw_elements["DCA"]) == ("BRO", "A")


@pytest.mark.parametrize(
    "arguments",
    [
        dict(version=11),
        dict(version=-1),
        dict(version=8, iin="63600"),
        dict(version=8, iin="63600A"),
        dict(version=8, jurisdiction_version=100),
        dict(version=8, document_type="XX"),
    ],
    ids=[
        "version 11",
        "version -1",
        "short IIN",
        "letter in IIN",
        "jurisdiction version 100",
        "document type",
    ],
)
def test_encode_refuses_what_no_card_carries(arguments):
    with pytest.raises(ValueError):
        encode(CARDHOLDERS["virginia"][1], **arguments)


def test_encode_refuses_a_name_a_licence_barcode_cannot_carry():
    with pytest.raises(ValueError, match="Latin-1"):
        encode(LicenceData(last_name="Łukasiewicz", date_of_birth=date(1986, 6, 6)), version=8)


def test_encode_refuses_a_cardholder_without_a_date_of_birth():
    with pytest.raises(MissingElement) as raised:
        encode(LicenceData(last_name="Sample"), version=8)
    assert raised.value.element_id == "DBB"
