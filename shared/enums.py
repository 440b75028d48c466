"""Code sets used on both sides of the wire. Values are the JSON spelling."""

from enum import StrEnum


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    NURSE = "nurse"
    PROVIDER = "provider"
    BILLING = "billing"
    ADMIN = "admin"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class PhoneType(StrEnum):
    MOBILE = "mobile"
    HOME = "home"
    WORK = "work"


class ContactMethod(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    SMS = "sms"
    PORTAL = "portal"


class PatientStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DECEASED = "deceased"
    # A record folded into another by a merge; kept so old references still resolve.
    MERGED = "merged"


class PolicyRank(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"


class SubscriberRelationship(StrEnum):
    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"


class PrincipalKind(StrEnum):
    USER = "user"
    DEVICE = "device"
    CALENDAR_FEED = "calendar_feed"  # a subscriber holding a provider's feed token
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


class AppointmentCategory(StrEnum):
    PRIMARY_CARE = "primary_care"
    SPECIALIST = "specialist"
    PROCEDURE = "procedure"
    URGENT_CARE = "urgent_care"
    TELEHEALTH = "telehealth"


class ScheduleExceptionKind(StrEnum):
    PTO = "pto"  # one provider away
    HOLIDAY = "holiday"  # the clinic (or one location) closed for a holiday
    CLOSURE = "closure"  # closed for another reason: weather, a power cut, training
    EXTRA_SESSION = "extra_session"  # time added to one provider's week
