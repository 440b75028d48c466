"""Eligibility (005010X279A1): a 270 request for one subscriber, and the 271 answer read into
what the front desk needs: is the coverage active, the copay, coinsurance, deductible left.

pyx12 4.0.0 ships no 5010 map for 270/271, so a built 270 is checked against the guide's
structure (the shared samples) and our own envelope reader, not by pyx12.

    271: HL 20 payer (NM1*PR, AAA) ─ HL 21 provider (NM1*1P, AAA)
           └ HL 22 subscriber (TRN, NM1*IL, DMG, DTP, AAA, EB…; LS/LE wraps EB-level names)
               └ HL 23 dependent (same)        one `EligibilityResponse` per HL 22/23
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from backoffice.billing.claim import Interchange, Party, Person, Provider
from backoffice.billing.x12.reading import Segment, X12ReadError, read_interchange
from backoffice.billing.x12.segments import (
    DEFAULT_SEPARATORS,
    Element,
    X12WriteError,
    clean_text,
    date8,
    group_control_number,
    interchange_control_number,
    is_carriable,
    isa_segment,
    segment,
    transaction_set_control_number,
)

__all__ = ["Benefit", "EligibilityResponse", "build_270", "read_271"]

IMPLEMENTATION_GUIDE = "005010X279A1"
HEALTH_BENEFIT_PLAN_COVERAGE = "30"
ACTIVE_CODES = frozenset("12345")
INACTIVE_CODES = frozenset("678")
REMAINING = "29"  # EB06 time period: what is left


def build_270(
    interchange: Interchange,
    *,
    payer: Party,
    provider: Provider,
    subscriber: Person,
    trace_number: str,
    service_date: date,
    created: datetime,
    service_types: tuple[str, ...] = (HEALTH_BENEFIT_PLAN_COVERAGE,),
) -> str:
    """One interchange asking `payer` about one subscriber's benefits on `service_date`.
    TRN03 (who traced it) is '1' + the provider's EIN, as the guide asks."""
    for where, value in (
        ("trace_number", trace_number),
        ("subscriber.member_id", subscriber.member_id or ""),
        ("payer.identifier", payer.identifier),
        ("provider.npi", provider.npi),
    ):
        if not value or not is_carriable(value):
            raise X12WriteError(where, "is missing or holds characters X12 cannot carry")
    if not provider.tax_id or not provider.tax_id.isdigit() or len(provider.tax_id) != 9:
        raise X12WriteError("provider.tax_id", "needs the nine-digit EIN (TRN03)")
    if not service_types or len(service_types) > 99 or not all(service_types):
        raise X12WriteError("service_types", "one to 99 service type codes")
    body: list[str] = []

    def add(segment_id: str, *elements: Element) -> None:
        body.append(segment(segment_id, *elements, separators=DEFAULT_SEPARATORS))

    set_number = transaction_set_control_number(1)
    add("ST", "270", set_number, IMPLEMENTATION_GUIDE)
    add("BHT", "0022", "13", trace_number, date8(created.date()), created.strftime("%H%M"))
    add("HL", "1", "", "20", "1")
    add(
        "NM1",
        "PR",
        "2",
        clean_text(payer.name, max_length=60),
        "",
        "",
        "",
        "",
        "PI",
        payer.identifier,
    )
    add("HL", "2", "1", "21", "1")
    if provider.is_person:
        add(
            "NM1",
            "1P",
            "1",
            clean_text(provider.last_name, max_length=60),
            clean_text(provider.first_name, max_length=35),
            "",
            "",
            "",
            "XX",
            provider.npi,
        )
    else:
        name = clean_text(provider.last_name, max_length=60)
        add("NM1", "1P", "2", name, "", "", "", "", "XX", provider.npi)
    add("HL", "3", "2", "22", "0")
    add("TRN", "1", trace_number, "1" + provider.tax_id)
    add(
        "NM1",
        "IL",
        "1",
        clean_text(subscriber.last_name, max_length=60),
        clean_text(subscriber.first_name, max_length=35),
        "",
        "",
        "",
        "MI",
        subscriber.member_id,
    )
    sex = subscriber.sex if subscriber.sex in {"M", "F"} else None
    add("DMG", "D8", date8(subscriber.date_of_birth), sex)
    add("DTP", "291", "D8", date8(service_date))
    for code in service_types:  # each checked alone: the repeats are joined by ISA11
        segment("EQ", code, separators=DEFAULT_SEPARATORS)
    body.append(
        DEFAULT_SEPARATORS.element.join(["EQ", DEFAULT_SEPARATORS.repetition.join(service_types)])
    )
    add("SE", str(len(body) + 1), set_number)
    group = group_control_number(interchange.group_control_number)
    isa = isa_segment(
        sender_qualifier=interchange.sender_qualifier,
        sender_id=interchange.sender_id,
        receiver_qualifier=interchange.receiver_qualifier,
        receiver_id=interchange.receiver_id,
        created=created,
        control_number=interchange.interchange_control_number,
        production=interchange.production,
    )
    envelope_head = [
        isa,
        segment(
            "GS",
            "HS",
            interchange.sender_id,
            interchange.receiver_id,
            date8(created.date()),
            created.strftime("%H%M"),
            group,
            "X",
            IMPLEMENTATION_GUIDE,
        ),
    ]
    tail = [
        segment("GE", "1", group),
        segment("IEA", "1", interchange_control_number(interchange.interchange_control_number)),
    ]
    terminator = DEFAULT_SEPARATORS.segment + "\n"
    return terminator.join(envelope_head + body + tail) + terminator


