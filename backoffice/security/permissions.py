"""What each role may do. This table is the one place permissions are decided; the README
prints it and the role-matrix test walks every endpoint against it."""

from __future__ import annotations

from enum import StrEnum

from shared.enums import Role


class Permission(StrEnum):
    PATIENTS_READ = "patients:read"  # demographics and insurance on file
    PATIENTS_WRITE = "patients:write"  # register, edit, add and change insurance policies
    PATIENTS_READ_SSN = "patients:read_ssn"  # the full SSN rather than its last four digits
    PATIENTS_MERGE = "patients:merge"
    SCHEDULE_READ = "schedule:read"  # appointment types, open slots, the appointment book
    APPOINTMENTS_WRITE = "appointments:write"  # book, and move appointments along
    # Locations, providers, appointment types, weekly templates, exceptions, calendar feeds.
    SCHEDULE_MANAGE = "schedule:manage"
    # Patient ledgers and card payments; the copay staff set by hand for an appointment.
    PAYMENTS_READ = "payments:read"
    COPAY_OVERRIDE = "payments:override_copay"
    # Refunds to the card and ledger adjustments.
    PAYMENTS_ADJUST = "payments:adjust"
    # Charges, claims, remittances, denials, A/R, statements and payment plans: to see them,
    # and to work them (review charges, make and submit claims, post ERAs, resubmit denials).
    BILLING_READ = "billing:read"
    BILLING_WRITE = "billing:write"
    # A completed visit's diagnoses and procedures, entered by its provider or by billing.
    CHARGES_CAPTURE = "billing:capture_charges"
    # Ask a payer whether a policy is active (270/271) and see the answers.
    ELIGIBILITY_CHECK = "billing:check_eligibility"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    DEVICES_MANAGE = "devices:manage"
    KIOSK = "kiosk"  # the kiosk API; held by enrolled kiosk devices only
    # The waiting-room screen: ticket numbers or initials and expected waits, nothing more.
    LOBBY_DISPLAY = "lobby:display"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.FRONT_DESK: frozenset(
        {
            Permission.PATIENTS_READ,
            Permission.PATIENTS_WRITE,
            Permission.SCHEDULE_READ,
            Permission.APPOINTMENTS_WRITE,
            Permission.PAYMENTS_READ,
            Permission.COPAY_OVERRIDE,
            Permission.ELIGIBILITY_CHECK,
        }
    ),
    Role.NURSE: frozenset(
        {Permission.PATIENTS_READ, Permission.SCHEDULE_READ, Permission.APPOINTMENTS_WRITE}
    ),
    Role.PROVIDER: frozenset(
        {
            Permission.PATIENTS_READ,
            Permission.SCHEDULE_READ,
            Permission.APPOINTMENTS_WRITE,
            Permission.CHARGES_CAPTURE,
        }
    ),
    Role.BILLING: frozenset(
        {
            Permission.PATIENTS_READ,
            Permission.PATIENTS_WRITE,
            Permission.PATIENTS_READ_SSN,
            Permission.SCHEDULE_READ,
            Permission.PAYMENTS_READ,
            Permission.COPAY_OVERRIDE,
            Permission.PAYMENTS_ADJUST,
            Permission.BILLING_READ,
            Permission.BILLING_WRITE,
            Permission.CHARGES_CAPTURE,
            Permission.ELIGIBILITY_CHECK,
        }
    ),
    # Admin holds every staff permission; the kiosk API and the lobby screen stay with devices.
    Role.ADMIN: frozenset(
        p for p in Permission if p not in (Permission.KIOSK, Permission.LOBBY_DISPLAY)
    ),
}

# What a device may do, by its kind: a lobby display cannot call the kiosk API.
DEVICE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "kiosk": frozenset({Permission.KIOSK}),
    "display": frozenset({Permission.LOBBY_DISPLAY}),
}
