"""Open-slot search and concurrent booking at clinic scale, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.slot_search [--backend sqlite|postgresql|both]
        [--providers 50] [--days 90] [--appointments 20000] [--clients 32]

For each backend: a fresh database (an SQLite file in a temporary directory; the PostgreSQL
database `frontdesk_bench_slots`, dropped and recreated), migrated with
`backoffice.migrate.upgrade`, then loaded with a seeded clinic:

* two locations (America/New_York and America/Chicago) and 50 providers with weekly
  templates: weekdays with a lunch break, some half days and four-day weeks, a few who work
  at both locations, a few whose hours change part-way (rules that expire and rules that
  start), Saturday extra sessions; PTO weeks, days and afternoons, the US holidays in the
  span and two clinic closures;
* six appointment types (15/20/30/30/45/60 min, some with buffers), a 'procedure' type
  whose providers have not_back_to_back={'procedure'}, a few providers with max_per_day;
* 20,000 live appointments over the `--days` days from next Monday (future by the real
  clock), placed one by one with the product's own pure slot engine (`slot_problem`,
  `find_open_slots`) so that none overlaps, none breaks a rule and the near weeks are
  fuller than the far ones; plus cancelled ones (which hold no time) and a year of past,
  finished appointments (what the provider/span index has to walk past). On PostgreSQL
  the exclusion constraint `appointments_no_double_booking` checks the generator during
  the COPY; on both, an SQL self-join counts overlaps after the load.

Measured afterwards, through the real code:

* slot search: `scheduling_service.search_slots` (in a session, committed, as the router
  does) and GET /api/v1/slots through a FastAPI TestClient signed in as a front-desk user,
  interleaved; one provider over 1, 7 and 90 days, any provider of a type at one location
  over 1 and 7 days. Each service call is split into SQL (time inside the driver's
  execute), the pure engine (`working_intervals` + `find_open_slots`) and the rest (ORM,
  pydantic, glue); a case whose median misses the 50 ms target is profiled with cProfile.
* booking: N client threads, each attempt in its own Session (its own pooled connection)
  calling `scheduling_service.book_appointment` and committing. The clients contend on
  purpose: in each round they all pick from the open slots (several types, so the slots
  overlap) of the same 3 providers on the same day, as seen before the round, and move
  to the next day when the round's list is used up. Refusals (409 SlotUnavailable) are
  told apart by where they came from: the service's check, or the database (the
  exclusion constraint, when a race got past the check). Afterwards: overlapping live
  appointments of one provider in one lane (SQL), days over max_per_day and procedures
  back to back (Python) are counted; all should be zero.

Figures are printed as a table and written to benchmarks/results/slot_search-<backend>.json.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import gc
import itertools
import json
import logging
import os
import pstats
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from backoffice.app import create_app
from backoffice.clinic.models import Location, Provider, ProviderLocation
from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.patients.models import Patient
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentType,
    AppointmentTypeProvider,
    ScheduleException,
    ScheduleRule,
)
from backoffice.scheduling.schemas import AppointmentCreate
from backoffice.scheduling.slots import (
    Booking,
    Calendar,
    Interval,
    ProviderRules,
    SlotRequest,
    WeeklyRule,
    find_open_slots,
    slot_problem,
    working_intervals,
)
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher, load_keyring
from backoffice.security.principal import Principal, RequestOrigin
from backoffice.settings import Settings
from benchmarks.patient_search import (
    DEFAULT_POSTGRES_URL,
    RESULTS_DIR,
    AppTimes,
    BackendRun,
    Population,
    StatementLog,
    _environment,
    _server_version,
    build_rows,
    bulk_insert,
    front_desk_user,
    summarize,
)
from shared.enums import PatientStatus, PrincipalKind, Role
from shared.validators import npi_with_check_digit

log = logging.getLogger("benchmarks.slot_search")

BENCH_DATABASE = "frontdesk_bench_slots"
TARGET_MS = 50.0  # the target: slot search under 50 ms median
STEP = timedelta(minutes=15)  # SlotRequest's default step, what search_slots uses
LOAD_ACTOR = "bench-load"

# name, time zone, street, city, state, ZIP
LOCATIONS = [
    ("Springfield Family Practice", "America/New_York", "1 Main St", "Springfield", "MA", "01103"),
    ("Chicago Loop Clinic", "America/Chicago", "200 W Madison St", "Chicago", "IL", "60606"),
]


@dataclass(frozen=True)
class TypeSpec:
    code: str
    name: str
    minutes: int
    category: str
    before: int  # buffer minutes
    after: int
    weight: float  # share of the load's bookings, among the provider's types

    def request(self) -> SlotRequest:
        return SlotRequest(
            duration=timedelta(minutes=self.minutes),
            category=self.category,
            buffer_before=timedelta(minutes=self.before),
            buffer_after=timedelta(minutes=self.after),
        )


TYPES = [
    TypeSpec("FU15", "Follow-up visit", 15, "primary_care", 0, 0, 25),
    TypeSpec("EST20", "Established patient visit", 20, "primary_care", 0, 0, 35),
    TypeSpec("TELE30", "Telehealth visit", 30, "telehealth", 0, 0, 10),
    TypeSpec("SPEC30", "Specialist consult", 30, "specialist", 0, 5, 10),
    TypeSpec("PROC45", "Minor procedure", 45, "procedure", 10, 15, 8),
    TypeSpec("NEW60", "New patient visit", 60, "primary_care", 0, 10, 12),
]
SEARCH_TYPE = "EST20"  # the type the search cases ask for (nearly every provider offers it)
SPECIALTIES = [
    ("207Q00000X", "Family Medicine"),
    ("207R00000X", "Internal Medicine"),
    ("208000000X", "Pediatrics"),
    ("207N00000X", "Dermatology"),
    ("207X00000X", "Orthopaedic Surgery"),
]


# --- the clinic, as a plan in memory ---------------------------------------------------------


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month (n = -1: the last one)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_holidays(year: int) -> dict[date, str]:
    """Federal holidays a practice closes for, on their observed weekday."""
    fixed = {
        date(year, 1, 1): "New Year's Day",
        date(year, 6, 19): "Juneteenth",
        date(year, 7, 4): "Independence Day",
        date(year, 12, 25): "Christmas Day",
    }
    out = {}
    for day, name in fixed.items():
        shift = {5: -1, 6: 1}.get(day.weekday(), 0)
        out[day + timedelta(days=shift)] = name
    out[nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    out[nth_weekday(year, 2, 0, 3)] = "Presidents' Day"
    out[nth_weekday(year, 5, 0, -1)] = "Memorial Day"
    out[nth_weekday(year, 9, 0, 1)] = "Labor Day"
    out[nth_weekday(year, 11, 3, 4)] = "Thanksgiving"
    return out


def dst_changes(zone: ZoneInfo, first: date, last: date) -> list[str]:
    """Local dates in [first, last] on which the zone's UTC offset changes."""
    out = []
    day = first
    prev = datetime.combine(day - timedelta(days=1), clock(12), tzinfo=zone).utcoffset()
    while day <= last:
        offset = datetime.combine(day, clock(12), tzinfo=zone).utcoffset()
        if offset != prev:
            out.append(f"{day.isoformat()} ({zone.key}: UTC{_hours(prev)} -> UTC{_hours(offset)})")
        prev = offset
        day += timedelta(days=1)
    return out


def _hours(offset: timedelta | None) -> str:
    hours = (offset or timedelta(0)).total_seconds() / 3600
    return f"{hours:+.0f}"


@dataclass
class ProviderPlan:
    index: int
    id: uuid.UUID
    locations: list[int]  # indexes into LOCATIONS
    types: list[str]  # codes
    max_per_day: int | None
    not_back_to_back: list[str]
    busyness: float
    rules: list[dict[str, Any]] = field(default_factory=list)  # schedule_rules rows

    @property
    def provider_rules(self) -> ProviderRules:
        return ProviderRules(self.max_per_day, frozenset(self.not_back_to_back))


