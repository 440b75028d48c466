"""The professional claim, 837P 005010X222A1: claims in, one interchange of X12 text out.

Our own builder, pure: pyx12 validates what it writes (tests and `benchmarks/x12_claims.py`).

    ISA  interchange                       one per call
     GS  functional group (HC)             one
      ST 837 transaction set               one per 5,000 claims (the guide's ceiling)
       BHT, 1000A submitter, 1000B receiver
       2000A billing provider (HL 20)      one per billing provider, claims in their order
        2000B subscriber (HL 22) + payer   one per claim
         2000C patient (HL 23)             when the patient is not the subscriber
          2300 claim: CLM, DTP*431, REF*F8, HI, 2310A referring, 2310B rendering,
               2320 other payers (CAS, AMT*D, AMT*EAF, OI, 2330A subscriber, 2330B payer)
           2400 lines: LX, SV1, DTP*472, REF*6R, 2420A rendering, 2430 SVD/CAS/DTP*573

Data that no valid file can carry (a missing member id, a dangling diagnosis pointer) raises
`X12WriteError` naming the field; the scrubber should have caught it before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from backoffice.billing.claim import (
    Address,
    Adjustment,
    Claim,
    FrequencyCode,
    Interchange,
    OtherPayer,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.x12.segments import (
    DEFAULT_SEPARATORS,
    Element,
    Separators,
    X12WriteError,
    amount,
    clean_text,
    date8,
    group_control_number,
    interchange_control_number,
    is_carriable,
    isa_segment,
    quantity,
    segment,
    transaction_set_control_number,
)

__all__ = ["IMPLEMENTATION_GUIDE", "MAX_CLAIMS_PER_TRANSACTION", "build_837p"]

IMPLEMENTATION_GUIDE = "005010X222A1"
# The guide asks senders to keep a transaction set to 5,000 claims; more go in another ST.
MAX_CLAIMS_PER_TRANSACTION = 5000
MAX_LINES_PER_CLAIM = 50  # loop 2400 repeats 50 times
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4
MAX_CAS_SEGMENTS = 5  # per loop 2320 / 2430
MAX_CAS_TRIPLES = 6  # reason/amount/quantity per CAS segment

_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
_PROCEDURE = re.compile(r"[A-Z0-9]{5}")  # CPT or HCPCS level II
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_STATE = re.compile(r"[A-Z]{2}")
_PLACE_OF_SERVICE = re.compile(r"[0-9]{2}")
_SEX = re.compile(r"[MFU]")
_RESPONSIBILITY = re.compile(r"[ABCDEFGHPSTU]")
_FILING = re.compile(r"1[1-7]|AM|BL|CH|CI|DS|FI|HM|LM|MA|MB|MC|OF|TV|VA|WC|ZZ")
_CAS_GROUP = re.compile(r"CO|CR|OA|PI|PR")
_CARC = re.compile(r"[A-Z0-9]{1,5}")
_RELEASE = re.compile(r"[IY]")

# Element maximum lengths from the guide, for free text.
_NAME_LAST, _NAME_FIRST, _ADDRESS, _CITY, _CONTACT = 60, 35, 55, 30, 60


def build_837p(interchange: Interchange, *, created: datetime, line_breaks: bool = True) -> str:
    """The whole interchange as X12 text; `line_breaks` adds a newline after each terminator
    (readers skip it; billers can read the file)."""
    if not interchange.claims:
        raise X12WriteError("claims", "an interchange needs at least one claim")
    writer = _Writer(DEFAULT_SEPARATORS)
    writer.raw(
        isa_segment(
            sender_qualifier=interchange.sender_qualifier,
            sender_id=interchange.sender_id,
            receiver_qualifier=interchange.receiver_qualifier,
            receiver_id=interchange.receiver_id,
            created=created,
            control_number=interchange.interchange_control_number,
            production=interchange.production,
        )
    )
    group_number = group_control_number(interchange.group_control_number)
    writer.add(
        "GS",
        "HC",
        interchange.sender_id,
        interchange.receiver_id,
        date8(created.date()),
        created.strftime("%H%M"),
        group_number,
        "X",
        IMPLEMENTATION_GUIDE,
    )
    indexed = list(enumerate(interchange.claims))
    chunks = [
        indexed[start : start + MAX_CLAIMS_PER_TRANSACTION]
        for start in range(0, len(indexed), MAX_CLAIMS_PER_TRANSACTION)
    ]
    for number, chunk in enumerate(chunks, start=1):
        _transaction_set(writer, interchange, chunk, number=number, created=created)
    writer.add("GE", str(len(chunks)), group_number)
    writer.add("IEA", "1", interchange_control_number(interchange.interchange_control_number))
    return writer.text(line_breaks=line_breaks)


@dataclass
class _Writer:
    separators: Separators
    segments: list[str] = field(default_factory=list)

    def add(self, segment_id: str, *elements: Element) -> None:
        self.segments.append(segment(segment_id, *elements, separators=self.separators))

    def raw(self, text: str) -> None:
        self.segments.append(text)

    def text(self, *, line_breaks: bool) -> str:
        terminator = self.separators.segment + ("\n" if line_breaks else "")
        return terminator.join(self.segments) + terminator


@dataclass
class _Hierarchy:
    """HL01 numbers, running through one transaction set."""

    last: int = 0

    def next(self) -> str:
        self.last += 1
        return str(self.last)


def _transaction_set(
    writer: _Writer,
    interchange: Interchange,
    claims: list[tuple[int, Claim]],
    *,
    number: int,
    created: datetime,
) -> None:
    control = transaction_set_control_number(number)
    start = len(writer.segments)
    writer.add("ST", "837", control, IMPLEMENTATION_GUIDE)
    writer.add(
        "BHT",
        "0019",
        "00",
        f"{interchange_control_number(interchange.interchange_control_number)}{control}",
        date8(created.date()),
        created.strftime("%H%M"),
        "CH",
    )
    _submitter(writer, interchange.submitter)
    writer.add(
        "NM1",
        "40",
        "2",
        _required_text(interchange.receiver.name, _NAME_LAST, "receiver.name"),
        None,
        None,
        None,
        None,
        "46",
        _required_id(interchange.receiver.identifier, "receiver.identifier", max_length=80),
    )
    hierarchy = _Hierarchy()
    for provider, group in _by_billing_provider(claims):
        billing_id = hierarchy.next()
        _billing_provider(writer, provider, billing_id, where=f"claims[{group[0][0]}]")
        for index, claim in group:
            _claim(writer, claim, hierarchy, billing_id, where=f"claims[{index}]")
    writer.add("SE", str(len(writer.segments) - start + 1), control)


def _by_billing_provider(
    claims: list[tuple[int, Claim]],
) -> Iterator[tuple[Provider, list[tuple[int, Claim]]]]:
    groups: dict[Provider, list[tuple[int, Claim]]] = {}
    for index, claim in claims:
        groups.setdefault(claim.billing_provider, []).append((index, claim))
    yield from groups.items()


def _submitter(writer: _Writer, submitter: Party) -> None:
    writer.add(
        "NM1",
        "41",
        "2",
        _required_text(submitter.name, _NAME_LAST, "submitter.name"),
        None,
        None,
        None,
        None,
        "46",
        _required_id(submitter.identifier, "submitter.identifier", max_length=80),
    )
    if not submitter.contact_phone:
        raise X12WriteError("submitter.contact_phone", "the submitter's EDI contact is required")
    writer.add(
        "PER",
        "IC",
        clean_text(submitter.contact_name, max_length=_CONTACT) or None,
        "TE",
        _digits(submitter.contact_phone, "submitter.contact_phone", lengths=(10,)),
    )


def _billing_provider(writer: _Writer, provider: Provider, hl_id: str, *, where: str) -> None:
    where = f"{where}.billing_provider"
    writer.add("HL", hl_id, None, "20", "1")
    if provider.taxonomy_code:
        writer.add(
            "PRV", "BI", "PXC", _required_id(provider.taxonomy_code, f"{where}.taxonomy_code")
        )
    writer.add("NM1", "85", *_provider_name(provider, where))
    if provider.address is None:
        raise X12WriteError(f"{where}.address", "the billing provider's address is required")
    _address(writer, provider.address, f"{where}.address", zip_lengths=(9,))
    if not provider.tax_id:
        raise X12WriteError(f"{where}.tax_id", "the billing provider's EIN is required")
    writer.add("REF", "EI", _digits(provider.tax_id, f"{where}.tax_id", lengths=(9,)))


def _claim(
    writer: _Writer, claim: Claim, hierarchy: _Hierarchy, parent: str, *, where: str
) -> None:
    coverage = claim.coverage
    subscriber = coverage.subscriber
    patient = claim.patient
    if patient is not None and coverage.relationship is Relationship.SELF:
        raise X12WriteError(
            f"{where}.coverage.relationship",
            "a patient other than the subscriber needs a relationship",
        )
    subscriber_id = hierarchy.next()
    writer.add("HL", subscriber_id, parent, "22", "0" if patient is None else "1")
    at = f"{where}.coverage"
    writer.add(
        "SBR",
        _code(coverage.payer_responsibility, _RESPONSIBILITY, f"{at}.payer_responsibility"),
        "18" if patient is None else None,
        _optional_id(coverage.group_number, f"{where}.coverage.group_number"),
        None if coverage.group_number else clean_text(coverage.plan_name, max_length=60) or None,
        None,
        None,
        None,
        None,
        _code(coverage.filing_indicator, _FILING, f"{at}.filing_indicator"),
    )
    # 2010BA subscriber: address and demographics when the subscriber is the patient
    _person_name(writer, "IL", subscriber, f"{where}.coverage.subscriber", member_id=True)
    if subscriber.address is not None:
        _address(writer, subscriber.address, f"{where}.coverage.subscriber.address")
    elif patient is None:
        raise X12WriteError(
            f"{where}.coverage.subscriber.address", "the subscriber's address is required"
        )
    if patient is None:
        _demographics(writer, subscriber, f"{where}.coverage.subscriber")
    # 2010BB payer
    _payer(writer, coverage.payer, f"{where}.coverage.payer")
    if patient is not None:
        writer.add("HL", hierarchy.next(), subscriber_id, "23", "0")
        writer.add("PAT", coverage.relationship.value)
        _person_name(writer, "QC", patient, f"{where}.patient", member_id=False)
        if patient.address is None:
            raise X12WriteError(f"{where}.patient.address", "the patient's address is required")
        _address(writer, patient.address, f"{where}.patient.address")
        _demographics(writer, patient, f"{where}.patient")
    _claim_information(writer, claim, where)


def _claim_information(writer: _Writer, claim: Claim, where: str) -> None:
    if not claim.lines:
        raise X12WriteError(f"{where}.lines", "a claim needs at least one service line")
    if len(claim.lines) > MAX_LINES_PER_CLAIM:
        raise X12WriteError(f"{where}.lines", f"at most {MAX_LINES_PER_CLAIM} lines per claim")
    writer.add(
        "CLM",
        # CLM01 holds 38, but receivers keep only 20: longer would not match the 835's CLP01
        _required_id(
            claim.patient_control_number, f"{where}.patient_control_number", max_length=20
        ),
        amount(claim.total_charge),
        None,
        None,
        (
            _code(claim.place_of_service, _PLACE_OF_SERVICE, f"{where}.place_of_service"),
            "B",
            claim.frequency.value,
        ),
        "Y" if claim.signature_on_file else "N",
        "A" if claim.assignment_accepted else "C",
        "Y" if claim.assignment_accepted else "N",
        _code(claim.release_of_information, _RELEASE, f"{where}.release_of_information"),
    )
    if claim.onset is not None:
        writer.add("DTP", "431", "D8", date8(claim.onset))
    if claim.frequency in (FrequencyCode.REPLACEMENT, FrequencyCode.VOID):
        if not claim.payer_claim_number:
            raise X12WriteError(
                f"{where}.payer_claim_number",
                "a replacement or void needs the payer's claim number",
            )
        writer.add(
            "REF", "F8", _required_id(claim.payer_claim_number, f"{where}.payer_claim_number")
        )
    writer.add("HI", *_diagnoses(claim, where))
    if claim.referring_provider is not None:
        referring = claim.referring_provider
        if not referring.is_person:
            raise X12WriteError(f"{where}.referring_provider", "a referring provider is a person")
        writer.add("NM1", "DN", *_provider_name(referring, f"{where}.referring_provider"))
    rendering = claim.rendering_provider
    if rendering is not None and rendering.npi != claim.billing_provider.npi:
        _rendering(writer, rendering, f"{where}.rendering_provider")
    for number, other in enumerate(claim.other_payers):
        _other_payer(writer, claim, other, f"{where}.other_payers[{number}]")
    payer_ids = {other.coverage.payer.identifier for other in claim.other_payers}
    for number, line in enumerate(claim.lines):
        _service_line(writer, claim, line, number, payer_ids, f"{where}.lines[{number}]")


def _diagnoses(claim: Claim, where: str) -> list[Element]:
    if not claim.diagnoses:
        raise X12WriteError(f"{where}.diagnoses", "a claim needs a principal diagnosis")
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        raise X12WriteError(f"{where}.diagnoses", f"at most {MAX_DIAGNOSES} diagnoses")
    return [
        (
            "ABK" if number == 0 else "ABF",
            _code(code.replace(".", "").upper(), _ICD10, f"{where}.diagnoses[{number}]"),
        )
        for number, code in enumerate(claim.diagnoses)
    ]


def _rendering(writer: _Writer, provider: Provider, where: str) -> None:
    writer.add("NM1", "82", *_provider_name(provider, where))
    if provider.taxonomy_code:
        writer.add(
            "PRV", "PE", "PXC", _required_id(provider.taxonomy_code, f"{where}.taxonomy_code")
        )


def _other_payer(writer: _Writer, claim: Claim, other: OtherPayer, where: str) -> None:
    coverage = other.coverage
    writer.add(
        "SBR",
        _code(
            coverage.payer_responsibility, _RESPONSIBILITY, f"{where}.coverage.payer_responsibility"
        ),
        coverage.relationship.value,
        _optional_id(coverage.group_number, f"{where}.coverage.group_number"),
        None if coverage.group_number else clean_text(coverage.plan_name, max_length=60) or None,
        None,
        None,
        None,
        None,
        _code(coverage.filing_indicator, _FILING, f"{where}.coverage.filing_indicator"),
    )
    _adjustments(writer, other.adjustments, where)
    writer.add("AMT", "D", amount(other.paid))
    if other.remaining_patient_liability is not None:
        writer.add("AMT", "EAF", amount(other.remaining_patient_liability))
    writer.add(
        "OI",
        None,
        None,
        "Y" if claim.assignment_accepted else "N",
        None,
        None,
        claim.release_of_information,
    )
    # 2330A the other subscriber, 2330B the other payer
    _person_name(writer, "IL", coverage.subscriber, f"{where}.coverage.subscriber", member_id=True)
    if coverage.subscriber.address is not None:
        _address(writer, coverage.subscriber.address, f"{where}.coverage.subscriber.address")
    _payer(writer, coverage.payer, f"{where}.coverage.payer")
    adjudicated_by_line = any(
        adjudication.payer_identifier == coverage.payer.identifier
        for line in claim.lines
        for adjudication in line.adjudications
    )
    if not adjudicated_by_line:  # the guide: the claim-level date only without 2430 dates
        writer.add("DTP", "573", "D8", date8(other.paid_on))


def _service_line(
    writer: _Writer,
    claim: Claim,
    line: ServiceLine,
    number: int,
    payer_ids: set[str],
    where: str,
) -> None:
    writer.add("LX", str(number + 1))
    if len(line.modifiers) > MAX_MODIFIERS:
        raise X12WriteError(f"{where}.modifiers", f"at most {MAX_MODIFIERS} modifiers")
    if not 1 <= len(line.diagnosis_pointers) <= MAX_POINTERS:
        raise X12WriteError(f"{where}.diagnosis_pointers", f"one to {MAX_POINTERS} pointers")
    for pointer in line.diagnosis_pointers:
        if not 1 <= pointer <= len(claim.diagnoses):
            raise X12WriteError(
                f"{where}.diagnosis_pointers", f"pointer {pointer} names no diagnosis"
            )
    place = line.place_of_service
    if place is not None:
        _code(place, _PLACE_OF_SERVICE, f"{where}.place_of_service")
    writer.add(
        "SV1",
        _procedure(line.procedure_code, line.modifiers, where),
        amount(line.charge),
        "UN",
        quantity(line.units),
        place if place and place != claim.place_of_service else None,
        None,
        tuple(str(pointer) for pointer in line.diagnosis_pointers),
    )
    writer.add("DTP", "472", "D8", date8(line.service_date))
    if line.line_control_number:
        at = f"{where}.line_control_number"  # the guide: receivers keep 30 characters
        writer.add("REF", "6R", _required_id(line.line_control_number, at, max_length=30))
    claim_rendering = claim.rendering_provider or claim.billing_provider
    if line.rendering_provider is not None and line.rendering_provider.npi != claim_rendering.npi:
        _rendering(writer, line.rendering_provider, f"{where}.rendering_provider")
    for count, adjudication in enumerate(line.adjudications):
        at = f"{where}.adjudications[{count}]"
        if adjudication.payer_identifier not in payer_ids:
            raise X12WriteError(f"{at}.payer_identifier", "names none of the claim's other payers")
        writer.add(
            "SVD",
            adjudication.payer_identifier,
            amount(adjudication.paid),
            _procedure(adjudication.procedure_code, adjudication.modifiers, at),
            None,
            quantity(adjudication.units),
        )
        _adjustments(writer, adjudication.adjustments, at)
        writer.add("DTP", "573", "D8", date8(adjudication.paid_on))


def _procedure(code: str, modifiers: tuple[str, ...], where: str) -> Element:
    return (
        "HC",
        _code(code, _PROCEDURE, f"{where}.procedure_code"),
        *(_code(modifier, _MODIFIER, f"{where}.modifiers") for modifier in modifiers),
    )


def _adjustments(writer: _Writer, adjustments: tuple[Adjustment, ...], where: str) -> None:
    """CAS: one segment per group code, up to six reason/amount/quantity triples each."""
    by_group: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    rows: list[tuple[str, list[Adjustment]]] = []
    for group, items in by_group.items():
        for start in range(0, len(items), MAX_CAS_TRIPLES):
            rows.append((group, items[start : start + MAX_CAS_TRIPLES]))
    if len(rows) > MAX_CAS_SEGMENTS:
        raise X12WriteError(f"{where}.adjustments", "too many adjustments for five CAS segments")
    for group, items in rows:
        elements: list[Element] = [_code(group, _CAS_GROUP, f"{where}.adjustments")]
        for item in items:
            elements += [
                _code(item.reason, _CARC, f"{where}.adjustments"),
                amount(item.amount),
                quantity(item.quantity) if item.quantity is not None else None,
            ]
        writer.add("CAS", *elements)


def _provider_name(provider: Provider, where: str) -> list[Element]:
    """NM102 to NM109 for a provider: a person (1) or an organisation (2), with the NPI."""
    npi = _digits(provider.npi, f"{where}.npi", lengths=(10,))
    if provider.is_person:
        return [
            "1",
            _required_text(provider.last_name, _NAME_LAST, f"{where}.last_name"),
            _required_text(provider.first_name, _NAME_FIRST, f"{where}.first_name"),
            None,
            None,
            None,
            "XX",
            npi,
        ]
    return [
        "2",
        _required_text(provider.last_name, _NAME_LAST, f"{where}.last_name"),
        None,
        None,
        None,
        None,
        "XX",
        npi,
    ]


def _person_name(
    writer: _Writer, entity: str, person: Person, where: str, *, member_id: bool
) -> None:
    identifier: list[Element] = []
    if member_id:
        if not person.member_id:
            raise X12WriteError(f"{where}.member_id", "the subscriber's member id is required")
        identifier = [
            None,
            None,
            None,
            "MI",
            _required_id(person.member_id, f"{where}.member_id", max_length=80),
        ]
    writer.add(
        "NM1",
        entity,
        "1",
        _required_text(person.last_name, _NAME_LAST, f"{where}.last_name"),
        _required_text(person.first_name, _NAME_FIRST, f"{where}.first_name"),
        *identifier,
    )


def _demographics(writer: _Writer, person: Person, where: str) -> None:
    writer.add("DMG", "D8", date8(person.date_of_birth), _code(person.sex, _SEX, f"{where}.sex"))


def _payer(writer: _Writer, payer: Party, where: str) -> None:
    writer.add(
        "NM1",
        "PR",
        "2",
        _required_text(payer.name, _NAME_LAST, f"{where}.name"),
        None,
        None,
        None,
        None,
        "PI",
        _required_id(payer.identifier, f"{where}.identifier", max_length=80),
    )
    if payer.address is not None:
        _address(writer, payer.address, f"{where}.address")


def _address(
    writer: _Writer, address: Address, where: str, *, zip_lengths: tuple[int, ...] = (5, 9)
) -> None:
    """N3/N4; the billing provider's ZIP must have nine digits (the guide says so)."""
    writer.add(
        "N3",
        _required_text(address.line1, _ADDRESS, f"{where}.line1"),
        clean_text(address.line2, max_length=_ADDRESS) or None,
    )
    writer.add(
        "N4",
        _required_text(address.city, _CITY, f"{where}.city"),
        _code(address.state.upper(), _STATE, f"{where}.state"),
        _digits(address.postal_code, f"{where}.postal_code", lengths=zip_lengths),
    )


