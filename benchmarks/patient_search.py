"""Patient search and registration at scale, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.patient_search [--patients 100000]
        [--backend sqlite|postgresql|both] [--postgres-url URL]

For each backend: a fresh database (an SQLite file in a temporary directory; the PostgreSQL
database `frontdesk_bench`, dropped and recreated), migrated with `backoffice.migrate.upgrade`,
then bulk-loaded with believable patients from a seeded generator (households sharing last
names, phones and addresses; a long tail of rarer surnames; ~70% with an encrypted SSN;
emergency contacts and insurance policies as the demo has them). The load bypasses the API;
everything measured afterwards goes through the real code:

* search: GET /api/v1/patients through a FastAPI TestClient signed in as a front-desk user,
  and the same query through `patients_service.search_patients` without HTTP, interleaved,
  so the HTTP overhead shows. Every search appends an audit event (part of the cost).
* registration: POST /api/v1/patients of new patients against the loaded table, so the
  duplicate check runs on each; a 409 "possible duplicate" is re-sent with confirm_new=true,
  as a registrar would after checking.
* SQL alone: the statement each sampled search emits, run again through the bare driver, so
  the database's share of the time shows next to the ORM's, the audit's and HTTP's.
* query plans: the SQL each search shape really emits is captured and EXPLAINed (SQLite:
  EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE, and the generic plan that a prepared
  statement may switch to), with a verdict on whether an index is used ("SCAN" marks a
  sequential scan or a walk of a whole index).

PostgreSQL gets VACUUM ANALYZE and a CHECKPOINT after the load (what autovacuum and the
checkpointer would have done by the time a real table is this size); SQLite gets a WAL
checkpoint and, as in the product, no ANALYZE unless --sqlite-analyze is given.

Figures are printed as a table and written to benchmarks/results/patient_search-<backend>.json.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import json
import logging
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, event, make_url, text
from sqlmodel import Session

from backoffice.app import create_app
from backoffice.db import make_engine
from backoffice.demo import PAYERS
from backoffice.migrate import upgrade
from backoffice.patients import service as patients_service
from backoffice.patients.matching import Demographics, search_key
from backoffice.patients.models import EmergencyContact, InsurancePolicy, Patient
from backoffice.security.crypto import FieldCipher, load_keyring
from backoffice.security.dependencies import Actor
from backoffice.security.passwords import hash_password
from backoffice.security.principal import Principal, RequestOrigin
from backoffice.security.tokens import encode_access_token
from backoffice.settings import Settings
from backoffice.staff.models import StaffUser
from shared.enums import PatientStatus, PrincipalKind, Role

log = logging.getLogger("benchmarks.patient_search")

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "frontdesk_bench"
RESULTS_DIR = Path(__file__).parent / "results"
REF_DATE = date(2025, 6, 1)  # "today" for the generated population: no birth date after it
REF_TIME = datetime(2025, 6, 1, 12, tzinfo=UTC)
PAGE_LIMIT = 50  # the API's default page size

# --- names ---------------------------------------------------------------------------------

# US census 2010 frequencies per 100,000 people, rounded, plus names common in a New England
# practice and names that exercise the search key (apostrophes, hyphens, accents, spaces).
_COMMON_LAST_NAMES = (
    "Smith:828 | Johnson:655 | Williams:550 | Brown:487 | Jones:483 | Garcia:431 | Miller:424 "
    "| Davis:393 | Rodriguez:380 | Martinez:353 | Hernandez:352 | Lopez:287 | Gonzalez:280 | "
    "Wilson:279 | Anderson:273 | Thomas:265 | Taylor:257 | Moore:243 | Jackson:241 | "
    "Martin:239 | Lee:230 | Perez:219 | Thompson:216 | White:214 | Harris:198 | Sanchez:195 | "
    "Clark:178 | Ramirez:174 | Lewis:171 | Robinson:168 | Walker:165 | Young:159 | Allen:158 "
    "| King:157 | Wright:155 | Scott:150 | Torres:146 | Nguyen:145 | Hill:145 | Flores:144 | "
    "Green:144 | Adams:143 | Nelson:142 | Baker:140 | Hall:139 | Rivera:136 | Campbell:131 | "
    "Mitchell:130 | Carter:129 | Roberts:128 | Gomez:123 | Phillips:122 | Evans:121 | "
    "Turner:120 | Diaz:119 | Parker:118 | Cruz:117 | Edwards:116 | Collins:115 | Reyes:114 | "
    "Stewart:113 | Morris:112 | Morales:111 | Murphy:110 | Cook:109 | Rogers:108 | "
    "Gutierrez:107 | Ortiz:106 | Morgan:105 | Cooper:104 | Peterson:103 | Bailey:102 | "
    "Reed:101 | Kelly:100 | Howard:99 | Ramos:98 | Kim:97 | Cox:96 | Ward:95 | Richardson:94 "
    "| Watson:93 | Brooks:92 | Chavez:91 | Wood:90 | James:89 | Bennett:88 | Gray:87 | "
    "Mendoza:86 | Ruiz:85 | Hughes:84 | Price:83 | Alvarez:82 | Castillo:81 | Sanders:80 | "
    "Patel:79 | Myers:78 | Long:77 | Ross:76 | Foster:75 | Jimenez:74 | Sullivan:70 | "
    "O'Brien:60 | McCarthy:50 | MacDonald:40 | Chen:80 | Wang:70 | Li:60 | Zhang:50 | Liu:45 "
    "| Singh:60 | Khan:50 | Ali:40 | Tran:50 | Le:40 | Pham:35 | Park:40 | Choi:25 | Silva:40 "
    "| Santos:40 | Pereira:30 | Souza:25 | Oliveira:25 | Cohen:40 | Levy:25 | Schmidt:30 | "
    "Russo:25 | Rossi:20 | Kowalski:20 | Nowak:15 | Okafor:20 | Adeyemi:15 | Haddad:15 | "
    "Nakamura:15 | Tanaka:15 | Müller:15 | Núñez:25 | De la Cruz:15 | D'Angelo:12 | Dubois:10 "
    "| García-López:10 | St. John:8 | Van der Berg:6 | Yilmaz:8 | Kaur:30"
)
COMMON_LAST_NAMES = [
    (name.strip(), int(count))
    for name, count in (item.split(":") for item in _COMMON_LAST_NAMES.split("|"))
]
# The long tail: tens of thousands of rarer surnames, as a practice of 100,000 patients has.
TAIL_PREFIXES = (
    "Ash Bar Bel Black Brad Brom Cal Carl Chad Cor Craw Dal Dan Dar Den Dun El Fair Far Fen Gar "
    "Gil Gold Gran Hal Har Hart Hay Hol Hun Kel Ken Kirk Lang Lind Lock Mar Mel Mont Mor New Nor "
    "Oak Pem Pen Rad Ral Red Ros Rut Sand Shel Stan Stock Stra Sum Tal Thorn Tin Ul Wal War Wat "
    "Wen West Whit Win Wol Yar Zell"
).split()
TAIL_INFIXES = ["", "", "", "en", "er", "ing", "an", "el", "and", "ow", "ins", "ers"]
TAIL_SUFFIXES = (
    "ford well ton by wood ley field man son berg stein er ick sky ini ez ova dale more worth ham "
    "land stead bury den ridge bourne mont ard ing cott ow ell ers ins o an quist strom gaard "
    "ovich escu akis oglu"
).split()
FIRST_NAMES = {
    "female": (
        "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa "
        "Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa "
        "Deborah Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda "
        "Pamela Emma Nicole Helen Samantha Katherine Christine Rachel Janet Catherine Maria "
        "Heather Olivia Sophia Isabella Ava Mia Abigail Madison Chloe Grace Zoë Renée Aisha Priya "
        "Mei Fatima Yuki Ana Sofía Inês Keisha Mary-Kate Siobhan Oluwaseun Ngoc"
    ).split(),
    "male": (
        "James Robert John Michael David William Richard Joseph Thomas Christopher Charles "
        "Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George "
        "Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen "
        "Larry Justin Scott Brandon Benjamin Samuel Noah Liam Ethan Lucas Mason Logan José "
        "Carlos Luis Miguel Juan Wei Hiro Raj Mohammed Omar Kwame D'Andre Jean-Luc Sean Tomás "
        "Andrés Minh"
    ).split(),
}
# city, state, the first three digits of its ZIP codes
_PLACES = (
    "Springfield,MA,011 | Chicopee,MA,010 | Holyoke,MA,010 | Worcester,MA,016 | Boston,MA,021 "
    "| Cambridge,MA,021 | Somerville,MA,021 | Quincy,MA,021 | Lowell,MA,018 | Brockton,MA,023 "
    "| New Bedford,MA,027 | Pittsfield,MA,012 | Hartford,CT,061 | Enfield,CT,060 | "
    "Providence,RI,029 | Pawtucket,RI,028"
)
PLACES = [tuple(part.strip() for part in item.split(",")) for item in _PLACES.split("|")]
STREETS = (
    "Maple St|Oak Ave|Washington St|Elm St|Riverside Dr|Park Ave|Highland Ave|Center St|"
    "Pleasant St|Chestnut St|Main St|Summer St|Union St|School St|Prospect St|Walnut St|"
    "Franklin St|Church St|Spring St|Mill St"
).split("|")
AREA_CODES = ["413", "413", "413", "617", "508", "781", "978", "774", "857", "860", "401"]
LANGUAGES = [("en", 80), ("es", 12), ("pt", 3), ("zh", 2), ("vi", 1.5), ("ht", 1.5)]
HOUSEHOLD_SIZES = [(1, 40), (2, 30), (3, 13), (4, 11), (5, 6)]


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


@dataclass(slots=True)
class Person:
    id: uuid.UUID
    first_name: str
    middle_name: str | None
    last_name: str
    suffix: str | None
    date_of_birth: date
    sex: str
    ssn: str | None
    language: str
    phone: str | None
    phone_type: str | None
    email: str | None
    contact_method: str | None
    address: tuple[str, str | None, str, str, str]
    contact: tuple[str, str, str] | None = None  # name, relationship, phone
    guardian: Person | None = None
    status: str = PatientStatus.ACTIVE
    merged_into: Person | None = None
    mrn: str = ""


class Population:
    """A seeded generator of households: shared last names, addresses and phones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.common = [name for name, _ in COMMON_LAST_NAMES]
        self.common_cum = _cumulative([w for _, w in COMMON_LAST_NAMES])
        # Each common surname is drawn at its census rate; the rest comes from the tail.
        self.common_share = self.common_cum[-1] / 100_000
        tail = [p + i + s for p in TAIL_PREFIXES for i in TAIL_INFIXES for s in TAIL_SUFFIXES]
        rng.shuffle(tail)
        self.tail = tail
        self.tail_cum = _cumulative([1 / (rank + 1) ** 0.3 for rank in range(len(tail))])
        self.first_cum = {
            sex: _cumulative([1 / (rank + 5) ** 0.9 for rank in range(len(names))])
            for sex, names in FIRST_NAMES.items()
        }
        self.languages, self.language_cum = zip(*LANGUAGES, strict=True)
        self.language_cum = _cumulative(self.language_cum)
        self.sizes, self.size_cum = zip(*HOUSEHOLD_SIZES, strict=True)
        self.size_cum = _cumulative(self.size_cum)

    def _pick(self, items: Sequence[Any], cum: list[float]) -> Any:
        return items[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def last_name(self) -> str:
        if self.rng.random() < self.common_share:
            return self._pick(self.common, self.common_cum)
        return self._pick(self.tail, self.tail_cum)

    def first_name(self, sex: str) -> str:
        key = sex if sex in FIRST_NAMES else self.rng.choice(["female", "male"])
        return self._pick(FIRST_NAMES[key], self.first_cum[key])

    def birth_date(self, min_age: float, max_age: float) -> date:
        days = self.rng.randrange(int(min_age * 365.25), int(max_age * 365.25) + 365)
        return REF_DATE - timedelta(days=days)

    def adult_birth_date(self) -> date:
        age = self.rng.triangular(18, 96, 42)
        return self.birth_date(age, age)

    def phone(self) -> str:
        area = self.rng.choice(AREA_CODES)
        exchange = self.rng.randrange(200, 1000)
        if exchange % 100 == 11:  # N11 codes are not exchanges
            exchange += 1
        return f"+1{area}{exchange}{self.rng.randrange(10_000):04d}"

    def ssn(self) -> str | None:
        if self.rng.random() >= 0.7:
            return None
        area = self.rng.randrange(1, 900)
        if area == 666:
            area = 665
        return f"{area:03d}-{self.rng.randrange(1, 100):02d}-{self.rng.randrange(1, 10_000):04d}"

    def address(self) -> tuple[str, str | None, str, str, str]:
        city, state, zip3 = self.rng.choice(PLACES)
        line2 = f"Apt {self.rng.randrange(1, 40)}" if self.rng.random() < 0.15 else None
        line1 = f"{self.rng.randrange(1, 2000)} {self.rng.choice(STREETS)}"
        return (line1, line2, city, state, f"{zip3}{self.rng.randrange(0, 100):02d}")

    def sex(self) -> str:
        r = self.rng.random()
        return "female" if r < 0.51 else "male" if r < 0.997 else "unknown"

    def person(
        self,
        *,
        last_name: str,
        sex: str,
        born: date,
        language: str,
        address: tuple[str, str | None, str, str, str],
        shared_phone: str | None,
    ) -> Person:
        rng = self.rng
        first = self.first_name(sex)
        middle = None
        if rng.random() < 0.35:
            middle = self.first_name(sex)
            if rng.random() < 0.3:
                middle = middle[0]
        age = (REF_DATE - born).days / 365.25
        suffix = (
            rng.choice(["Jr.", "Sr.", "III"]) if sex == "male" and rng.random() < 0.02 else None
        )
        if age >= 13 and rng.random() < (0.88 if age >= 18 else 0.6):
            phone, phone_type = self.phone(), "mobile"
        elif shared_phone and rng.random() < 0.96:
            phone, phone_type = shared_phone, rng.choice(["mobile", "home"])
        else:
            phone, phone_type = None, None
        email = None
        if age >= 13 and rng.random() < (0.65 if age >= 18 else 0.2):
            domain = rng.choice(["example.com", "example.org", "example.net"])
            email = f"{search_key(first)}.{search_key(last_name)}{rng.randrange(100)}@{domain}"
        if email and rng.random() < 0.3:
            method: str | None = "email"
        elif phone:
            method = "sms" if rng.random() < 0.55 else "phone"
        else:
            method = "portal" if rng.random() < 0.5 else None
        return Person(
            id=self.new_id(),
            first_name=first,
            middle_name=middle,
            last_name=last_name,
            suffix=suffix,
            date_of_birth=born,
            sex=sex,
            ssn=self.ssn(),
            language=language,
            phone=phone,
            phone_type=phone_type,
            email=email,
            contact_method=method,
            address=address,
        )

    def household(self) -> list[Person]:
        rng = self.rng
        size = self._pick(self.sizes, self.size_cum)
        family_name = self.last_name()
        language = self._pick(self.languages, self.language_cum)
        address = self.address()
        head_sex = self.sex()
        head = self.person(
            last_name=family_name,
            sex=head_sex,
            born=self.adult_birth_date(),
            language=language,
            address=address,
            shared_phone=self.phone() if rng.random() < 0.3 else None,  # a landline
        )
        members = [head]
        home_phone = head.phone or self.phone()
        if size >= 2 and rng.random() < 0.75:
            own = self.last_name()
            roll = rng.random()
            name = family_name if roll < 0.75 else own if roll < 0.95 else f"{own}-{family_name}"
            spouse_born = head.date_of_birth + timedelta(days=rng.randrange(-2500, 2500))
            spouse_born = min(spouse_born, REF_DATE - timedelta(days=18 * 366))
            spouse_sex = {"female": "male", "male": "female"}.get(head_sex, self.sex())
            if rng.random() < 0.05:
                spouse_sex = head_sex
            members.append(
                self.person(
                    last_name=name,
                    sex=spouse_sex,
                    born=spouse_born,
                    language=language,
                    address=address,
                    shared_phone=home_phone,
                )
            )
        head_age = (REF_DATE - head.date_of_birth).days / 365.25
        while len(members) < size:
            oldest = max(0.0, min(24.0, head_age - 18))
            born = self.birth_date(0, oldest) if oldest > 0 else self.birth_date(0, 0)
            kid = self.person(
                last_name=family_name if rng.random() < 0.9 else members[-1].last_name,
                sex=self.sex(),
                born=born,
                language=language,
                address=address,
                shared_phone=home_phone,
            )
            kid.guardian = head
            members.append(kid)
        for member in members:
            if member.guardian is not None:
                member.contact = (
                    f"{head.first_name} {head.last_name}",
                    "parent",
                    head.phone or home_phone,
                )
            elif rng.random() < 0.75:
                partner = next((m for m in members[:2] if m is not member), None)
                if partner is not None:
                    member.contact = (
                        f"{partner.first_name} {partner.last_name}",
                        "spouse",
                        partner.phone or home_phone,
                    )
                else:
                    member.contact = (
                        f"{self.first_name(self.sex())} {self.last_name()}",
                        rng.choice(["sibling", "parent", "friend", "child"]),
                        self.phone(),
                    )
        for member in members:
            age = (REF_DATE - member.date_of_birth).days / 365.25
            roll = rng.random()
            if age > 60 and roll < 0.015:
                member.status = PatientStatus.DECEASED
            elif roll < 0.045:
                member.status = PatientStatus.INACTIVE
        return members

    def merged_copy(self, target: Person) -> Person:
        """A duplicate registration of `target` that was since merged into it."""
        copy = Person(
            id=self.new_id(),
            first_name=target.first_name,
            middle_name=None,
            last_name=target.last_name,
            suffix=None,
            date_of_birth=target.date_of_birth,
            sex=target.sex,
            ssn=None,
            language=target.language,
            phone=target.phone,
            phone_type=target.phone_type,
            email=None,
            contact_method=None,
            address=target.address,
        )
        copy.status, copy.merged_into = PatientStatus.MERGED, target
        return copy

    def people(self, n: int) -> list[Person]:
        out: list[Person] = []
        while len(out) < n:
            for member in self.household():
                out.append(member)
                if self.rng.random() < 0.004:
                    out.append(self.merged_copy(member))
        return out[:n]

    def relative_of(self, existing: Person) -> Person:
        """A new family member of a registered patient: same last name, address, phone."""
        sex = self.sex()
        adult = self.rng.random() < 0.4
        born = self.adult_birth_date() if adult else self.birth_date(0, 17)
        person = self.person(
            last_name=existing.last_name,
            sex=sex,
            born=born,
            language=existing.language,
            address=existing.address,
            shared_phone=existing.phone,
        )
        if not adult:
            person.phone, person.phone_type = existing.phone, "mobile"
            person.contact = (
                f"{existing.first_name} {existing.last_name}",
                "parent",
                existing.phone or self.phone(),
            )
        return person


# --- bulk rows -----------------------------------------------------------------------------


@dataclass
class Dataset:
    people: list[Person]
    patients: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    policies: list[dict[str, Any]]


def build_rows(people: list[Person], *, cipher: FieldCipher, rng: random.Random) -> Dataset:
    """Table rows as the service would write them: search keys, unique valid MRNs, SSNs
    encrypted with the app's keyring."""
    mrns: set[str] = set()
    patients, contacts, policies = [], [], []
    span = int(timedelta(days=8 * 365).total_seconds())
    for person in people:
        mrn = patients_service.new_mrn()
        while mrn in mrns:
            mrn = patients_service.new_mrn()
        mrns.add(mrn)
        person.mrn = mrn
        created = REF_TIME - timedelta(seconds=rng.randrange(span))
        updated = created + timedelta(
            seconds=rng.randrange(int((REF_TIME - created).total_seconds()) + 1)
        )
        line1, line2, city, state, postal = person.address
        patients.append(
            {
                "id": person.id,
                "mrn": mrn,
                "first_name": person.first_name,
                "middle_name": person.middle_name,
                "last_name": person.last_name,
                "suffix": person.suffix,
                "first_name_key": search_key(person.first_name),
                "last_name_key": search_key(person.last_name),
                "date_of_birth": person.date_of_birth,
                "sex": person.sex,
                "ssn_ciphertext": (
                    cipher.encrypt(person.ssn, context=patients_service.SSN_CONTEXT)
                    if person.ssn
                    else None
                ),
                "preferred_language": person.language,
                "phone": person.phone,
                "phone_type": person.phone_type,
                "email": person.email,
                "preferred_contact_method": person.contact_method,
                "address_line1": line1,
                "address_line2": line2,
                "address_city": city,
                "address_state": state,
                "address_postal_code": postal,
                "status": str(person.status),
                "merged_into_id": person.merged_into.id if person.merged_into else None,
                "version": 1,
                "created_at": created,
                "updated_at": updated,
            }
        )
        if person.contact:
            name, relationship, phone = person.contact
            contacts.append(
                {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "patient_id": person.id,
                    "position": 0,
                    "name": name,
                    "relationship": relationship,
                    "phone": phone,
                }
            )
        if person.status != PatientStatus.MERGED and rng.random() < 0.88:
            ranks = ["primary", "secondary"] if rng.random() < 0.12 else ["primary"]
            for rank in ranks:
                policies.append(_policy_row(person, rank, created, rng))
    return Dataset(people, patients, contacts, policies)


def _policy_row(person: Person, rank: str, created: datetime, rng: random.Random) -> dict[str, Any]:
    payer_name, payer_id, plan = rng.choice(PAYERS)
    medicare = payer_name.startswith("Medicare")
    guardian = person.guardian
    minor = guardian is not None and (REF_DATE - person.date_of_birth).days < 26 * 365
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "patient_id": person.id,
        "rank": rank,
        "active": True,
        "payer_name": payer_name,
        "payer_id": payer_id,
        "member_id": f"{rng.choice('ABCDHJKMW')}{rng.randrange(10**8, 10**9)}",
        "group_number": None if medicare else f"{rng.randrange(10**5, 10**6)}",
        "plan_name": plan,
        "subscriber_relationship": "child" if minor else "self",
        "subscriber_first_name": guardian.first_name if minor and guardian else None,
        "subscriber_last_name": guardian.last_name if minor and guardian else None,
        "subscriber_date_of_birth": guardian.date_of_birth if minor and guardian else None,
        "subscriber_sex": guardian.sex if minor and guardian else None,
        "effective_date": date(2025, 1, 1),
        "end_date": None,
        "copay_primary_care_cents": None if medicare else rng.choice([1500, 2000, 2500, 3000]),
        "copay_specialist_cents": None if medicare else rng.choice([4000, 5000, 6000]),
        "copay_urgent_care_cents": None if medicare else rng.choice([5000, 7500]),
        "copay_emergency_cents": None if medicare else rng.choice([15000, 25000]),
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }


def registration_payload(person: Person) -> dict[str, Any]:
    """The JSON body a front-desk client sends to POST /api/v1/patients."""
    line1, line2, city, state, postal = person.address
    body: dict[str, Any] = {
        "first_name": person.first_name,
        "middle_name": person.middle_name,
        "last_name": person.last_name,
        "suffix": person.suffix,
        "date_of_birth": person.date_of_birth.isoformat(),
        "sex": person.sex,
        "ssn": person.ssn,
        "preferred_language": person.language,
        "phone": _national(person.phone) if person.phone else None,
        "phone_type": person.phone_type,
        "email": person.email,
        "preferred_contact_method": person.contact_method,
        "address": {
            "line1": line1,
            "line2": line2,
            "city": city,
            "state": state,
            "postal_code": postal,
        },
        "emergency_contacts": [],
    }
    if person.contact:
        name, relationship, phone = person.contact
        body["emergency_contacts"] = [
            {"name": name, "relationship": relationship, "phone": _national(phone)}
        ]
    return {k: v for k, v in body.items() if v is not None}


def _national(e164: str) -> str:
    """+14135550123 → (413) 555-0123, as people type it."""
    digits = e164.removeprefix("+1")
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


# --- databases -----------------------------------------------------------------------------


def fresh_database(backend: str, *, workdir: Path, postgres_url: str) -> str:
    if backend == "sqlite":
        path = workdir / "frontdesk-bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    finally:
        admin.dispose()
    url = make_url(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def bulk_insert(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL; executemany in large batches on SQLite. One transaction."""
    if not rows:
        return
    columns = list(rows[0])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
            cursor.close()
        else:
            for start in range(0, len(rows), 10_000):
                conn.execute(table.insert(), rows[start : start + 10_000])


# --- measuring -----------------------------------------------------------------------------


class StatementLog:
    """Counts the statements sent to the database; optionally keeps them."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.kept: list[tuple[str, Any]] | None = None
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        self.count += 1
        if self.kept is not None:
            self.kept.append((statement, parameters))

    @contextmanager
    def keeping(self) -> Iterator[list[tuple[str, Any]]]:
        self.kept = []
        try:
            yield self.kept
        finally:
            self.kept = None


class AppTimes(logging.Handler):
    """The time the app itself reports for each request in its access log (middleware in to
    response out), so the TestClient's own transport cost can be told apart."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.last_ms: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 4 and isinstance(args[3], float):
            self.last_ms = args[3]

    @contextmanager
    def installed(self) -> Iterator[AppTimes]:
        access = logging.getLogger("frontdesk.access")
        level = access.level
        access.addHandler(self)
        access.setLevel(logging.INFO)
        try:
            yield self
        finally:
            access.removeHandler(self)
            access.setLevel(level)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summarize(samples_ms: Sequence[float]) -> dict[str, float]:
    values = sorted(samples_ms)
    return {
        "n": len(values),
        "mean": sum(values) / len(values) if values else math.nan,
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "min": values[0] if values else math.nan,
        "max": values[-1] if values else math.nan,
    }


@dataclass
class Query:
    kind: str
    label: str
    http: dict[str, str]  # query string, as a client sends it
    service: dict[str, Any]  # keyword arguments of search_patients, as the router passes them


SEARCH_KINDS: list[tuple[str, str]] = [
    ("name_1", "name, 1-letter prefix"),
    ("name_3", "name, 3-letter prefix"),
    ("name_last", "name, full last name"),
    ("name_last_first", "name, 'last, first'"),
    ("name_first_last", "name, 'first last'"),
    ("dob", "date_of_birth"),
    ("mrn", "mrn"),
    ("phone", "phone"),
    ("name_dob", "last name + date_of_birth"),
]


def make_query(kind: str, p: Person) -> Query:
    label = dict(SEARCH_KINDS)[kind]
    dob = p.date_of_birth
    if kind == "name_1":
        return Query(kind, label, {"name": p.last_name[0]}, {"name": p.last_name[0]})
    if kind == "name_3":
        return Query(kind, label, {"name": p.last_name[:3]}, {"name": p.last_name[:3]})
    if kind == "name_last":
        return Query(kind, label, {"name": p.last_name}, {"name": p.last_name})
    if kind == "name_last_first":
        name = f"{p.last_name}, {p.first_name}"
        return Query(kind, label, {"name": name}, {"name": name})
    if kind == "name_first_last":
        name = f"{p.first_name} {p.last_name}"
        return Query(kind, label, {"name": name}, {"name": name})
    if kind == "dob":
        return Query(kind, label, {"date_of_birth": dob.isoformat()}, {"date_of_birth": dob})
    if kind == "mrn":
        return Query(kind, label, {"mrn": p.mrn}, {"mrn": p.mrn})
    if kind == "phone":
        assert p.phone
        return Query(kind, label, {"phone": _national(p.phone)}, {"phone": p.phone})
    if kind == "name_dob":
        return Query(
            kind,
            label,
            {"name": p.last_name, "date_of_birth": dob.isoformat()},
            {"name": p.last_name, "date_of_birth": dob},
        )
    raise ValueError(kind)


def sample_queries(people: list[Person], *, count: int, seed: int) -> dict[str, list[Query]]:
    """`count` queries per kind, each for a patient drawn at random from the loaded ones (so
    common names come up as often as at a real front desk)."""
    rng = random.Random(seed)
    findable = [p for p in people if p.status != PatientStatus.MERGED]
    with_phone = [p for p in findable if p.phone]
    out = {}
    for kind, _ in SEARCH_KINDS:
        pool = with_phone if kind == "phone" else findable
        out[kind] = [make_query(kind, rng.choice(pool)) for _ in range(count)]
    return out


@dataclass
class BackendRun:
    backend: str
    url: str
    engine: Engine
    settings: Settings
    log: StatementLog
    timings: dict[str, float] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


def _phase(backend: str, what: str) -> Callable[[], float]:
    log.info("[%s] %s ...", backend, what)
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


def front_desk_user(run: BackendRun) -> tuple[StaffUser, str]:
    with Session(run.engine, expire_on_commit=False) as session:
        user = StaffUser(
            username="bench_frontdesk",
            display_name="Benchmark Front Desk",
            role=Role.FRONT_DESK,
            password_hash=hash_password(uuid.uuid4().hex),
        )
        session.add(user)
        session.commit()
    token, _ = encode_access_token(
        key=run.settings.signing_key(),
        user_id=str(user.id),
        token_version=user.token_version,
        minutes=240,
    )
    return user, token


def measure_searches(
    run: BackendRun,
    client: TestClient,
    actor_for: Callable[[], Actor],
    queries: dict[str, list[Query]],
    app_times: AppTimes,
    *,
    warmup: int,
) -> dict[str, Any]:
    """Each query over HTTP, then the same through the service alone (interleaved, so both
    see the same table and audit trail)."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    out: dict[str, Any] = {}
    for kind, label in SEARCH_KINDS:
        done = _phase(run.backend, f"search {kind} ({label}), {len(queries[kind]) - warmup} runs")
        http_ms: list[float] = []
        app_ms: list[float] = []
        service_ms: list[float] = []
        http_stmts = service_stmts = rows_total = 0
        for i, q in enumerate(queries[kind]):
            before = run.log.count
            app_times.last_ms = None
            started = time.perf_counter()
            response = client.get("/api/v1/patients", params=q.http)
            elapsed_http = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{kind} {q.http}: {response.status_code} {response.text}")
            n_http_stmts = run.log.count - before
            elapsed_app = app_times.last_ms

            before = run.log.count
            started = time.perf_counter()
            with factory() as session:
                rows = patients_service.search_patients(
                    session, actor=actor_for(), limit=PAGE_LIMIT, offset=0, **q.service
                )
                session.commit()
            elapsed_service = (time.perf_counter() - started) * 1000
            n_service_stmts = run.log.count - before

            items = len(response.json()["items"])
            if items != min(len(rows), PAGE_LIMIT):
                raise RuntimeError(f"{kind}: HTTP found {items} rows, the service {len(rows)}")
            if i < warmup:
                continue
            http_ms.append(elapsed_http)
            if elapsed_app is not None:
                app_ms.append(elapsed_app)
            service_ms.append(elapsed_service)
            http_stmts += n_http_stmts
            service_stmts += n_service_stmts
            rows_total += items
        n = len(http_ms)
        out[kind] = {
            "label": label,
            "http": summarize(http_ms),
            "app": summarize(app_ms),
            "service": summarize(service_ms),
            "rows_mean": rows_total / n,
            "statements_http": http_stmts / n,
            "statements_service": service_stmts / n,
        }
        log.info(
            "[%s] search %s: HTTP p50 %.2f ms, service p50 %.2f ms, %.1f rows (%.1fs)",
            run.backend,
            kind,
            out[kind]["http"]["p50"],
            out[kind]["service"]["p50"],
            out[kind]["rows_mean"],
            done(),
        )
    return out


def measure_registrations(
    run: BackendRun, client: TestClient, newcomers: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """`newcomers`: (who, body) with who "new household" or "relative" (shares the phone and
    last name of a registered patient)."""
    latencies: list[float] = []
    first_attempt: list[float] = []
    created = flagged = statements = 0
    flagged_by_who: Counter[str] = Counter(who for who, _ in newcomers)
    flagged_by_who.subtract(flagged_by_who)  # every key, at zero
    reasons: Counter[str] = Counter()
    started_all = time.perf_counter()
    for who, body in newcomers:
        before = run.log.count
        started = time.perf_counter()
        response = client.post("/api/v1/patients", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        latencies.append(elapsed)
        first_attempt.append(elapsed)
        if response.status_code == 409:
            flagged += 1
            flagged_by_who[who] += 1
            for candidate in response.json().get("candidates", [])[:1]:
                reasons[" + ".join(candidate["reasons"])] += 1
            started = time.perf_counter()
            response = client.post("/api/v1/patients", params={"confirm_new": "true"}, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"registration: {response.status_code} {response.text}")
        created += 1
        statements += run.log.count - before
    wall = time.perf_counter() - started_all
    return {
        "patients": len(newcomers),
        "created": created,
        "flagged_possible_duplicate": flagged,
        "flagged_by_kind_of_newcomer": {
            who: f"{flagged_by_who[who]} of {n}"
            for who, n in Counter(who for who, _ in newcomers).items()
        },
        "flagged_top_candidate_reasons": dict(reasons.most_common()),
        "requests": len(latencies),
        "wall_seconds": wall,
        "registrations_per_second": created / wall,
        "latency_all_posts": summarize(latencies),
        "latency_first_post": summarize(first_attempt),
        "statements_per_post": statements / len(latencies),
    }


def measure_sql(
    run: BackendRun,
    factory: Callable[[], Session],
    actor: Actor,
    queries: dict[str, list[Query]],
    *,
    count: int,
) -> dict[str, Any]:
    """The search statement alone, through the driver: no ORM, no audit, no HTTP. The SQL and
    parameters are those the service emits for each sampled query. On PostgreSQL twice: as a
    prepared statement (what psycopg does after five uses, so what the app gets; PostgreSQL
    may then plan it once for all values) and unprepared (planned for the values each time)."""
    out: dict[str, Any] = {}
    for kind, _ in SEARCH_KINDS:
        captured = []
        for q in queries[kind][:count]:
            with run.log.keeping() as kept, factory() as session:
                patients_service.search_patients(
                    session, actor=actor, limit=PAGE_LIMIT, offset=0, **q.service
                )
                session.rollback()
            captured.append(captured_patient_select(kept))
        modes = (
            {"prepared": True, "unprepared": False} if run.backend == "postgresql" else {"": None}
        )
        out[kind] = {}
        raw = run.engine.raw_connection()
        try:
            for mode, prepare in modes.items():
                samples = []
                for statement, parameters in captured:
                    cursor = raw.cursor()
                    started = time.perf_counter()
                    if prepare is None:
                        cursor.execute(statement, parameters)
                    else:
                        cursor.execute(statement, parameters, prepare=prepare)  # type: ignore[call-arg]
                    cursor.fetchall()
                    samples.append((time.perf_counter() - started) * 1000)
                    cursor.close()
                out[kind][f"sql_{mode}".rstrip("_")] = summarize(samples)
            raw.rollback()
        finally:
            raw.close()
    return out


# --- query plans ---------------------------------------------------------------------------


def captured_patient_select(kept: list[tuple[str, Any]]) -> tuple[str, Any]:
    for statement, parameters in kept:
        flat = " ".join(statement.split())
        if flat.upper().startswith("SELECT") and "FROM patients" in flat:
            return statement, parameters
    raise RuntimeError("no SELECT on patients was captured")


def explain_shapes(
    run: BackendRun,
    factory: Callable[[], Session],
    actor: Actor,
    queries: dict[str, list[Query]],
    registration: dict[str, Any],
) -> list[dict[str, Any]]:
    shapes: list[tuple[str, str, Callable[[Session], Any]]] = []
    for kind, _ in SEARCH_KINDS:
        q = queries[kind][0]
        shapes.append(
            (
                kind,
                json.dumps(q.service, default=str, ensure_ascii=False),
                lambda s, q=q: patients_service.search_patients(
                    s, actor=actor, limit=PAGE_LIMIT, offset=0, **q.service
                ),
            )
        )
    demo = Demographics(
        registration["first_name"],
        registration["last_name"],
        date.fromisoformat(registration["date_of_birth"]),
        "+1" + re.sub(r"\D", "", registration.get("phone", ""))
        if registration.get("phone")
        else None,
    )
    shapes.append(
        (
            "duplicate_check",
            json.dumps(
                {
                    "first": demo.first_name,
                    "last": demo.last_name,
                    "dob": str(demo.date_of_birth),
                    "phone": demo.phone,
                },
                ensure_ascii=False,
            ),
            lambda s: patients_service.find_duplicates(s, data=demo),
        )
    )
    out = []
    for name, value, call in shapes:
        with run.log.keeping() as kept, factory() as session:
            call(session)
            session.rollback()
        statement, parameters = captured_patient_select(kept)
        if run.backend == "sqlite":
            entry = explain_sqlite(run.engine, statement, parameters)
        else:
            entry = explain_postgres(run.engine, statement, parameters)
        entry.update({"shape": name, "value": value, "sql": " ".join(statement.split())})
        out.append(entry)
    return out


def explain_sqlite(engine: Engine, statement: str, parameters: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        conn.rollback()
    depth: dict[int, int] = {}
    lines = []
    for node_id, parent, _unused, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    access, scan = [], False
    for _node_id, _parent, _unused, detail in rows:
        m = re.match(r"(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", detail)
        if m and m.group(2) == "patients":
            index = m.group(3)
            if m.group(1) == "SCAN":
                scan = True
                access.append(f"FULL INDEX SCAN {index}" if index else "FULL TABLE SCAN")
            else:
                access.append(f"index seek {index or 'rowid'}")
        elif "TEMP B-TREE" in detail:
            access.append(detail.lower())
    return {"plan": lines, "verdict": "; ".join(access), "full_scan": scan}


def explain_postgres(engine: Engine, statement: str, parameters: Any) -> dict[str, Any]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        custom = _pg_json(cursor.fetchone()[0])
        # After five executions psycopg prepares a statement server-side, and PostgreSQL may
        # then switch to a generic plan made without the parameter values: show that one too.
        names: list[str] = []

        def positional(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        prepared = re.sub(r"%\((\w+)\)s", positional, statement)
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE bench_shape AS " + prepared)
        from psycopg import sql

        args = sql.SQL(", ").join(sql.Literal(parameters[n]) for n in names)
        cursor.execute(
            sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE bench_shape ({})").format(args).as_string(raw)
        )
        generic = _pg_json(cursor.fetchone()[0])
        cursor.execute("DEALLOCATE bench_shape")
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return {
        "plan": custom["lines"],
        "verdict": custom["verdict"],
        "full_scan": custom["scan"],
        "execution_ms": custom["execution_ms"],
        "generic_plan": generic["lines"],
        "generic_verdict": generic["verdict"],
        "generic_full_scan": generic["scan"],
    }


def _pg_json(document: Any) -> dict[str, Any]:
    top = document[0] if isinstance(document, list) else json.loads(document)[0]
    lines: list[str] = []
    access: list[str] = []
    scan = False

    def walk(node: dict[str, Any], depth: int) -> None:
        nonlocal scan
        kind = node["Node Type"]
        head = kind
        if node.get("Index Name"):
            head += f" using {node['Index Name']}"
        if node.get("Relation Name"):
            head += f" on {node['Relation Name']}"
        if "Actual Rows" in node:
            head += (
                f"  (rows={node['Actual Rows']} loops={node['Actual Loops']} "
                f"time={node['Actual Total Time']:.3f} ms)"
            )
        else:
            head += f"  (est. rows={node['Plan Rows']} cost={node['Total Cost']:.0f})"
        lines.append("  " * depth + "-> " + head)
        for key in ("Index Cond", "Recheck Cond", "Filter", "Sort Key", "Presorted Key"):
            if key in node:
                value = ", ".join(node[key]) if isinstance(node[key], list) else node[key]
                lines.append("  " * depth + f"     {key}: {value}")
        if node.get("Rows Removed by Filter"):
            lines.append(
                "  " * depth + f"     Rows Removed by Filter: {node['Rows Removed by Filter']}"
            )
        if "Sort Method" in node:
            lines.append("  " * depth + f"     Sort Method: {node['Sort Method']}")
        on_patients = node.get("Relation Name") == "patients" or (
            kind == "Bitmap Index Scan"
            and str(node.get("Index Name", "")).startswith("ix_patients")
        )
        if on_patients:
            if kind == "Seq Scan":
                scan = True
                access.append("SEQ SCAN")
            elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
                scan = True
                access.append(f"FULL INDEX SCAN {node['Index Name']}")
            elif kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
                access.append(f"index seek {node['Index Name']}")
        if kind in ("Sort", "Incremental Sort"):
            access.append(kind.lower())
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(top["Plan"], 0)
    return {
        "lines": lines,
        "verdict": "; ".join(dict.fromkeys(access)),
        "scan": scan,
        "execution_ms": top.get("Execution Time"),
    }


# --- one backend ---------------------------------------------------------------------------


def run_backend(
    backend: str,
    *,
    args: argparse.Namespace,
    workdir: Path,
    dataset: Dataset,
    queries: dict[str, list[Query]],
    registrations: list[tuple[str, dict[str, Any]]],
    generate_seconds: float,
) -> dict[str, Any]:
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
    run.timings["migrate_s"] = done()

    done = _phase(
        backend,
        f"bulk load of {len(dataset.patients):,} patients, {len(dataset.contacts):,} emergency "
        f"contacts, {len(dataset.policies):,} policies",
    )
    bulk_insert(engine, Patient.__table__, dataset.patients)  # type: ignore[attr-defined]
    bulk_insert(engine, EmergencyContact.__table__, dataset.contacts)  # type: ignore[attr-defined]
    bulk_insert(engine, InsurancePolicy.__table__, dataset.policies)  # type: ignore[attr-defined]
    run.timings["load_s"] = done()
    log.info(
        "[%s] loaded in %.1fs (%.0f patients/s)",
        backend,
        run.timings["load_s"],
        len(dataset.patients) / run.timings["load_s"],
    )
    done = _phase(backend, "statistics")
    if backend == "postgresql":
        # What autovacuum does shortly after a load this size; done now so the plans are stable.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "VACUUM (ANALYZE) patients, emergency_contacts, insurance_policies"
            )
            # Write the load out now rather than in a checkpoint during the measurements.
            conn.exec_driver_sql("CHECKPOINT")
    else:
        raw = engine.raw_connection()  # autocommit: the app's BEGIN IMMEDIATE is not wanted here
        try:
            if args.sqlite_analyze:
                raw.execute("ANALYZE")  # type: ignore[attr-defined]
            # Copy the load from the WAL into the database file now, not during the searches.
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        finally:
            raw.close()
    run.timings["analyze_s"] = done()

    user, token = front_desk_user(run)
    principal = Principal(
        kind=PrincipalKind.USER, id=user.id, name=user.username, role=Role.FRONT_DESK
    )

    def actor_for() -> Actor:
        origin = RequestOrigin(
            ip="testclient", user_agent="benchmarks", request_id=uuid.uuid4().hex
        )
        return Actor(principal=principal, origin=origin)

    app = create_app(settings, engine=engine)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        done = _phase(backend, "searches")
        with AppTimes().installed() as app_times:
            run.results["search"] = measure_searches(
                run, client, actor_for, queries, app_times, warmup=args.warmup
            )
        run.timings["search_s"] = done()

        done = _phase(backend, f"registrations: {len(registrations)} POST /api/v1/patients")
        reg = measure_registrations(run, client, registrations)
        run.results["registration"] = reg
        run.timings["registration_s"] = done()
        log.info(
            "[%s] %d registrations, %.1f/s, p50 %.1f ms, p95 %.1f ms, %d flagged as possible "
            "duplicates",
            backend,
            reg["created"],
            reg["registrations_per_second"],
            reg["latency_all_posts"]["p50"],
            reg["latency_all_posts"]["p95"],
            reg["flagged_possible_duplicate"],
        )

        done = _phase(backend, f"SQL alone, {min(args.iterations, 100)} statements per kind")
        sql_times = measure_sql(
            run, app.state.session_factory, actor_for(), queries, count=min(args.iterations, 100)
        )
        for kind, figures in sql_times.items():
            run.results["search"][kind].update(figures)
        run.timings["sql_s"] = done()

        done = _phase(backend, "query plans")
        run.results["explain"] = explain_shapes(
            run, app.state.session_factory, actor_for(), queries, registrations[0][1]
        )
        run.timings["explain_s"] = done()

    with Session(engine) as session:
        audit_events = session.exec(text("SELECT count(*) FROM audit_events")).one()[0]  # type: ignore[call-overload]
        patients = session.exec(text("SELECT count(*) FROM patients")).one()[0]  # type: ignore[call-overload]
    engine.dispose()
    return {
        "backend": backend,
        "database": _server_version(backend, url),
        "patients_loaded": len(dataset.patients),
        "patients_after": patients,
        "audit_events_after": audit_events,
        "config": {
            "patients": args.patients,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "registrations": args.registrations,
            "seed": args.seed,
            "page_limit": PAGE_LIMIT,
            "sqlite_analyze": args.sqlite_analyze if backend == "sqlite" else None,
        },
        "environment": _environment(),
        "timings_s": {"generate_s": generate_seconds, **run.timings},
        **run.results,
    }


def _server_version(backend: str, url: str) -> str:
    if backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())
    finally:
        engine.dispose()


def _environment() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git_commit": commit,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- report --------------------------------------------------------------------------------


def print_report(results: list[dict[str, Any]]) -> None:
    print()
    for r in results:
        n = r["config"]["iterations"]
        print(
            f"== {r['backend']} ({r['database']}), {r['patients_loaded']:,} patients, "
            f"{n} searches per kind, page size {PAGE_LIMIT}; times in ms =="
        )
        header = (
            f"{'query':<26} {'HTTP p50':>8} {'p95':>6} {'p99':>6} {'mean':>6} | "
            f"{'app p50':>7} | {'svc p50':>7} {'p95':>6} {'p99':>6} {'mean':>6} | "
            f"{'HTTP-svc':>8} | {'SQL p50':>11} | {'rows':>4} {'stmts':>5}"
        )
        print(header)
        print("-" * len(header))
        for kind, label in SEARCH_KINDS:
            s = r["search"][kind]
            h, a, v = s["http"], s["app"], s["service"]
            sql = f"{s['sql']['p50']:.2f}" if "sql" in s else ""
            if "sql_prepared" in s:
                sql = f"{s['sql_prepared']['p50']:.2f}/{s['sql_unprepared']['p50']:.2f}"
            print(
                f"{label:<26} {h['p50']:>8.2f} {h['p95']:>6.2f} {h['p99']:>6.2f} "
                f"{h['mean']:>6.2f} | {a['p50']:>7.2f} | "
                f"{v['p50']:>7.2f} {v['p95']:>6.2f} {v['p99']:>6.2f} {v['mean']:>6.2f} | "
                f"{h['mean'] - v['mean']:>8.2f} | {sql:>11} | {s['rows_mean']:>4.1f} "
                f"{s['statements_http']:>5.1f}"
            )
        print(
            "HTTP: TestClient round trip; app: the app's own access-log time; svc: "
            "search_patients + commit, no HTTP;\nHTTP-svc: difference of means; SQL: the "
            "search statement alone through the driver"
            + (" (prepared/unprepared)" if r["backend"] == "postgresql" else "")
            + "; rows: returned per search (page of 50); stmts: SQL statements per HTTP search"
        )
        g = r["registration"]
        lat = g["latency_all_posts"]
        print(
            f"registration (POST): {g['created']} created in {g['wall_seconds']:.1f}s = "
            f"{g['registrations_per_second']:.1f}/s; latency p50 {lat['p50']:.2f} p95 "
            f"{lat['p95']:.2f} p99 {lat['p99']:.2f} mean {lat['mean']:.2f}; "
            f"{g['flagged_possible_duplicate']} flagged as possible duplicates (409, re-sent "
            f"with confirm_new: {g['flagged_by_kind_of_newcomer']}); "
            f"{g['statements_per_post']:.1f} SQL statements per POST"
        )
        t = r["timings_s"]
        print("phases (s): " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.items()))
        print("query plans:")
        for e in r["explain"]:
            flag = "SCAN " if e["full_scan"] else "ok   "
            extra = ""
            if "generic_verdict" in e:
                gflag = "SCAN" if e["generic_full_scan"] else "ok"
                extra = (
                    f" | {e['execution_ms']:.2f} ms | generic plan: {gflag}: {e['generic_verdict']}"
                )
            print(f"  {flag}{e['shape']:<16} {e['verdict']}{extra}")
        print()
    if len(results) == 2:
        a, b = results
        print(f"== {a['backend']} vs {b['backend']}: HTTP mean / p95 (ms) ==")
        for kind, label in SEARCH_KINDS:
            ha, hb = a["search"][kind]["http"], b["search"][kind]["http"]
            print(
                f"{label:<28} {ha['mean']:>7.2f} / {ha['p95']:>7.2f}    "
                f"{hb['mean']:>7.2f} / {hb['p95']:>7.2f}"
            )
        ra, rb = a["registration"], b["registration"]
        print(
            f"{'registrations per second':<28} {ra['registrations_per_second']:>17.1f}    "
            f"{rb['registrations_per_second']:>17.1f}"
        )
        print()


def print_plans(result: dict[str, Any]) -> None:
    for e in result["explain"]:
        log.info(
            "[%s] plan for %s %s\n  %s\n%s",
            result["backend"],
            e["shape"],
            e["value"],
            e["sql"],
            "\n".join("    " + line for line in e["plan"]),
        )
        if e.get("generic_plan"):
            log.info(
                "[%s] generic plan for %s\n%s",
                result["backend"],
                e["shape"],
                "\n".join("    " + line for line in e["generic_plan"]),
            )


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.patient_search", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FRONTDESK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"a server where the role may CREATE DATABASE; {BENCH_DATABASE} is dropped and "
        "recreated on it (default: $FRONTDESK_BENCH_POSTGRES_URL, else %(default)s)",
    )
    parser.add_argument("--iterations", type=int, default=200, help="searches per query kind")
    parser.add_argument("--warmup", type=int, default=10, help="untimed searches per kind first")
    parser.add_argument("--registrations", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE on SQLite after the load (the product does not; off by default)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file and keyring")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    try:
        done = _phase("setup", f"generating {args.patients:,} patients (seed {args.seed})")
        keyring = load_keyring(workdir / "keys.json", create=True)
        population = Population(random.Random(args.seed))
        people = population.people(args.patients)
        dataset = build_rows(people, cipher=FieldCipher(keyring), rng=random.Random(args.seed + 1))
        queries = sample_queries(people, count=args.iterations + args.warmup, seed=args.seed + 2)
        newcomers = Population(random.Random(args.seed + 3))
        registered = [p for p in people if p.status != PatientStatus.MERGED and p.phone]
        new_people: list[tuple[str, Person]] = []
        while len(new_people) < args.registrations:
            if newcomers.rng.random() < 0.1:  # a relative of a registered patient
                relative = newcomers.relative_of(newcomers.rng.choice(registered))
                new_people.append(("relative", relative))
            else:
                new_people.extend(("new household", p) for p in newcomers.household())
        registrations = [
            (who, registration_payload(p)) for who, p in new_people[: args.registrations]
        ]
        generate_seconds = done()
        # The generated data stays in memory for the second backend; keep the garbage
        # collector from walking it again and again, which a server process would not do.
        gc.collect()
        gc.freeze()
        last_names = Counter(row["last_name_key"] for row in dataset.patients)
        log.info(
            "[setup] %d patients in %.1fs: %d distinct last names (largest %s), %.0f%% with an "
            "SSN, %.0f%% with a phone, %d distinct phones",
            len(dataset.patients),
            generate_seconds,
            len(last_names),
            last_names.most_common(5),
            100 * sum(1 for r in dataset.patients if r["ssn_ciphertext"]) / len(dataset.patients),
            100 * sum(1 for r in dataset.patients if r["phone"]) / len(dataset.patients),
            len({r["phone"] for r in dataset.patients if r["phone"]}),
        )
        results = []
        args.results_dir.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            result = run_backend(
                backend,
                args=args,
                workdir=workdir,
                dataset=dataset,
                queries=queries,
                registrations=registrations,
                generate_seconds=generate_seconds,
            )
            print_plans(result)
            path = args.results_dir / f"patient_search-{backend}.json"
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