@dataclass
class Cell:
    """One provider's working day at one location: where the load places appointments."""

    provider: ProviderPlan
    location: int
    day: date
    working: list[Interval]
    bookings: list[Booking]  # shared by the provider's cells of that day
    weight: float
    full: bool = False


@dataclass
class Clinic:
    first_day: date
    last_day: date
    location_ids: list[uuid.UUID]
    zones: list[ZoneInfo]
    type_ids: dict[str, uuid.UUID]
    providers: list[ProviderPlan]
    tables: dict[str, list[dict[str, Any]]]  # table name -> rows, in load order
    cells: list[Cell]
    holidays: list[str]
    dst: list[str]
    stats: dict[str, Any] = field(default_factory=dict)
    bookable_patients: list[uuid.UUID] = field(default_factory=list)

    def zone_of(self, location: int) -> ZoneInfo:
        return self.zones[location]

    def local_midnight(self, day: date, location: int) -> datetime:
        return datetime.combine(day, clock(0), tzinfo=self.zones[location])


def _rid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _hm(t: clock) -> str:
    return t.strftime("%H:%M")


def plan_clinic(args: argparse.Namespace, *, first_day: date, rng: random.Random) -> Clinic:
    """Locations, providers, types, weekly rules and exceptions (no appointments yet)."""
    last_day = first_day + timedelta(days=args.days - 1)
    zones = [ZoneInfo(tz) for _, tz, *_ in LOCATIONS]
    created = datetime.now(UTC) - timedelta(days=400)
    locations = []
    for name, tz, street, city, state, postal in LOCATIONS:
        locations.append(
            {
                "id": _rid(rng),
                "name": name,
                "timezone": tz,
                "address_line1": street,
                "address_city": city,
                "address_state": state,
                "address_postal_code": postal,
                "phone": None,
                "active": True,
                "created_at": created,
            }
        )
    location_ids = [row["id"] for row in locations]
    types = [
        {
            "id": _rid(rng),
            "code": spec.code,
            "name": spec.name,
            "duration_minutes": spec.minutes,
            "category": spec.category,
            "buffer_before_minutes": spec.before,
            "buffer_after_minutes": spec.after,
            "active": True,
            "created_at": created,
        }
        for spec in TYPES
    ]
    type_ids = {row["code"]: row["id"] for row in types}
    names = Population(random.Random(args.seed + 7))
    providers: list[ProviderPlan] = []
    provider_rows, provider_locations, type_links, rules = [], [], [], []
    template_change = first_day + timedelta(days=args.days // 2)
    for i in range(args.providers):
        # 6 in 10 in New York, 3 in Chicago, 1 at both (Mon-Wed New York, Thu-Fri Chicago)
        where = [0] if i % 10 < 6 else [1] if i % 10 < 9 else [0, 1]
        offered = ["FU15", "EST20"]
        if rng.random() < 0.8:
            offered.append("NEW60")
        if rng.random() < 0.6:
            offered.append("TELE30")
        proceduralist = i % 4 == 3
        specialist = proceduralist or i % 5 == 1
        if specialist:
            offered.append("SPEC30")
        if proceduralist:
            offered.append("PROC45")
        taxonomy, specialty = SPECIALTIES[(3 + i % 2) if specialist else i % 3]
        plan = ProviderPlan(
            index=i,
            id=_rid(rng),
            locations=where,
            types=offered,
            max_per_day=rng.choice([10, 12, 14]) if i % 8 == 5 else None,
            not_back_to_back=["procedure"] if proceduralist else [],
            busyness=rng.uniform(0.7, 1.3),
        )
        providers.append(plan)
        sex = rng.choice(["female", "male"])
        provider_rows.append(
            {
                "id": plan.id,
                "first_name": names.first_name(sex),
                "last_name": names.last_name(),
                "credentials": rng.choice(["MD", "MD", "DO", "NP", "PA-C"]),
                "npi": npi_with_check_digit(f"{170_000_000 + i:09d}"),
                "taxonomy_code": taxonomy,
                "specialty": specialty,
                "max_per_day": plan.max_per_day,
                "not_back_to_back": plan.not_back_to_back,
                "active": True,
                "created_at": created,
            }
        )
        provider_locations += [
            {"provider_id": plan.id, "location_id": location_ids[k]} for k in where
        ]
        type_links += [
            {"appointment_type_id": type_ids[c], "provider_id": plan.id} for c in offered
        ]
        # The weekly template.
        start_hour = rng.choice([clock(7, 30), clock(8), clock(8), clock(8, 30), clock(9)])
        start_dt = datetime.combine(first_day, start_hour)
        end_hour = (start_dt + timedelta(hours=9)).time()
        lunch = (clock(12), clock(13)) if start_hour <= clock(8) else (clock(12, 30), clock(13, 30))
        weekdays = list(range(5))
        if rng.random() < 0.2:
            weekdays.remove(rng.choice(weekdays))  # a four-day week
        half_day = rng.choice(weekdays) if rng.random() < 0.4 else None
        morning_half = rng.random() < 0.5
        changes = rng.random() < 0.1  # new hours from the middle of the span
        for weekday in weekdays:
            location = where[0] if len(where) == 1 else (where[0] if weekday < 3 else where[1])
            if weekday == half_day:
                spans = [(start_hour, lunch[0], [])] if morning_half else [(lunch[1], end_hour, [])]
            else:
                spans = [(start_hour, end_hour, [[_hm(lunch[0]), _hm(lunch[1])]])]
            for begin, end, breaks in spans:
                base = {
                    "provider_id": plan.id,
                    "location_id": location_ids[location],
                    "weekday": weekday,
                    "start_time": begin,
                    "end_time": end,
                    "breaks": breaks,
                }
                if changes:
                    later = (datetime.combine(first_day, begin) + timedelta(hours=1)).time()
                    later_end = (datetime.combine(first_day, end) + timedelta(hours=1)).time()
                    plan.rules.append(
                        {
                            **base,
                            "id": _rid(rng),
                            "effective_date": first_day - timedelta(days=400),
                            "expiration_date": template_change,
                        }
                    )
                    plan.rules.append(
                        {
                            **base,
                            "id": _rid(rng),
                            "start_time": later,
                            "end_time": later_end,
                            "effective_date": template_change + timedelta(days=1),
                            "expiration_date": None,
                        }
                    )
                else:
                    plan.rules.append(
                        {
                            **base,
                            "id": _rid(rng),
                            "effective_date": first_day - timedelta(days=400),
                            "expiration_date": None,
                        }
                    )
        rules += plan.rules

    # Exceptions: PTO, holidays, closures, extra sessions.
    exceptions: list[dict[str, Any]] = []

    def exception(
        kind: str,
        start: datetime,
        end: datetime,
        *,
        provider: uuid.UUID | None = None,
        location: uuid.UUID | None = None,
        reason: str | None = None,
    ) -> None:
        exceptions.append(
            {
                "id": _rid(rng),
                "kind": kind,
                "provider_id": provider,
                "location_id": location,
                "starts_at": start.astimezone(UTC),
                "ends_at": end.astimezone(UTC),
                "reason": reason,
            }
        )

    mondays = [first_day + timedelta(days=7 * w) for w in range(args.days // 7)]
    for plan in providers:
        zone = zones[plan.locations[0]]
        if rng.random() < 0.4 and mondays:
            monday = rng.choice(mondays)
            exception(
                "pto",
                datetime.combine(monday, clock(0), tzinfo=zone),
                datetime.combine(monday + timedelta(days=5), clock(0), tzinfo=zone),
                provider=plan.id,
                reason="vacation",
            )
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 2)):
                day = first_day + timedelta(days=rng.randrange(args.days))
                exception(
                    "pto",
                    datetime.combine(day, clock(0), tzinfo=zone),
                    datetime.combine(day + timedelta(days=1), clock(0), tzinfo=zone),
                    provider=plan.id,
                    reason="personal day",
                )
        if rng.random() < 0.1:
            day = first_day + timedelta(days=rng.randrange(args.days))
            exception(
                "pto",
                datetime.combine(day, clock(13), tzinfo=zone),
                datetime.combine(day, clock(18), tzinfo=zone),
                provider=plan.id,
                reason="afternoon off",
            )
        if plan.index % 10 == 2 and args.days >= 14:  # Saturday mornings, twice
            for week in rng.sample(range(args.days // 7), 2):
                saturday = first_day + timedelta(days=7 * week + 5)
                exception(
                    "extra_session",
                    datetime.combine(saturday, clock(9), tzinfo=zone),
                    datetime.combine(saturday, clock(12), tzinfo=zone),
                    provider=plan.id,
                    location=location_ids[plan.locations[0]],
                    reason="Saturday clinic",
                )
    holidays = {}
    for year in range(first_day.year, last_day.year + 1):
        holidays.update(us_holidays(year))
    in_span = sorted((d, n) for d, n in holidays.items() if first_day <= d <= last_day)
    for day, name in in_span:
        for k, zone in enumerate(zones):
            exception(
                "holiday",
                datetime.combine(day, clock(0), tzinfo=zone),
                datetime.combine(day + timedelta(days=1), clock(0), tzinfo=zone),
                location=location_ids[k],
                reason=name,
            )
    if args.days >= 35:
        closed = first_day + timedelta(days=4 * 7 + 4)  # a Friday: building maintenance
        exception(
            "closure",
            datetime.combine(closed, clock(0), tzinfo=zones[0]),
            datetime.combine(closed + timedelta(days=1), clock(0), tzinfo=zones[0]),
            location=location_ids[0],
            reason="building maintenance",
        )
        training = first_day + timedelta(days=2 * 7 + 2)  # a Wednesday afternoon
        exception(
            "closure",
            datetime.combine(training, clock(12), tzinfo=zones[1]),
            datetime.combine(training, clock(18), tzinfo=zones[1]),
            location=location_ids[1],
            reason="staff training",
        )

    # Working time per provider and location, from the product's own engine, split into days.
    cells: list[Cell] = []
    day_bookings: dict[tuple[int, date], list[Booking]] = defaultdict(list)
    for plan in providers:
        for k in plan.locations:
            lid = location_ids[k]
            mine = [
                e
                for e in exceptions
                if e["provider_id"] in (None, plan.id) and e["location_id"] in (None, lid)
            ]
            working = working_intervals(
                rules=[
                    WeeklyRule(
                        r["weekday"],
                        r["start_time"],
                        r["end_time"],
                        r["effective_date"],
                        r["expiration_date"],
                        tuple(
                            (clock.fromisoformat(a), clock.fromisoformat(b)) for a, b in r["breaks"]
                        ),
                    )
                    for r in plan.rules
                    if r["location_id"] == lid
                ],
                zone=zones[k],
                first_day=first_day,
                last_day=last_day,
                extra_sessions=[
                    Interval(e["starts_at"], e["ends_at"])
                    for e in mine
                    if e["kind"] == "extra_session" and e["provider_id"] == plan.id
                ],
                closures=[
                    Interval(e["starts_at"], e["ends_at"])
                    for e in mine
                    if e["kind"] in scheduling_service.CLOSING_KINDS
                ],
            )
            by_day: dict[date, list[Interval]] = defaultdict(list)
            for interval in working:
                by_day[interval.start.astimezone(zones[k]).date()].append(interval)
            for day, intervals in sorted(by_day.items()):
                ahead = (day - first_day).days / max(args.days, 1)
                cells.append(
                    Cell(
                        provider=plan,
                        location=k,
                        day=day,
                        working=intervals,
                        bookings=day_bookings[(plan.index, day)],
                        weight=(1.6 - ahead) * plan.busyness,
                    )
                )
    tables = {
        "locations": locations,
        "providers": provider_rows,
        "provider_locations": provider_locations,
        "appointment_types": types,
        "appointment_type_providers": type_links,
        "schedule_rules": rules,
        "schedule_exceptions": exceptions,
    }
    clinic = Clinic(
        first_day=first_day,
        last_day=last_day,
        location_ids=location_ids,
        zones=zones,
        type_ids=type_ids,
        providers=providers,
        tables=tables,
        cells=cells,
        holidays=[f"{d.isoformat()} {n}" for d, n in in_span],
        dst=[c for zone in zones for c in dst_changes(zone, first_day, last_day)],
    )
    working_hours = sum((i.end - i.start).total_seconds() for c in cells for i in c.working) / 3600
    clinic.stats.update(
        {
            "providers": len(providers),
            "providers_at_both_locations": sum(1 for p in providers if len(p.locations) == 2),
            "providers_with_max_per_day": sum(1 for p in providers if p.max_per_day),
            "providers_not_back_to_back": sum(1 for p in providers if p.not_back_to_back),
            "schedule_rules": len(rules),
            "schedule_exceptions": dict(Counter(e["kind"] for e in exceptions)),
            "provider_working_days": len(cells),
            "provider_working_hours": round(working_hours),
        }
    )
    return clinic


def place_appointments(
    clinic: Clinic, args: argparse.Namespace, patients: list[uuid.UUID], rng: random.Random
) -> list[dict[str, Any]]:
    """`args.appointments` live appointments placed with the product's slot engine (so they
    are exactly what search_slots would have offered), then cancelled ones and history."""
    specs = {s.code: s for s in TYPES}
    requests = {s.code: s.request() for s in TYPES}
    stamp = datetime.now(UTC) - timedelta(days=30)
    rows: list[dict[str, Any]] = []

    def row(cell: Cell, code: str, slot: Interval, status: str, **extra: Any) -> dict[str, Any]:
        spec = specs[code]
        return {
            "id": _rid(rng),
            "patient_id": rng.choice(patients),
            "provider_id": cell.provider.id,
            "location_id": clinic.location_ids[cell.location],
            "appointment_type_id": clinic.type_ids[code],
            "starts_at": slot.start,
            "ends_at": slot.end,
            "blocked_start": slot.start - timedelta(minutes=spec.before),
            "blocked_end": slot.end + timedelta(minutes=spec.after),
            "lane": 0,
            "status": status,
            "series_id": None,
            "rescheduled_to_id": None,
            "cancel_reason": extra.get("cancel_reason"),
            "created_by": LOAD_ACTOR,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def candidates(cell: Cell, request: SlotRequest) -> Iterator[Interval]:
        """A few random step-aligned starts, as a quick first try."""
        for _ in range(6):
            session = rng.choice(cell.working)
            room = session.end - session.start - request.duration
            if room < timedelta(0):
                continue
            start = session.start + STEP * rng.randrange(int(room / STEP) + 1)
            yield Interval(start, start + request.duration)

    cells = clinic.cells
    cum = list(itertools.accumulate(c.weight for c in cells))
    placed = misses = 0
    by_type: Counter[str] = Counter()
    while placed < args.appointments:
        if misses > 2000:  # most of what is drawn is full: draw from the rest only
            cells = [c for c in cells if not c.full]
            if not cells:
                log.warning("the calendars are full: %d appointments placed", placed)
                break
            cum = list(itertools.accumulate(c.weight for c in cells))
            misses = 0
        cell = cells[bisect.bisect_right(cum, rng.random() * cum[-1])]
        if cell.full:
            misses += 1
            continue
        plan = cell.provider
        if plan.max_per_day and len(cell.bookings) >= plan.max_per_day:
            cell.full = True
            continue
        code = rng.choices(plan.types, [specs[c].weight for c in plan.types])[0]
        calendar = Calendar(
            cell.working, cell.bookings, clinic.zone_of(cell.location), plan.provider_rules
        )
        chosen = None
        for code_try in (code, "FU15"):
            request = requests[code_try]
            for slot in candidates(cell, request):
                if slot_problem(calendar, slot, request) is None:
                    chosen = slot
                    break
            if chosen is None:
                window = Interval(cell.working[0].start, cell.working[-1].end)
                open_slots = find_open_slots(calendar, request, window=window)
                chosen = rng.choice(open_slots) if open_slots else None
            if chosen is not None:
                code = code_try
                break
        if chosen is None:
            cell.full = True
            continue
        spec = specs[code]
        cell.bookings.append(
            Booking(
                chosen.start,
                chosen.end,
                spec.category,
                buffer_before=timedelta(minutes=spec.before),
                buffer_after=timedelta(minutes=spec.after),
            )
        )
        rows.append(row(cell, code, chosen, rng.choice(["scheduled", "scheduled", "confirmed"])))
        placed += 1
        by_type[code] += 1
    live = len(rows)
    # Cancelled appointments hold no time: anywhere in working time, overlaps allowed.
    for _ in range(int(live * 0.08)):
        cell = rng.choice(clinic.cells)
        code = rng.choice(cell.provider.types)
        slot = next(candidates(cell, requests[code]), None)
        if slot is not None:
            rows.append(row(cell, code, slot, "cancelled", cancel_reason="patient request"))
    cancelled = len(rows) - live
    # A year of finished appointments: the live ones moved back by whole quarters (13 weeks).
    now = datetime.now(UTC)
    history = 0
    for quarter in range(1, args.history_weeks // 13 + 1):
        shift = timedelta(weeks=13 * quarter)
        for r in rows[:live]:
            if r["starts_at"] - shift >= now:
                continue
            roll = rng.random()
            status = "completed" if roll < 0.93 else "no_show" if roll < 0.97 else "cancelled"
            past = {
                k: r[k] - shift for k in ("starts_at", "ends_at", "blocked_start", "blocked_end")
            }
            rows.append({**r, **past, "id": _rid(rng), "status": status})
            history += 1
    clinic.stats.update(
        {
            "live_appointments": live,
            "live_by_type": dict(by_type.most_common()),
            "cancelled_appointments": cancelled,
            "past_appointments": history,
            "appointment_rows": len(rows),
            "provider_days_full": sum(1 for c in clinic.cells if c.full),
            "booked_share_of_working_time": round(
                sum(
                    (b.end - b.start).total_seconds()
                    for c in clinic.cells
                    for b in c.bookings
                    if c.location == c.provider.locations[0] or len(c.provider.locations) == 1
                )
                / max(
                    1.0,
                    sum((i.end - i.start).total_seconds() for c in clinic.cells for i in c.working),
                ),
                3,
            ),
        }
    )
    return rows


# --- databases -------------------------------------------------------------------------------


def fresh_database(
    backend: str, *, workdir: Path, postgres_url: str, name: str = BENCH_DATABASE
) -> str:
    """Like benchmarks.patient_search.fresh_database, under a benchmark's own name."""
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = make_url(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=name).render_as_string(hide_password=False)


MODELS = {
    "locations": Location,
    "providers": Provider,
    "provider_locations": ProviderLocation,
    "appointment_types": AppointmentType,
    "appointment_type_providers": AppointmentTypeProvider,
    "schedule_rules": ScheduleRule,
    "schedule_exceptions": ScheduleException,
}

LIVE_SQL = ", ".join(f"'{s}'" for s in LIVE_STATUSES)
OVERLAP_SQL = f"""
SELECT count(*) FROM appointments a
JOIN appointments b
  ON b.provider_id = a.provider_id AND b.lane = a.lane AND a.id < b.id
 AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
WHERE a.status IN ({LIVE_SQL}) AND b.status IN ({LIVE_SQL})
"""


def count_double_bookings(engine: Engine) -> int:
    """Pairs of live appointments of one provider, in one lane, whose blocked spans overlap."""
    with engine.connect() as conn:
        found = conn.exec_driver_sql(OVERLAP_SQL).scalar_one()
        conn.rollback()
    return int(found)


def rule_violations(engine: Engine, clinic: Clinic) -> dict[str, Any]:
    """Provider days over max_per_day, and procedures back to back, among live appointments."""
    capped = {p.id: p for p in clinic.providers if p.max_per_day}
    strict = {p.id for p in clinic.providers if p.not_back_to_back}
    procedure = clinic.type_ids["PROC45"]
    zones = {lid: clinic.zones[k] for k, lid in enumerate(clinic.location_ids)}
    per_day: Counter[tuple[uuid.UUID, date]] = Counter()
    procedures: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    with Session(engine) as session:
        rows = session.exec(  # type: ignore[call-overload]
            text(
                "SELECT provider_id, location_id, appointment_type_id, starts_at, ends_at "
                f"FROM appointments WHERE status IN ({LIVE_SQL}) AND lane = 0"
            )
        ).all()
        session.rollback()
    for provider_id, location_id, type_id, starts_at, ends_at in rows:
        provider_id, location_id, type_id = (_uuid(v) for v in (provider_id, location_id, type_id))
        starts_at, ends_at = _aware(starts_at), _aware(ends_at)
        if provider_id in capped:
            per_day[(provider_id, starts_at.astimezone(zones[location_id]).date())] += 1
        if provider_id in strict and type_id == procedure:
            procedures[provider_id].append((starts_at, ends_at))
    over = sorted(
        (day.isoformat(), capped[pid].index, n, capped[pid].max_per_day)
        for (pid, day), n in per_day.items()
        if n > capped[pid].max_per_day  # type: ignore[operator]
    )
    back_to_back = 0
    for spans in procedures.values():
        starts = {s for s, _ in spans}
        back_to_back += sum(1 for _, e in spans if e in starts)
    return {
        "days_over_max_per_day": len(over),
        "days_over_max_per_day_detail": [
            f"{day} provider #{index}: {n} live appointments, max_per_day {limit}"
            for day, index, n, limit in over[:20]
        ],
        "procedures_back_to_back": back_to_back,
    }


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_clinic(
    engine: Engine,
    clinic: Clinic,
    patients: list[dict[str, Any]],
    appointments: list[dict[str, Any]],
) -> None:
    with engine.begin() as conn:
        for name, rows in clinic.tables.items():
            conn.execute(MODELS[name].__table__.insert(), rows)  # type: ignore[attr-defined]
    bulk_insert(engine, Patient.__table__, patients)  # type: ignore[attr-defined]
    bulk_insert(engine, Appointment.__table__, appointments)  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        raw = engine.raw_connection()  # autocommit: the app's BEGIN IMMEDIATE is not wanted here
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        finally:
            raw.close()


# --- measuring slot search -------------------------------------------------------------------


class Meter:
    """Per call: time inside the driver's execute (SQL), statements, and time in the pure
    engine (`working_intervals` + `find_open_slots` as the service calls them)."""

    def __init__(self) -> None:
        self.sql_s = 0.0
        self.statements = 0
        self.engine_s = 0.0
        self._started: list[float] = []

    def reset(self) -> None:
        self.sql_s, self.statements, self.engine_s = 0.0, 0, 0.0

    def _before(self, *_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_: Any) -> None:
        if self._started:
            self.sql_s += time.perf_counter() - self._started.pop()
            self.statements += 1

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.engine_s += time.perf_counter() - started

        return wrapper

    @contextmanager
    def installed(self, engine: Engine) -> Iterator[Meter]:
        """Listens on the engine and wraps the two engine functions in the service's module
        namespace (for this process only; nothing is written to the product's files)."""
        originals = {
            name: getattr(scheduling_service, name)
            for name in ("working_intervals", "find_open_slots")
        }
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        for name, fn in originals.items():
            setattr(scheduling_service, name, self._timed(fn))
        try:
            yield self
        finally:
            for name, fn in originals.items():
                setattr(scheduling_service, name, fn)
            event.remove(engine, "before_cursor_execute", self._before)
            event.remove(engine, "after_cursor_execute", self._after)


@dataclass
class SearchCase:
    key: str
    label: str
    samples: int
    params: list[dict[str, Any]]  # search_slots keyword arguments, one per sample (+ warm-up)


def _working_days(clinic: Clinic, plan: ProviderPlan) -> list[Cell]:
    return [c for c in clinic.cells if c.provider is plan]


def make_cases(clinic: Clinic, args: argparse.Namespace, *, warmup: int) -> list[SearchCase]:
    rng = random.Random(args.seed + 11)
    kind = clinic.type_ids[SEARCH_TYPE]
    offering = [p for p in clinic.providers if SEARCH_TYPE in p.types]
    short, long_ = args.samples + warmup, args.long_samples + warmup
    week = min(7, args.days)

    def one_provider(days: int, n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            plan = rng.choice(offering) if days < args.days else offering[i % len(offering)]
            if days >= args.days:
                first = clinic.first_day
            elif days == 1:  # a day they work, so there is something to find
                first = rng.choice(_working_days(clinic, plan)).day
            else:
                first = clinic.first_day + timedelta(days=rng.randrange(args.days - days + 1))
            where = plan.locations[0]
            out.append(
                {
                    "appointment_type_id": kind,
                    "provider_id": plan.id,
                    "location_id": None,
                    "start": clinic.local_midnight(first, where),
                    "end": clinic.local_midnight(first + timedelta(days=days), where),
                }
            )
        return out

    def any_provider(days: int, n: int) -> list[dict[str, Any]]:
        out = []
        weekdays = [
            clinic.first_day + timedelta(days=d)
            for d in range(args.days - days + 1)
            if (clinic.first_day + timedelta(days=d)).weekday() < 5
        ]
        for i in range(n):
            where = i % len(clinic.location_ids)
            first = rng.choice(weekdays)
            out.append(
                {
                    "appointment_type_id": kind,
                    "provider_id": None,
                    "location_id": clinic.location_ids[where],
                    "start": clinic.local_midnight(first, where),
                    "end": clinic.local_midnight(first + timedelta(days=days), where),
                }
            )
        return out

    return [
        SearchCase("provider_1d", "one provider, 1 day", args.samples, one_provider(1, short)),
        SearchCase(
            "provider_7d", f"one provider, {week} days", args.samples, one_provider(week, short)
        ),
        SearchCase(
            "provider_full",
            f"one provider, {args.days} days",
            args.long_samples,
            one_provider(args.days, long_),
        ),
        SearchCase(
            "location_1d", "any provider at a location, 1 day", args.samples, any_provider(1, short)
        ),
        SearchCase(
            "location_7d",
            f"any provider at a location, {week} days",
            args.samples,
            any_provider(week, short),
        ),
    ]


def _http_params(p: dict[str, Any]) -> dict[str, str]:
    out = {
        "appointment_type_id": str(p["appointment_type_id"]),
        "start": p["start"].isoformat(),
        "end": p["end"].isoformat(),
    }
    for key in ("provider_id", "location_id"):
        if p[key] is not None:
            out[key] = str(p[key])
    return out


def measure_search(
    backend: str,
    client: TestClient,
    engine: Engine,
    case: SearchCase,
    *,
    warmup: int,
    app_times: AppTimes,
) -> dict[str, Any]:
    """HTTP then the service for each sample, interleaved; the first `warmup` not kept."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    http_ms, app_ms, svc_ms, sql_ms, engine_ms, stmts, slots = [], [], [], [], [], [], []
    with Meter().installed(engine) as meter:
        for i, params in enumerate(case.params):
            app_times.last_ms = None
            started = time.perf_counter()
            response = client.get("/api/v1/slots", params=_http_params(params))
            elapsed_http = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{case.key}: {response.status_code} {response.text}")
            elapsed_app = app_times.last_ms
            items = len(response.json()["items"])

            meter.reset()
            started = time.perf_counter()
            with factory() as session:
                found = scheduling_service.search_slots(session, **params)
                session.commit()
            elapsed_svc = (time.perf_counter() - started) * 1000
            if len(found) != items:
                raise RuntimeError(
                    f"{case.key}: HTTP found {items} slots, the service {len(found)}"
                )
            if i < warmup:
                continue
            http_ms.append(elapsed_http)
            if elapsed_app is not None:
                app_ms.append(elapsed_app)
            svc_ms.append(elapsed_svc)
            sql_ms.append(meter.sql_s * 1000)
            engine_ms.append(meter.engine_s * 1000)
            stmts.append(meter.statements)
            slots.append(items)
    out = {
        "label": case.label,
        "samples": len(svc_ms),
        "service": summarize(svc_ms),
        "http": summarize(http_ms),
        "app": summarize(app_ms),
        "service_sql": summarize(sql_ms),
        "service_engine": summarize(engine_ms),
        "service_other_mean": (sum(svc_ms) - sum(sql_ms) - sum(engine_ms)) / len(svc_ms),
        "statements_mean": sum(stmts) / len(stmts),
        "slots": summarize(slots),
        "meets_target_service": summarize(svc_ms)["p50"] < TARGET_MS,
        "meets_target_http": summarize(http_ms)["p50"] < TARGET_MS,
    }
    log.info(
        "[%s] %s: service p50 %.1f ms (SQL %.1f, engine %.1f), HTTP p50 %.1f ms, %.0f slots",
        backend,
        case.label,
        out["service"]["p50"],
        out["service_sql"]["p50"],
        out["service_engine"]["p50"],
        out["http"]["p50"],
        out["slots"]["mean"],
    )
    return out


PROFILE_FUNCTIONS = {
    # label: (file suffix, function name); inclusive times, so they nest and overlap
    "find_open_slots": ("scheduling/slots.py", "find_open_slots"),
    "slot_problem": ("scheduling/slots.py", "slot_problem"),
    "working_intervals": ("scheduling/slots.py", "working_intervals"),
    "provider_calendar": ("scheduling/service.py", "provider_calendar"),
    "ORM execute": ("sqlalchemy/orm/session.py", "execute"),
    "rows to objects (Result.all)": ("sqlalchemy/engine/result.py", "all"),
    "SlotPublic (pydantic)": ("pydantic/main.py", "__init__"),
}


def profile_case(factory: Callable[[], Session], case: SearchCase, *, calls: int) -> dict[str, Any]:
    """cProfile over a few service calls of a case: inclusive time of the main parts, and
    the functions where the time itself is spent."""
    profiler = cProfile.Profile()
    params = case.params[-calls:]
    started = time.perf_counter()
    profiler.enable()
    for p in params:
        with factory() as session:
            scheduling_service.search_slots(session, **p)
            session.commit()
    profiler.disable()
    wall = (time.perf_counter() - started) * 1000 / len(params)
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in entries.values())
    parts = {}
    for label, (suffix, name) in PROFILE_FUNCTIONS.items():
        ct = sum(
            v[3]
            for (filename, _, func), v in entries.items()
            if func == name and filename.replace("\\", "/").endswith(suffix)
        )
        parts[label] = {"ms_per_call": ct * 1000 / len(params), "share": ct / total if total else 0}
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    hot = [
        {
            "function": f"{_short(filename)}:{line}({func})",
            "calls_per_search": v[1] / len(params),
            "self_ms_per_search": v[2] * 1000 / len(params),
            "share": v[2] / total if total else 0,
        }
        for (filename, line, func), v in top
    ]
    return {"calls": len(params), "wall_ms_per_call_profiled": wall, "parts": parts, "hot": hot}


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --- measuring booking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    provider_id: uuid.UUID
    location_id: uuid.UUID
    type_id: uuid.UUID
    start: datetime


def booking_rounds(
    factory: Callable[[], Session],
    clinic: Clinic,
    *,
    rounds: int,
    rng: random.Random,
    from_end: bool = False,
) -> list[list[Candidate]]:
    """Per round one weekday and 3 providers working that day at one location (with one
    capped by max_per_day and one proceduralist where there is one): their open slots for
    every type they offer of FU15, EST20, NEW60, PROC45, as search_slots shows them now.
    From the first weekday after the first day on, or (`from_end`) back from the last."""
    out: list[list[Candidate]] = []
    by_day: dict[tuple[date, int], list[Cell]] = defaultdict(list)
    for cell in clinic.cells:
        by_day[(cell.day, cell.location)].append(cell)
    days = sorted({d for d, _ in by_day if d.weekday() < 5}, reverse=from_end)
    now = datetime.now(UTC)
    for n, day in enumerate(days[1:]):
        if len(out) >= rounds:
            break
        where = n % len(clinic.location_ids)
        cells = by_day.get((day, where), [])
        if len(cells) < 3:
            continue
        capped = [c for c in cells if c.provider.max_per_day]
        proc = [c for c in cells if c.provider.not_back_to_back and c not in capped[:1]]
        trio = capped[:1] + proc[:1]
        rest = [c for c in cells if c not in trio]
        trio += rng.sample(rest, 3 - len(trio))
        found: list[Candidate] = []
        start = clinic.local_midnight(day, where)
        with factory() as session:
            for cell in trio:
                for code in ("FU15", "EST20", "NEW60", "PROC45"):
                    if code not in cell.provider.types:
                        continue
                    for slot in scheduling_service.search_slots(
                        session,
                        appointment_type_id=clinic.type_ids[code],
                        start=start,
                        end=start + timedelta(days=1),
                        provider_id=cell.provider.id,
                        location_id=clinic.location_ids[where],
                        now=now,
                    ):
                        found.append(
                            Candidate(
                                cell.provider.id,
                                slot.location_id,
                                clinic.type_ids[code],
                                slot.start,
                            )
                        )
            session.rollback()
        if found:
            out.append(found)
    return out


def measure_booking(
    backend: str,
    engine: Engine,
    clinic: Clinic,
    principal: Principal,
    *,
    clients: int,
    attempts: int,
    seconds: float,
    seed: int,
    from_end: bool = False,
) -> dict[str, Any]:
    factory = lambda: Session(engine)  # noqa: E731
    rng = random.Random(seed)
    rounds = booking_rounds(
        factory, clinic, rounds=max(10, attempts // 40), rng=rng, from_end=from_end
    )
    log.info(
        "[%s] booking: %d client(s), up to %d attempts or %.0fs, %d rounds of 3 providers' "
        "open slots (%d candidates), days from the %s of the span",
        backend,
        clients,
        attempts,
        seconds,
        len(rounds),
        sum(len(r) for r in rounds),
        "end" if from_end else "start",
    )
    lock = threading.Lock()
    state = {"round": 0, "started": 0}
    results: list[tuple[str, float, int]] = []  # outcome, latency ms, round
    by_database = threading.local()
    errors: Counter[str] = Counter()
    alternatives: Counter[int] = Counter()

    def savepoint_rolled_back(*_: Any) -> None:
        by_database.hit = True

    created_before = _created_by(engine, principal.name)
    event.listen(engine, "rollback_savepoint", savepoint_rolled_back)
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def next_candidate(r: random.Random) -> tuple[int, Candidate] | None:
        with lock:
            if state["started"] >= attempts or time.perf_counter() > deadline[0]:
                return None
            while state["round"] < len(rounds) and not rounds[state["round"]]:
                state["round"] += 1
            if state["round"] >= len(rounds):
                return None
            state["started"] += 1
            return state["round"], r.choice(rounds[state["round"]])

    def client(k: int) -> None:
        r = random.Random(seed * 1000 + k)
        origin = RequestOrigin(ip="bench", user_agent="benchmarks.slot_search", request_id=None)
        actor = Actor(principal=principal, origin=origin)
        barrier.wait()
        while (picked := next_candidate(r)) is not None:
            n, cand = picked
            data = AppointmentCreate(
                patient_id=r.choice(clinic.bookable_patients),
                provider_id=cand.provider_id,
                appointment_type_id=cand.type_id,
                start=cand.start,
                location_id=cand.location_id,
            )
            by_database.hit = False
            started = time.perf_counter()
            try:
                with Session(engine) as session:
                    try:
                        scheduling_service.book_appointment(session, actor=actor, data=data)
                        session.commit()
                        outcome = "booked"
                    except scheduling_service.SlotUnavailable as exc:
                        session.rollback()
                        where = "database" if by_database.hit else "check"
                        outcome = f"409 {where}: {exc.extensions.get('reason')}"
                        with lock:
                            alternatives[len(exc.extensions.get("alternatives", []))] += 1
            except Exception as exc:  # anything else is a failure to report
                outcome = "error"
                with lock:
                    errors[_error_kind(exc)] += 1
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                results.append((outcome, elapsed, n))
                if cand in rounds[n]:
                    rounds[n].remove(cand)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds + 5
    sampler = (
        ActivitySampler(engine.url.render_as_string(hide_password=False))
        if engine.dialect.name == "postgresql"
        else None
    )
    with sampler or contextlib.nullcontext():
        barrier.wait()
        started = time.perf_counter()
        deadline[0] = started + seconds
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    event.remove(engine, "rollback_savepoint", savepoint_rolled_back)
    outcomes = Counter(o for o, _, _ in results)
    booked = outcomes["booked"]
    refused = sum(v for k, v in outcomes.items() if k.startswith("409"))
    lat_all = [ms for _, ms, _ in results]
    out = {
        "clients": clients,
        "attempts": len(results),
        "wall_seconds": wall,
        "rounds_used": len({n for _, _, n in results}),
        "booked": booked,
        "refused_409": refused,
        "refused_409_by_the_check": sum(
            v for k, v in outcomes.items() if k.startswith("409 check")
        ),
        "refused_409_by_the_database": sum(
            v for k, v in outcomes.items() if k.startswith("409 database")
        ),
        "other_errors": outcomes["error"],
        "outcomes": dict(outcomes.most_common()),
        "error_kinds": dict(errors.most_common()),
        "alternatives_in_409": {str(k): v for k, v in sorted(alternatives.items())},
        "bookings_per_second": booked / wall if wall else 0.0,
        "attempts_per_second": len(results) / wall if wall else 0.0,
        "latency_all": summarize(lat_all),
        "latency_booked": summarize([ms for o, ms, _ in results if o == "booked"]),
        "latency_refused": summarize([ms for o, ms, _ in results if o.startswith("409")]),
        "latency_error": summarize([ms for o, ms, _ in results if o == "error"]),
    }
    if sampler is not None:
        out["connection_activity"] = sampler.shares()
        out["connection_activity_samples"] = sampler.samples
    out["appointments_created_by_clients"] = _created_by(engine, principal.name) - created_before
    out["double_bookings"] = count_double_bookings(engine)
    out.update(rule_violations(engine, clinic))
    log.info(
        "[%s] booking: %d attempts in %.1fs, %d booked (%.1f/s), %d refused, %d errors; "
        "p50 %.1f ms p95 %.1f ms; double bookings %d, days over max %d, back to back %d",
        backend,
        out["attempts"],
        wall,
        booked,
        out["bookings_per_second"],
        refused,
        out["other_errors"],
        out["latency_all"]["p50"],
        out["latency_all"]["p95"],
        out["double_bookings"],
        out["days_over_max_per_day"],
        out["procedures_back_to_back"],
    )
    return out


def _created_by(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        return int(
            session.exec(  # type: ignore[call-overload]
                text("SELECT count(*) FROM appointments WHERE created_by = :who").bindparams(
                    who=name
                )
            ).one()[0]
        )


def _error_kind(exc: Exception) -> str:
    """The exception, its SQLSTATE, the statement it interrupted and the server's context."""
    first = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0][:120]
    kind = f"{type(exc).__name__}: {first}"
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        kind += f" [SQLSTATE {sqlstate}]"
    statement = getattr(exc, "statement", None)
    if statement:
        kind += f" in '{' '.join(statement.split())[:40]}...'"
    context = getattr(getattr(orig, "diag", None), "context", None)
    if context:
        kind += f" ({context.splitlines()[0][:100]})"
    return re.sub(r"tuple \(\d+,\d+\)", "tuple (...)", kind)


class ActivitySampler:
    """What the benchmark's PostgreSQL connections are doing, sampled every 50 ms from
    pg_stat_activity: running, waiting for a lock (and in which statement), or idle in a
    transaction, i.e. waiting for the client (Python, the GIL)."""

    QUERY = (
        "SELECT state, wait_event_type, wait_event, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 36) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not self._stop.wait(0.05):
                rows = conn.exec_driver_sql(self.QUERY).all()
                self.samples += 1
                for state, wait_type, wait_event, query in rows:
                    self.counts[self.classify(state, wait_type, wait_event, query or "")] += 1

    @staticmethod
    def classify(
        state: str | None, wait_type: str | None, wait_event: str | None, query: str
    ) -> str:
        if state == "idle":
            return "idle: no transaction open"
        if state and state.startswith("idle in transaction"):
            return "idle in transaction: waiting for the client"
        if wait_type == "Lock":
            return f"waiting for a lock ({wait_event}) in '{query.strip()}...'"
        if wait_type in (None, "CPU"):
            return "running"
        return f"running, waiting on {wait_type}:{wait_event}"

    def __enter__(self) -> ActivitySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def shares(self) -> dict[str, float]:
        """Connection-samples per kind, as a share of all."""
        total = sum(self.counts.values())
        return {k: v / total for k, v in self.counts.most_common()} if total else {}


def booking_engine(backend: str, url: str, clients: int) -> Engine:
    """The product's engine set-up; on PostgreSQL with a pool as large as the number of
    clients (make_engine's is 10 + 20 overflow), so that each client holds its own
    connection instead of waiting for one."""
    if backend == "sqlite":
        return make_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=clients, max_overflow=4)


# --- one backend -----------------------------------------------------------------------------


def _phase(backend: str, what: str) -> Callable[[], float]:
    log.info("[%s] %s ...", backend, what)
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


def run_backend(
    backend: str,
    *,
    args: argparse.Namespace,
    workdir: Path,
    clinic: Clinic,
    patients: list[dict[str, Any]],
    appointments: list[dict[str, Any]],
    generate_seconds: float,
) -> dict[str, Any]:
    timings: dict[str, float] = {"generate_s": generate_seconds}
    done = _phase(backend, "fresh database and migrations")
    url = fresh_database(backend, workdir=workdir, postgres_url=args.postgres_url)
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(
        var_dir=workdir / "var",
        database_url=url,
        secret_key="benchmark-signing-key-0123456789abcdef0123456789",
        encryption_key_file=workdir / "keys.json",
    )
    run = BackendRun(backend, url, engine, settings, StatementLog(engine))
    timings["migrate_s"] = done()

    done = _phase(
        backend,
        f"load: {len(clinic.providers)} providers, {len(patients):,} patients, "
        f"{len(appointments):,} appointment rows",
    )
    load_clinic(engine, clinic, patients, appointments)
    timings["load_s"] = done()
    overlaps_after_load = count_double_bookings(engine)
    violations_after_load = {
        k: v for k, v in rule_violations(engine, clinic).items() if not k.endswith("_detail")
    }
    log.info(
        "[%s] after the load: %d overlapping live pairs, %s",
        backend,
        overlaps_after_load,
        violations_after_load,
    )

    user, token = front_desk_user(run)
    principal = Principal(
        kind=PrincipalKind.USER, id=user.id, name=user.username, role=Role.FRONT_DESK
    )
    results: dict[str, Any] = {"search": {}, "profiles": {}}
    app = create_app(settings, engine=engine)
    warmup = args.warmup
    cases = make_cases(clinic, args, warmup=warmup)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        done = _phase(backend, "slot searches")
        with AppTimes().installed() as app_times:
            for case in cases:
                results["search"][case.key] = measure_search(
                    backend, client, engine, case, warmup=warmup, app_times=app_times
                )
        timings["search_s"] = done()
        if args.profile:
            done = _phase(backend, "profiles of the cases over the target")
            for case in cases:
                figures = results["search"][case.key]
                if figures["service"]["p50"] < TARGET_MS and figures["http"]["p50"] < TARGET_MS:
                    continue
                calls = 3 if case.key == "provider_full" else 10
                results["profiles"][case.key] = profile_case(
                    app.state.session_factory, case, calls=calls
                )
            timings["profile_s"] = done()

    clients = args.clients if backend == "postgresql" else args.sqlite_clients
    attempts = args.attempts if backend == "postgresql" else args.sqlite_attempts
    if clients > 0 and attempts > 0:
        done = _phase(backend, f"booking with {clients} concurrent clients")
        book_engine = booking_engine(backend, url, clients)
        try:
            if args.serial_attempts > 0:
                # One client alone first, on days at the far end of the span: the cost of an
                # attempt without waiting for locks, connections or the GIL.
                results["booking_serial"] = measure_booking(
                    backend,
                    book_engine,
                    clinic,
                    principal,
                    clients=1,
                    attempts=args.serial_attempts,
                    seconds=args.booking_seconds,
                    seed=args.seed + 19,
                    from_end=True,
                )
            results["booking"] = measure_booking(
                backend,
                book_engine,
                clinic,
                principal,
                clients=clients,
                attempts=attempts,
                seconds=args.booking_seconds,
                seed=args.seed + 17,
            )
        finally:
            book_engine.dispose()
        timings["booking_s"] = done()

    with Session(engine) as session:
        live = session.exec(  # type: ignore[call-overload]
            text(f"SELECT count(*) FROM appointments WHERE status IN ({LIVE_SQL})")
        ).one()[0]
    engine.dispose()
    return {
        "backend": backend,
        "database": _server_version(backend, url),
        "clinic": {
            "first_day": clinic.first_day.isoformat(),
            "last_day": clinic.last_day.isoformat(),
            "dst_changes_in_span": clinic.dst,
            "holidays_in_span": clinic.holidays,
            **clinic.stats,
            "patients": len(patients),
            "overlapping_live_pairs_after_load": overlaps_after_load,
            **{f"{k}_after_load": v for k, v in violations_after_load.items()},
            "live_appointments_after_run": live,
        },
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("postgres_url",)
        },
        "environment": _environment(),
        "target_ms": TARGET_MS,
        "timings_s": timings,
        **results,
    }


# --- report ----------------------------------------------------------------------------------


def print_report(results: list[dict[str, Any]]) -> None:
    print()
    for r in results:
        c = r["clinic"]
        print(
            f"== {r['backend']} ({r['database']}): {c['providers']} providers, 2 locations, "
            f"{c['live_appointments']:,} live appointments ({c['cancelled_appointments']:,} "
            f"cancelled, {c['past_appointments']:,} past) over {c['first_day']}..{c['last_day']}"
        )
        print(
            f"   DST change in span: {', '.join(c['dst_changes_in_span']) or 'none'}; holidays: "
            f"{', '.join(c['holidays_in_span']) or 'none'}; overlaps after load: "
            f"{c['overlapping_live_pairs_after_load']}"
        )
        print(f"   slot search, type {SEARCH_TYPE}; times in ms; target: median < {TARGET_MS:.0f}")
        header = (
            f"{'case':<34} {'n':>4} {'slots':>6} | {'svc p50':>7} {'p95':>7} {'mean':>7} | "
            f"{'SQL':>6} {'engine':>7} {'stmts':>5} | {'HTTP p50':>8} {'p95':>7} {'mean':>7} | "
            f"{'<50ms svc/HTTP':>14}"
        )
        print(header)
        print("-" * len(header))
        for s in r["search"].values():
            v, h = s["service"], s["http"]
            ok = f"{'yes' if s['meets_target_service'] else 'NO'}/" + (
                "yes" if s["meets_target_http"] else "NO"
            )
            print(
                f"{s['label']:<34} {s['samples']:>4} {s['slots']['mean']:>6.0f} | "
                f"{v['p50']:>7.1f} {v['p95']:>7.1f} {v['mean']:>7.1f} | "
                f"{s['service_sql']['p50']:>6.1f} {s['service_engine']['p50']:>7.1f} "
                f"{s['statements_mean']:>5.0f} | "
                f"{h['p50']:>8.1f} {h['p95']:>7.1f} {h['mean']:>7.1f} | {ok:>14}"
            )
        print(
            "svc: search_slots + commit, no HTTP; SQL/engine: medians of the time inside the "
            "driver's execute and in working_intervals + find_open_slots per service call;\n"
            "stmts: SQL statements per service call; HTTP: GET /api/v1/slots through TestClient"
        )
        for key, p in r.get("profiles", {}).items():
            label = r["search"][key]["label"]
            print(
                f"   profile of '{label}' ({p['calls']} calls, "
                f"{p['wall_ms_per_call_profiled']:.0f} ms each under cProfile), inclusive: "
                + ", ".join(
                    f"{name} {part['share'] * 100:.0f}%" for name, part in p["parts"].items()
                )
            )
            for h in p["hot"][:6]:
                print(
                    f"      {h['share'] * 100:5.1f}% self  {h['calls_per_search']:>9.0f} calls  "
                    f"{h['function']}"
                )
        for key, title in (("booking_serial", "one client alone"), ("booking", "contended")):
            if key in r:
                print_booking(r[key], title)
        t = r["timings_s"]
        print(
            "   phases (s): " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.items())
        )
        print()


def print_booking(b: dict[str, Any], title: str) -> None:
    la, lb, lr = b["latency_all"], b["latency_booked"], b["latency_refused"]
    print(
        f"   booking, {title}: {b['clients']} client(s), {b['attempts']} attempts in "
        f"{b['wall_seconds']:.1f}s over {b['rounds_used']} rounds = "
        f"{b['bookings_per_second']:.1f} bookings/s, {b['attempts_per_second']:.1f} attempts/s"
    )
    print(
        f"      booked {b['booked']}, refused 409 {b['refused_409']} (by the check "
        f"{b['refused_409_by_the_check']}, by the database {b['refused_409_by_the_database']}), "
        f"other errors {b['other_errors']}"
    )
    for kind, n in b["error_kinds"].items():
        print(f"         {n} x {kind}")
    if b["other_errors"]:
        le = b["latency_error"]
        print(f"         errors took p50 {le['p50']:.0f} ms, max {le['max']:.0f} ms")
    print(
        f"      latency ms: all p50 {la['p50']:.1f} p95 {la['p95']:.1f} p99 {la['p99']:.1f} max "
        f"{la['max']:.0f} mean {la['mean']:.1f} | booked p50 {lb['p50']:.1f} p95 "
        f"{lb['p95']:.1f} | refused p50 {lr['p50']:.1f} p95 {lr['p95']:.1f}"
    )
    print(
        f"      verified: double bookings (SQL) {b['double_bookings']}, days over max_per_day "
        f"{b['days_over_max_per_day']}, procedures back to back "
        f"{b['procedures_back_to_back']}; rows created by clients "
        f"{b['appointments_created_by_clients']} (booked {b['booked']})"
    )
    for line in b["days_over_max_per_day_detail"][:5]:
        print(f"         {line}")
    if b.get("connection_activity"):
        print(
            f"      PostgreSQL connections, {b['connection_activity_samples']} samples of "
            "pg_stat_activity:"
        )
        for kind, share in list(b["connection_activity"].items())[:6]:
            print(f"         {share * 100:5.1f}% {kind}")


# --- main ------------------------------------------------------------------------------------


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slot_search", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--days", type=int, default=90, help="span of the calendar (max 92)")
    parser.add_argument("--appointments", type=int, default=20_000, help="live appointments")
    parser.add_argument("--clients", type=int, default=32, help="booking threads, PostgreSQL")
    parser.add_argument("--sqlite-clients", type=int, default=8, help="booking threads, SQLite")
    parser.add_argument("--attempts", type=int, default=2000, help="booking attempts, PostgreSQL")
    parser.add_argument("--sqlite-attempts", type=int, default=600, help="booking attempts, SQLite")
    parser.add_argument(
        "--booking-seconds", type=float, default=60.0, help="stop booking after this long"
    )
    parser.add_argument(
        "--serial-attempts",
        type=int,
        default=200,
        help="booking attempts by one client alone first, as a baseline (0: none)",
    )
    parser.add_argument("--samples", type=int, default=100, help="per short search case")
    parser.add_argument("--long-samples", type=int, default=30, help="per full-span search case")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument(
        "--history-weeks", type=int, default=52, help="past (finished) appointments, in weeks"
    )
    parser.add_argument(
        "--start", type=date.fromisoformat, help="first day (a future Monday); default next Monday"
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FRONTDESK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"a server where the role may CREATE DATABASE; {BENCH_DATABASE} is dropped and "
        "recreated on it (default: $FRONTDESK_BENCH_POSTGRES_URL, else %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and keyring")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if not 1 <= args.days <= scheduling_service.MAX_SEARCH_DAYS:
        parser.error(f"--days must be 1..{scheduling_service.MAX_SEARCH_DAYS}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-slots-"))
    try:
        today = datetime.now(ZoneInfo(LOCATIONS[0][1])).date()
        first_day = args.start or next_monday(today)
        if first_day <= today or first_day.weekday() != 0:
            raise SystemExit(f"--start must be a Monday after today ({today})")
        done = _phase("setup", f"planning the clinic from {first_day} (seed {args.seed})")
        rng = random.Random(args.seed)
        clinic = plan_clinic(args, first_day=first_day, rng=rng)
        keyring = load_keyring(workdir / "keys.json", create=True)
        people = Population(random.Random(args.seed + 1)).people(args.patients)
        dataset = build_rows(people, cipher=FieldCipher(keyring), rng=random.Random(args.seed + 2))
        clinic.bookable_patients = [
            p.id for p in people if p.status == PatientStatus.ACTIVE and p.merged_into is None
        ]
        appointments = place_appointments(
            clinic, args, clinic.bookable_patients, random.Random(args.seed + 3)
        )
        generate_seconds = done()
        gc.collect()
        gc.freeze()
        log.info(
            "[setup] %s in %.1fs; DST changes in span: %s",
            json.dumps(clinic.stats, default=str),
            generate_seconds,
            clinic.dst or "none",
        )
        results = []
        args.results_dir.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            result = run_backend(
                backend,
                args=args,
                workdir=workdir,
                clinic=clinic,
                patients=dataset.patients,
                appointments=appointments,
                generate_seconds=generate_seconds,
            )
            path = args.results_dir / f"slot_search-{backend}.json"
            path.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n")
            log.info("[%s] figures written to %s", backend, path)
            results.append(result)
        print_report(results)
        log.info("total %.1fs", time.perf_counter() - started)
    finally:
        if args.keep:
            log.info("kept %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