def _required_text(value: str | None, max_length: int, where: str) -> str:
    text = clean_text(value, max_length=max_length)
    if not text:
        raise X12WriteError(where, "is required and has nothing X12 can carry")
    return text


def _required_id(value: str | None, where: str, *, max_length: int = 50) -> str:
    """An identifier, written as given: refused, never altered, if X12 cannot carry it."""
    text = (value or "").strip()
    if not text:
        raise X12WriteError(where, "is required")
    if len(text) > max_length:
        raise X12WriteError(where, f"is longer than {max_length} characters")
    if not is_carriable(text):
        raise X12WriteError(where, "holds characters X12 cannot carry")
    return text


def _optional_id(value: str | None, where: str) -> str | None:
    return _required_id(value, where) if value else None


def _code(value: str | None, pattern: re.Pattern[str], where: str) -> str:
    """A code from a fixed list or shape (sex, state, modifier, group code...)."""
    if value is None or not pattern.fullmatch(value):
        raise X12WriteError(where, f"{value!r} is not a valid code here")
    return value


def _digits(value: str, where: str, *, lengths: tuple[int, ...]) -> str:
    """Phone numbers, NPIs, EINs and ZIP codes: digits only (dashes and spaces dropped)."""
    digits = "".join(character for character in value if character.isdigit())
    if not digits.isascii() or len(digits) not in lengths:
        raise X12WriteError(where, f"needs {' or '.join(map(str, lengths))} digits")
    return digits