# --- reading a 271 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Benefit:
    """One EB segment."""

    code: str  # EB01: 1 active, 6 inactive, A coinsurance, B copay, C deductible, G out of pocket
    coverage_level: str | None = None  # EB02: IND, FAM, …
    service_types: tuple[str, ...] = ()  # EB03 (repeats)
    insurance_type: str | None = None  # EB04
    plan_description: str | None = None  # EB05
    time_period: str | None = None  # EB06: 23 calendar year, 27 visit, 29 remaining, …
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08: 0.2 is 20 %
    in_network: bool | None = None  # EB12: Y in, N out, W/absent either


@dataclass(frozen=True)
class Rejection:
    """An AAA segment: the payer could not answer (EB-less), with its reason and advice."""

    reason: str  # AAA03: 42 unable to respond now, 72 invalid member id, 75 not found, …
    follow_up: str | None  # AAA04: C correct and resubmit, N do not resubmit, R resubmit, …
    position: int


@dataclass(frozen=True)
class EligibilityResponse:
    """The payer's answer about one patient (subscriber or dependent)."""

    payer_name: str
    payer_identifier: str | None
    member_id: str | None  # the subscriber's (NM1*IL NM109)
    is_dependent: bool
    trace_numbers: tuple[str, ...]  # TRN*2: our TRN*1 echoed back
    benefits: tuple[Benefit, ...]
    rejections: tuple[Rejection, ...]
    plan_begin: date | None = None  # DTP*346
    notes: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool | None:
        """True or False when the payer said so; None when it did not (a rejection)."""
        codes = {b.code for b in self.benefits}
        if codes & ACTIVE_CODES:
            return True
        return False if codes & INACTIVE_CODES else None

    @property
    def plan_name(self) -> str | None:
        return next(
            (
                b.plan_description
                for b in self.benefits
                if b.code in ACTIVE_CODES and b.plan_description
            ),
            None,
        )

    def _in_network(self, code: str, *, time_period: str | None = None) -> list[Benefit]:
        """In-network benefits of one kind; the plain office visit (30) or no service type first."""
        found = [
            b
            for b in self.benefits
            if b.code == code
            and b.in_network is not False
            and (time_period is None or b.time_period == time_period)
        ]
        return sorted(
            found,
            key=lambda b: (
                bool(b.service_types) and HEALTH_BENEFIT_PLAN_COVERAGE not in b.service_types,
                b.coverage_level not in {None, "IND"},
            ),
        )

    @property
    def copay(self) -> Decimal | None:
        found = [b for b in self._in_network("B") if b.amount is not None]
        return found[0].amount if found else None

    @property
    def coinsurance(self) -> Decimal | None:
        """The patient's share as a fraction (0.2 for 20 %)."""
        found = [b for b in self._in_network("A") if b.percent is not None]
        return found[0].percent if found else None

    @property
    def deductible_remaining(self) -> Decimal | None:
        found = [b for b in self._in_network("C", time_period=REMAINING) if b.amount is not None]
        return found[0].amount if found else None


