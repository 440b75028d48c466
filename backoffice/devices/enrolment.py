"""A kiosk's credential, from enrolment to rotation to the token each call carries.

    admin: create_enrollment_code ──code──▶ technician ──▶ enrol(code, public key)
        ──▶ a kiosk Device holding the public key, and its first token
    kiosk: issue_challenge ──▶ rotate_credential(signature of the challenge) ──▶ a new token
    every call: device_for_token

A code is single use even under concurrent requests: it is claimed by one conditional UPDATE.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backoffice.clinic.models import Location
from backoffice.devices.models import Device, EnrollmentCode
from backoffice.devices.service import name_taken, new_token
from backoffice.security.actor import Actor
from backoffice.security.principal import Principal, RequestOrigin
from backoffice.security.tokens import digest
from shared.contracts import provisioning as contract
from shared.enums import AuditOutcome, PrincipalKind
from shared.errors import AppError, FieldError, InvalidInput, NotAuthenticated

DEFAULT_CODE_LIFETIME = timedelta(hours=1)
MAX_CODE_LIFETIME = timedelta(days=7)
CHALLENGE_LIFETIME = timedelta(minutes=5)
# How long a rotated-out token still works if the kiosk never used its new one.
PREVIOUS_TOKEN_GRACE = timedelta(days=2)


class EnrollmentRefused(AppError):
    """The code cannot enrol a kiosk; `reason` says why (invalid, expired or used)."""

    status = 403
    code = "enrollment-refused"
    title = "Enrolment refused"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# --- codes ------------------------------------------------------------------------------------


def create_enrollment_code(
    session: Session,
    *,
    actor: Actor,
    location_id: uuid.UUID,
    now: datetime,
    lifetime: timedelta = DEFAULT_CODE_LIFETIME,
    payment_reader_id: str | None = None,
    device_id: uuid.UUID | None = None,
    device_name: str | None = None,
) -> tuple[EnrollmentCode, str]:
    """A one-time code for enrolling a kiosk at `location_id`; returned once, kept as a digest.
    With `device_id`, the kiosk enrolled takes that device's place (same name, new key)."""
    problems = []
    if session.get(Location, location_id) is None:
        problems.append(FieldError("location_id", "Choose one of the locations."))
    if not timedelta(minutes=5) <= lifetime <= MAX_CODE_LIFETIME:
        problems.append(FieldError("expires_in_minutes", "From 5 minutes to 7 days."))
    if device_id is not None:
        replaced = session.get(Device, device_id)
        if replaced is None or replaced.kind != "kiosk":
            problems.append(FieldError("device_id", "No kiosk with that id."))
    elif device_name is not None and name_taken(session, device_name):
        problems.append(FieldError("device_name", "A device has that name already."))
    if problems:
        raise InvalidInput("The enrolment code cannot be made.", problems)
    text = "".join(secrets.choice(contract.CODE_ALPHABET) for _ in range(contract.CODE_LENGTH))
    code = EnrollmentCode(
        code_hash=digest(text),
        location_id=location_id,
        payment_reader_id=payment_reader_id,
        device_id=device_id,
        device_name=device_name,
        created_by=actor.principal.id if actor.principal.kind is PrincipalKind.USER else None,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(code)
    session.flush()
    actor.audit(
        session,
        "devices.enrollment_code",
        resource_type="enrollment_code",
        resource_id=code.id,
        detail={"location_id": str(location_id), "expires_at": code.expires_at.isoformat()},
    )
    return code, contract.format_code(text)


def _usable_code(session: Session, text: str, now: datetime) -> EnrollmentCode:
    normalised = contract.normalise_code(text)
    code = (
        session.exec(
            select(EnrollmentCode).where(EnrollmentCode.code_hash == digest(normalised))
        ).first()
        if contract.is_code_shaped(normalised)
        else None
    )
    if code is None:
        raise EnrollmentRefused(
            "That enrolment code is not valid: check it against the one the admin gave you.",
            reason="invalid",
        )
    if code.used_at is not None:
        raise EnrollmentRefused(
            f"That enrolment code was already used ({_when(code.used_at)}): "
            "ask an admin for a new one.",
            reason="used",
        )
    if code.expires_at <= now:
        raise EnrollmentRefused(
            f"That enrolment code expired at {_when(code.expires_at)}: ask an admin for a new one.",
            reason="expired",
        )
    return code


def _claim(session: Session, code: EnrollmentCode, now: datetime) -> None:
    """Mark the code used, unless another request did so first."""
    claimed = session.execute(
        update(EnrollmentCode)
        .where(col(EnrollmentCode.id) == code.id, col(EnrollmentCode.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrollmentRefused(
            "That enrolment code was already used: ask an admin for a new one.", reason="used"
        )


def _verify(public_key: str, signature: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(contract.unb64(public_key))
        key.verify(contract.unb64(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _checked_public_key(public_key: str) -> str:
    try:
        raw = contract.unb64(public_key)
        if len(raw) != 32:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            "That is not an Ed25519 public key.",
            [FieldError("public_key", "32 bytes, base64url.")],
        ) from None
    return contract.b64(raw)


def _proven_previous(
    session: Session, request: contract.EnrollmentRequest, public_key: str
) -> Device | None:
    """The device a kiosk was before, when it signed this enrolment with that device's key."""
    if request.previous_device_id is None or request.previous_signature is None:
        return None
    device = session.get(Device, request.previous_device_id)
    if device is None or device.public_key is None or device.kind != "kiosk":
        return None
    message = contract.reenrolment_message(device.id, request.code, public_key)
    return device if _verify(device.public_key, request.previous_signature, message) else None


def enrol(
    session: Session,
    *,
    request: contract.EnrollmentRequest,
    origin: RequestOrigin,
    now: datetime,
) -> tuple[Device, str]:
    """Exchange a code and the kiosk's public key for its device and first token.

    Enrolling again replaces the old credential: into the device the code names, or into
    the device whose old key signed the request. Otherwise a new kiosk is made."""
    try:
        code = _usable_code(session, request.code, now)
    except EnrollmentRefused as refused:
        anonymous = Actor(principal=_anonymous(), origin=origin)
        anonymous.audit(
            session,
            "devices.enrol",
            outcome=AuditOutcome.DENIED,
            detail={"reason": refused.extensions["reason"]},
        )
        session.commit()  # the refusal stays on record although the request fails
        raise
    public_key = _checked_public_key(request.public_key)
    _claim(session, code, now)
    device = session.get(Device, code.device_id) if code.device_id else None
    device = device or _proven_previous(session, request, public_key)
    issued = new_token()
    if device is None:
        device = Device(
            name=_free_name(session, code.device_name or request.hostname),
            token_hash=issued.token_hash,
            token_hint=issued.token_hint,
        )
    token = issued.set_on(device)
    device.kind = "kiosk"
    device.location_id = code.location_id
    if code.payment_reader_id is not None:
        device.payment_reader_id = code.payment_reader_id
    device.public_key = public_key
    device.hostname = request.hostname
    device.enrolled_at = now
    device.revoked_at = None
    device.rotation_requested_at = None
    device.previous_token_hash = device.previous_public_key = None
    device.previous_token_until = None
    device.challenge_hash = device.challenge_expires_at = None
    session.add(device)
    session.flush()
    code.used_by_device_id = device.id
    session.add(code)
    _device_actor(device, origin).audit(
        session,
        "devices.enrol",
        resource_type="device",
        resource_id=device.id,
        detail={"enrollment_code_id": str(code.id), "hostname": request.hostname},
    )
    return device, token


def _anonymous() -> Principal:
    return Principal(kind=PrincipalKind.ANONYMOUS, id=None, name="anonymous")


def _device_actor(device: Device, origin: RequestOrigin) -> Actor:
    principal = Principal(
        kind=PrincipalKind.DEVICE, id=device.id, name=device.name, device_kind=device.kind
    )
    return Actor(principal=principal, origin=origin)


def _free_name(session: Session, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`…: two Pis both called raspberrypi still enrol."""
    base = wanted[:72]
    name, n = base, 1
    while name_taken(session, name):
        n += 1
        name = f"{base}-{n}"
    return name


# --- rotation ---------------------------------------------------------------------------------


def issue_challenge(
    session: Session, *, device: Device, now: datetime
) -> contract.CredentialChallenge:
    challenge = secrets.token_urlsafe(24)
    device.challenge_hash = digest(challenge)
    device.challenge_expires_at = now + CHALLENGE_LIFETIME
    session.add(device)
    return contract.CredentialChallenge(challenge=challenge, expires_at=device.challenge_expires_at)


def rotate_credential(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    rotation: contract.CredentialRotation,
    now: datetime,
) -> contract.IssuedCredential:
    """A new token (and key, if the kiosk sent a new one) for a kiosk that proved it holds its
    key by signing the challenge. The old token works until the new one is used.

    A kiosk whose last rotation's answer was lost still holds the previous token and key; it
    signs with that key, and its new credential replaces the one it never received."""
    if device.public_key is None:
        raise InvalidInput(
            "This kiosk was not enrolled with a key: enrol it with `frontdesk provision enroll`.",
            [FieldError("signature", "No key to check it against.")],
        )
    fresh = (
        device.challenge_hash == digest(rotation.challenge)
        and device.challenge_expires_at is not None
        and device.challenge_expires_at > now
    )
    message = contract.rotation_message(device.id, rotation.challenge, rotation.public_key)
    by_current = fresh and _verify(device.public_key, rotation.signature, message)
    by_previous = (
        fresh
        and not by_current
        and device.previous_public_key is not None
        and device.previous_token_until is not None
        and device.previous_token_until > now
        and _verify(device.previous_public_key, rotation.signature, message)
    )
    if not (by_current or by_previous):
        actor.audit(
            session,
            "devices.rotate_credential",
            resource_type="device",
            resource_id=device.id,
            outcome=AuditOutcome.DENIED,
        )
        session.commit()
        raise NotAuthenticated(
            "The credential was not renewed: the challenge expired or the signature does not "
            "match this kiosk's key. Ask for a new challenge and sign it with the current key."
        )
    if by_current:  # otherwise the kiosk still holds the previous token: it stays valid
        device.previous_token_hash = device.token_hash
        device.previous_public_key = device.public_key
    device.previous_token_until = now + PREVIOUS_TOKEN_GRACE
    token = new_token().set_on(device)
    device.public_key = _checked_public_key(rotation.public_key)
    device.challenge_hash = device.challenge_expires_at = None
    device.rotation_requested_at = None
    device.credential_rotated_at = now
    session.add(device)
    actor.audit(session, "devices.rotate_credential", resource_type="device", resource_id=device.id)
    return contract.IssuedCredential(token=token, rotated_at=now)


def request_rotation(session: Session, *, actor: Actor, device: Device, now: datetime) -> None:
    """Ask a kiosk to renew its credential: it does so on its next heartbeat, no visit."""
    if device.kind != "kiosk" or device.public_key is None:
        raise InvalidInput(
            "Only a kiosk enrolled with `frontdesk provision enroll` can renew its credential.",
            [FieldError("device_id", "Enrol it with a code first.")],
        )
    device.rotation_requested_at = now
    session.add(device)
    actor.audit(session, "devices.request_rotation", resource_type="device", resource_id=device.id)


# --- every call -------------------------------------------------------------------------------


def device_for_token(session: Session, *, token: str, now: datetime) -> Device:
    """The device `token` belongs to, or NotAuthenticated saying why not."""
    hashed = digest(token)
    device = session.exec(select(Device).where(Device.token_hash == hashed)).first()
    if device is not None and device.previous_token_hash is not None:
        # The new token is in use: the old one and its key are done with, and so is a renewal
        # asked for since (by a call with the old token, or an admin): this one is fresh.
        device.previous_token_hash = device.previous_public_key = None
        device.previous_token_until = None
        device.rotation_requested_at = None
        session.add(device)
    if device is None:
        device = session.exec(select(Device).where(Device.previous_token_hash == hashed)).first()
        if (
            device is None
            or device.previous_token_until is None
            or device.previous_token_until <= now
        ):
            raise NotAuthenticated(
                "This device token is not valid: it was replaced or never issued. Enrol the "
                "kiosk again (`frontdesk provision enroll`)."
            )
        if device.rotation_requested_at is None:  # it never got its new token: rotate again
            device.rotation_requested_at = now
            session.add(device)
    if device.revoked_at is not None:
        raise NotAuthenticated(
            f"This device was revoked ({_when(device.revoked_at)}): an admin must make an "
            "enrolment code to bring it back."
        )
    return device
