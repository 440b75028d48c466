"""270 requests shaped like the guide's samples, and 271 answers read into what the front desk
needs (pyx12 has no 5010 270/271 map: the structure is checked against the shared samples)."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.billing.claim import Interchange, Party, Person, Provider
from backoffice.billing.x12.eligibility import build_270, read_271
from backoffice.billing.x12.reading import X12ReadError, read_interchange
from backoffice.billing.x12.segments import X12WriteError

DATA = Path(__file__).resolve().parents[2] / "data" / "x12"

INTERCHANGE = Interchange(
    sender_id="FRONTDESK",
    receiver_id="CLEARINGHOUSE",
    submitter=Party("FRONTDESK FAMILY PRACTICE", "FRONTDESK"),
    receiver=Party("CLEARINGHOUSE", "CLEARINGHOUSE"),
    interchange_control_number=42,
    group_control_number=7,
)
PAYER = Party("ABC Company", "842610001")
CLINIC = Provider(npi="1234567893", last_name="Bone and Joint Clinic", tax_id="123456789")
SUBSCRIBER = Person(
    last_name="Smíth", first_name="Robert", date_of_birth=date(1943, 5, 19), sex="M",
    member_id="11122333301",
)  # fmt: skip


def build(**changes):  # type: ignore[no-untyped-def]
    arguments = {
        "payer": PAYER,
        "provider": CLINIC,
        "subscriber": SUBSCRIBER,
        "trace_number": "93175-012547",
        "service_date": date(2026, 3, 2),
        "created": datetime(2026, 3, 1, 13, 19),
    }
    return build_270(INTERCHANGE, **{**arguments, **changes})


def segments_of(text: str, functional_id: str) -> list[str]:
    [ts] = read_interchange(text, functional_id=functional_id, version="005010X279A1")
    return [f"{s.id}*{'*'.join(s.elements)}" for s in ts.segments]


def test_a_270_has_the_structure_of_the_guides_subscriber_sample() -> None:
    sample = (DATA / "lfh_270_005010X279A1__subscriber-health-benefit-check.270").read_text()
    ours, theirs = segments_of(build(), "HS"), segments_of(sample, "HS")
    assert [s[:3] for s in ours] == [s[:3] for s in theirs]  # ST BHT HL NM1 … EQ SE


def test_a_270_carries_the_request() -> None:
    ours = segments_of(build(), "HS")
    assert ours[1:] == [
        "BHT*0022*13*93175-012547*20260301*1319",
        "HL*1**20*1",
        "NM1*PR*2*ABC COMPANY*****PI*842610001",
        "HL*2*1*21*1",
        "NM1*1P*2*BONE AND JOINT CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*1*93175-012547*1123456789",
        "NM1*IL*1*SMITH*ROBERT****MI*11122333301",  # accents lose their marks
        "DMG*D8*19430519*M",
        "DTP*291*D8*20260302",
        "EQ*30",
        "SE*13*0001",
    ]


def test_a_270_asks_for_several_service_types_as_repeats() -> None:
    assert segments_of(build(service_types=("30", "98", "UC")), "HS")[-2] == "EQ*30^98^UC"


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"provider": Provider(npi="1234567893", last_name="Clinic")}, "provider.tax_id"),
        ({"subscriber": Person("Smith", "Rob", date(1943, 5, 19), "M")}, "subscriber.member_id"),
        ({"trace_number": "A*B"}, "trace_number"),
    ],
)
def test_a_270_refuses_what_it_cannot_carry(changes: dict, where: str) -> None:
    with pytest.raises(X12WriteError) as raised:
        build(**changes)
    assert raised.value.where == where


SAMPLES_271 = {
    # file: [(member id, dependent, active, plan, copay, rejection reasons)]
    "lfh_271_005010X279A1__subscriber-health-benefit-check.271": [
        ("123456789", False, True, "GOLD 123 PLAN", Decimal("10.00"), [])
    ],
    "lfh_271_005010X279A1__dependent-health-benefit-check.271": [
        ("123456789", True, True, "GOLD 123 PLAN", Decimal("10.00"), [])
    ],
    "lfh_271_005010X279A1__subscriber-health-benefit-check-error.271": [
        (None, False, None, None, None, ["50"])
    ],
}


@pytest.mark.parametrize("name", sorted(SAMPLES_271))
def test_each_271_sample_reads(name: str) -> None:
    responses = read_271((DATA / name).read_text())
    assert [
        (
            r.member_id,
            r.is_dependent,
            r.active,
            r.plan_name,
            r.copay,
            [x.reason for x in r.rejections],
        )
        for r in responses
    ] == SAMPLES_271[name]
    assert {r.payer_name for r in responses} == {"ABC COMPANY"}


def test_the_in_network_copay_is_chosen_over_the_out_of_network_one() -> None:
    [answer] = read_271(
        (DATA / "lfh_271_005010X279A1__subscriber-health-benefit-check.271").read_text()
    )
    assert sorted(b.amount for b in answer.benefits if b.code == "B") == [
        Decimal("10.00"),
        Decimal("30.00"),
    ]
    assert answer.copay == Decimal("10.00")
    assert (answer.trace_numbers, answer.plan_begin) == (("93175-012547",), date(2006, 1, 1))


def test_the_error_sample_is_noted_for_its_control_number() -> None:
    [answer] = read_271(
        (DATA / "lfh_271_005010X279A1__subscriber-health-benefit-check-error.271").read_text()
    )
    assert answer.notes == ("segment 10 (SE): SE02 does not match ST02",)
    assert answer.rejections[0].follow_up == "N"


def crafted_271(*benefits: str) -> str:
    body = [
        "ST*271*0001*005010X279A1",
        "BHT*0022*11*REQ1*20260301*1319",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01",
        "HL*2*1*21*1",
        "NM1*1P*2*FRONTDESK FAMILY PRACTICE*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*2*TRACE1*1123456789",
        "NM1*IL*1*DOE*JANE****MI*MEM1001",
        *benefits,
    ]
    body.append(f"SE*{len(body) + 1}*0001")
    return (
        "~\n".join(
            [
                "ISA*00*          *00*          *ZZ*ACME           *ZZ*FRONTDESK      "
                "*260301*1319*^*00501*000000001*0*T*:",
                "GS*HB*ACME*FRONTDESK*20260301*1319*1*X*005010X279A1",
                *body,
                "GE*1*1",
                "IEA*1*000000001",
            ]
        )
        + "~\n"
    )


def test_copay_coinsurance_and_deductible_remaining() -> None:
    [answer] = read_271(
        crafted_271(
            "EB*1*IND*30**PPO GOLD",
            "EB*B*IND*30*PR**27*25.00*****Y",
            "EB*B*IND*30*PR**27*50.00*****N",
            "EB*A*IND*30*PR****.2****Y",
            "EB*C*IND*30*PR**23*1000.00*****Y",
            "EB*C*FAM*30*PR**29*900.00*****Y",
            "EB*C*IND*30*PR**29*350.00*****Y",
        )
    )
    assert (answer.active, answer.plan_name) == (True, "PPO GOLD")
    assert (answer.copay, answer.coinsurance) == (Decimal("25.00"), Decimal(".2"))
    assert answer.deductible_remaining == Decimal("350.00")  # the individual's, left this year


def test_inactive_coverage() -> None:
    [answer] = read_271(crafted_271("EB*6**30"))
    assert answer.active is False
    assert (answer.copay, answer.deductible_remaining) == (None, None)


def test_a_rejected_subscriber() -> None:
    [answer] = read_271(crafted_271("AAA*Y**72*C"))
    assert answer.active is None
    assert [(r.reason, r.follow_up) for r in answer.rejections] == [("72", "C")]


def test_a_truncated_271_names_the_segment() -> None:
    text = crafted_271("EB*1*IND*30**PPO GOLD")
    with pytest.raises(X12ReadError, match=r"^segment 12 \(EB\): truncated \(no SE after it\)"):
        read_271(text[: text.index("SE*")])


def test_a_270_is_not_a_271() -> None:
    with pytest.raises(X12ReadError, match=r"segment 2 \(GS\): GS01 is 'HS', not HB"):
        read_271(build())