def _decimal(seg: Segment, n: int) -> Decimal | None:
    value = seg.element(n)
    if not value:
        return None
    try:
        return Decimal(value)
    except ArithmeticError:
        raise seg.fail(f"{seg.id}{n:02d} {value[:15]!r} is not a number") from None


def _benefit(seg: Segment) -> Benefit:
    code = seg.element(1)
    if not code:
        raise seg.fail("EB01 (the benefit code) is missing")
    network = seg.element(12)
    types = seg.element(3)
    repetition = seg.repetition_separator
    return Benefit(
        code=code,
        coverage_level=seg.element(2) or None,
        service_types=tuple(types.split(repetition))
        if types and repetition
        else ((types,) if types else ()),
        insurance_type=seg.element(4) or None,
        plan_description=seg.element(5) or None,
        time_period=seg.element(6) or None,
        amount=_decimal(seg, 7),
        percent=_decimal(seg, 8),
        in_network={"Y": True, "N": False}.get(network),
    )


@dataclass
class _Patient:
    level: str
    has_dependents: bool
    member_id: str | None = None
    traces: list[str] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    plan_begin: date | None = None


def read_271(text: str) -> list[EligibilityResponse]:
    """Every patient answered in a 271 interchange, in file order; all or none. An answer
    with no patient level (the payer rejected the request) is one response with rejections."""
    responses: list[EligibilityResponse] = []
    for ts in read_interchange(text, functional_id="HB", version=IMPLEMENTATION_GUIDE):
        st = ts.segments[0]
        if st.element(1) != "271":
            raise st.fail(f"ST01 is {st.element(1)[:4]!r}, not 271")
        payer_name = payer_id = None
        member_id: str | None = None
        shared_rejections: list[Rejection] = []
        patients: list[_Patient] = []
        level = ""
        in_ls = False
        for seg in ts.segments[1:-1]:
            if seg.id == "HL":
                level = seg.element(3)
                if level not in {"20", "21", "22", "23"}:
                    raise seg.fail(f"HL03 {level[:3]!r} is not a 271 level (20-23)")
                if level in {"22", "23"}:
                    patients.append(_Patient(level, seg.element(4) == "1", member_id))
                in_ls = False
            elif seg.id == "LS":
                in_ls = True
            elif seg.id == "LE":
                in_ls = False
            elif in_ls:
                continue  # names inside an EB's LS/LE loop (e.g. the primary care provider)
            elif seg.id == "NM1" and level == "20" and seg.element(1) == "PR":
                payer_name, payer_id = seg.element(3) or None, seg.element(9) or None
            elif seg.id == "NM1" and level == "22" and seg.element(1) == "IL":
                member_id = seg.element(9) or None
                patients[-1].member_id = member_id
            elif seg.id == "TRN" and patients:
                patients[-1].traces.append(seg.element(2))
            elif seg.id == "EB":
                if not patients:
                    raise seg.fail("EB before the subscriber (HL 22)")
                patients[-1].benefits.append(_benefit(seg))
            elif seg.id == "AAA":
                rejection = Rejection(seg.element(3), seg.element(4) or None, seg.position)
                (patients[-1].rejections if patients else shared_rejections).append(rejection)
            elif (
                seg.id == "DTP" and patients and seg.element(1) == "346" and seg.element(2) == "D8"
            ):
                value = seg.element(3)
                try:
                    patients[-1].plan_begin = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
                except ValueError:
                    raise seg.fail("DTP03 is not a date") from None
        if payer_name is None:
            raise st.fail("the transaction set has no NM1*PR (the payer)")
        # A subscriber level that only leads to its dependents is not an answer of its own.
        patients = [p for p in patients if p.benefits or p.rejections or not p.has_dependents]
        if not patients:
            patients = [_Patient("22", False)]
        for patient in patients:
            responses.append(
                EligibilityResponse(
                    payer_name=payer_name,
                    payer_identifier=payer_id,
                    member_id=patient.member_id,
                    is_dependent=patient.level == "23",
                    trace_numbers=tuple(patient.traces),
                    benefits=tuple(patient.benefits),
                    rejections=tuple(shared_rejections + patient.rejections),
                    plan_begin=patient.plan_begin,
                    notes=ts.notes,
                )
            )
    if not responses:
        raise X12ReadError("the interchange holds no transaction set")
    return responses
