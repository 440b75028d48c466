"""Staff sign-in, lockout, refresh-token rotation, and tokens that stop working at once
when an account changes; kiosk device tokens beside them."""

from datetime import timedelta

import pytest
from sqlmodel import select

from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.security.tokens import digest, encode_access_token
from backoffice.staff.models import RefreshToken, StaffUser
from shared.enums import Role
from tests.fixtures.builders import TEST_PASSWORD, bearer, create_user

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


def _sign_in(client, username: str, password: str = TEST_PASSWORD):
    return client.post(TOKEN, data={"username": username, "password": password})


def _tokens(client, username: str) -> dict:
    r = _sign_in(client, username)
    assert r.status_code == 200, r.text
    return r.json()


def _auth(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def _refresh(client, refresh_token: str):
    return client.post(REFRESH, json={"refresh_token": refresh_token})


# --- signing in ---------------------------------------------------------------------------


def test_sign_in_gives_an_access_and_a_refresh_token(client, session, settings):
    user = create_user(session, Role.FRONT_DESK)
    body = _tokens(client, user.username)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_minutes * 60
    assert body["access_token"] and body["refresh_token"].startswith("fdr_")


def test_access_token_from_sign_in_works_on_me(client, session):
    user = create_user(session, Role.NURSE)
    access = _tokens(client, user.username)["access_token"]
    r = client.get(ME, headers=_auth(access))
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["role"]) == (str(user.id), "nurse")


def test_sign_in_ignores_username_case_and_spaces(client, session):
    user = create_user(session, Role.NURSE)
    assert _sign_in(client, f"  {user.username.upper()} ").status_code == 200


def test_wrong_password_is_a_401_problem(client, session):
    user = create_user(session, Role.FRONT_DESK)
    r = _sign_in(client, user.username, "not-the-password")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "not-authenticated"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, session):
    user = create_user(session, Role.FRONT_DESK)
    wrong_password = _sign_in(client, user.username, "not-the-password")
    unknown_user = _sign_in(client, "nobody-here")
    assert unknown_user.status_code == 401
    assert unknown_user.json() == wrong_password.json()


def test_failed_sign_ins_are_counted_although_the_request_fails(client, session):
    user = create_user(session, Role.FRONT_DESK)
    for _ in range(2):
        assert _sign_in(client, user.username, "not-the-password").status_code == 401
    session.refresh(user)
    assert user.failed_logins == 2


def test_account_locks_after_too_many_failures(client, session, settings):
    user = create_user(session, Role.FRONT_DESK)
    for _ in range(settings.login_max_failures):
        assert _sign_in(client, user.username, "not-the-password").status_code == 401
    r = _sign_in(client, user.username)
    assert r.status_code == 429
    assert r.json()["code"] == "too-many-requests"


def test_one_failure_short_of_the_limit_does_not_lock(client, session, settings):
    user = create_user(session, Role.FRONT_DESK)
    for _ in range(settings.login_max_failures - 1):
        _sign_in(client, user.username, "not-the-password")
    assert _sign_in(client, user.username).status_code == 200


def test_an_expired_lock_lets_the_right_password_in(client, session):
    user = create_user(session, Role.FRONT_DESK, locked_until=utcnow() - timedelta(minutes=1))
    assert _sign_in(client, user.username).status_code == 200


def test_inactive_user_cannot_sign_in(client, session):
    user = create_user(session, Role.FRONT_DESK, active=False)
    r = _sign_in(client, user.username)
    assert r.status_code == 401
    assert r.json()["code"] == "not-authenticated"


def test_failed_sign_in_is_audited_as_denied_with_the_username(client, session, principals):
    user = create_user(session, Role.FRONT_DESK)
    _sign_in(client, user.username, "not-the-password")
    items = client.get(
        "/api/v1/audit-events",
        params={"action": "auth.token", "outcome": "denied"},
        headers=principals.staff(Role.ADMIN),
    ).json()["items"]
    assert [e["detail"] for e in items] == [
        {"username": user.username, "error": "not-authenticated"}
    ]


# --- refresh and logout ---------------------------------------------------------------------


def test_refresh_gives_a_new_pair_that_works(client, session):
    user = create_user(session, Role.NURSE)
    first = _tokens(client, user.username)
    r = _refresh(client, first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(ME, headers=_auth(second["access_token"])).status_code == 200


def test_a_refresh_token_used_twice_is_refused(client, session):
    user = create_user(session, Role.NURSE)
    first = _tokens(client, user.username)["refresh_token"]
    assert _refresh(client, first).status_code == 200
    r = _refresh(client, first)
    assert r.status_code == 401
    assert r.json()["code"] == "not-authenticated"


def test_a_replayed_refresh_token_revokes_its_whole_family(client, session):
    user = create_user(session, Role.NURSE)
    first = _tokens(client, user.username)["refresh_token"]
    second = _refresh(client, first).json()["refresh_token"]
    assert _refresh(client, first).status_code == 401
    assert _refresh(client, second).status_code == 401


def test_a_replay_leaves_other_sign_ins_alone(client, session):
    user = create_user(session, Role.NURSE)
    other_device = _tokens(client, user.username)["refresh_token"]
    first = _tokens(client, user.username)["refresh_token"]
    _refresh(client, first)
    _refresh(client, first)
    assert _refresh(client, other_device).status_code == 200


def test_an_expired_refresh_token_is_refused(client, session):
    user = create_user(session, Role.NURSE)
    refresh_token = _tokens(client, user.username)["refresh_token"]
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
    ).one()
    stored.expires_at = utcnow() - timedelta(minutes=1)
    session.add(stored)
    session.commit()
    assert _refresh(client, refresh_token).status_code == 401


def test_logout_revokes_the_refresh_token(client, session):
    user = create_user(session, Role.NURSE)
    refresh_token = _tokens(client, user.username)["refresh_token"]
    r = client.post("/api/v1/auth/logout", json={"refresh_token": refresh_token})
    assert r.status_code == 204
    assert _refresh(client, refresh_token).status_code == 401


# --- account changes take effect at once ----------------------------------------------------


def _patch_user(client, principals, user_id, body: dict):
    r = client.patch(f"/api/v1/users/{user_id}", json=body, headers=principals.staff(Role.ADMIN))
    assert r.status_code == 200, r.text
    return r


def test_deactivating_a_user_invalidates_their_access_token_at_once(client, session, principals):
    user = create_user(session, Role.NURSE)
    access = _tokens(client, user.username)["access_token"]
    _patch_user(client, principals, user.id, {"active": False})
    assert client.get(ME, headers=_auth(access)).status_code == 401


def test_deactivating_a_user_revokes_their_refresh_tokens(client, session, principals):
    user = create_user(session, Role.NURSE)
    refresh_token = _tokens(client, user.username)["refresh_token"]
    _patch_user(client, principals, user.id, {"active": False})
    assert _refresh(client, refresh_token).status_code == 401


def test_changing_a_password_invalidates_existing_access_tokens(client, session, principals):
    user = create_user(session, Role.NURSE)
    access = _tokens(client, user.username)["access_token"]
    _patch_user(client, principals, user.id, {"password": "a-brand-new-password"})
    assert client.get(ME, headers=_auth(access)).status_code == 401


def test_a_role_change_takes_effect_at_once(client, session, principals, app):
    user = create_user(session, Role.ADMIN)
    headers = bearer(user, app.state.signing_key)
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    _patch_user(client, principals, user.id, {"role": "nurse"})
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_an_expired_access_token_is_refused(client, session, app, settings):
    user = create_user(session, Role.NURSE)
    token, expires = encode_access_token(
        key=app.state.signing_key,
        user_id=str(user.id),
        token_version=user.token_version,
        minutes=settings.access_token_minutes,
        now=utcnow() - timedelta(minutes=settings.access_token_minutes + 1),
    )
    assert expires < utcnow()
    assert client.get(ME, headers=_auth(token)).status_code == 401


def test_an_access_token_signed_with_another_key_is_refused(client, session):
    user = create_user(session, Role.NURSE)
    token, _ = encode_access_token(
        key="some-other-key-0123456789abcdef0123456789abcdef",
        user_id=str(user.id),
        token_version=user.token_version,
        minutes=15,
    )
    assert client.get(ME, headers=_auth(token)).status_code == 401


def test_a_request_without_a_token_is_refused(client):
    assert client.get(ME).status_code == 401


# --- staff accounts -------------------------------------------------------------------------


def test_creating_a_user_with_a_taken_username_is_a_conflict(client, session, principals):
    existing = create_user(session, Role.NURSE)
    body = {
        "username": existing.username,
        "display_name": "Someone Else",
        "role": "billing",
        "password": "long-enough-password",
    }
    r = client.post("/api/v1/users", json=body, headers=principals.staff(Role.ADMIN))
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"


def test_a_created_user_can_sign_in(client, principals):
    body = {
        "username": "newhire",
        "display_name": "New Hire",
        "role": "billing",
        "password": "long-enough-password",
    }
    assert (
        client.post("/api/v1/users", json=body, headers=principals.staff(Role.ADMIN)).status_code
        == 201
    )
    assert _sign_in(client, "newhire", "long-enough-password").status_code == 200


# --- devices --------------------------------------------------------------------------------


def _enrol(client, principals, name: str = "Lobby kiosk") -> dict:
    r = client.post("/api/v1/devices", json={"name": name}, headers=principals.staff(Role.ADMIN))
    assert r.status_code == 201, r.text
    return r.json()


def test_an_enrolled_device_token_works_on_kiosk_me(client, principals):
    issued = _enrol(client, principals)
    r = client.get("/api/v1/kiosk/me", headers=_auth(issued["token"]))
    assert r.status_code == 200
    assert (r.json()["device_id"], r.json()["name"]) == (issued["device"]["id"], "Lobby kiosk")


def test_a_device_token_is_shown_only_once(client, principals, session):
    issued = _enrol(client, principals)
    listed = client.get("/api/v1/devices", headers=principals.staff(Role.ADMIN)).json()["items"]
    assert [d for d in listed if "token" in d] == []
    device = session.exec(select(Device).where(Device.name == "Lobby kiosk")).one()
    assert device.token_hash == digest(issued["token"])


@pytest.mark.parametrize("path", [ME, "/api/v1/users", "/api/v1/audit-events"])
def test_a_device_token_cannot_call_staff_endpoints(client, principals, path):
    assert client.get(path, headers=principals.kiosk()).status_code == 403


def test_a_staff_token_cannot_call_the_kiosk_api(client, principals):
    assert client.get("/api/v1/kiosk/me", headers=principals.staff(Role.ADMIN)).status_code == 403


def test_a_revoked_device_token_is_refused(client, principals):
    issued = _enrol(client, principals)
    r = client.post(
        f"/api/v1/devices/{issued['device']['id']}/revoke", headers=principals.staff(Role.ADMIN)
    )
    assert r.status_code == 200
    assert client.get("/api/v1/kiosk/me", headers=_auth(issued["token"])).status_code == 401


def test_an_unknown_device_token_is_refused(client):
    headers = _auth("fdk_" + "x" * 43)
    assert client.get("/api/v1/kiosk/me", headers=headers).status_code == 401


@pytest.mark.parametrize("change", [{"active": False}, {"role": "billing"}])
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client, session, settings, change):
    for other in session.exec(select(StaffUser).where(StaffUser.role == Role.ADMIN)):
        other.active = False
        session.add(other)
    admin = create_user(session, Role.ADMIN)
    headers = bearer(admin, settings.signing_key())
    r = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=headers)
    assert r.status_code == 409
    assert "last active admin" in r.json()["detail"]


def test_an_admin_can_be_demoted_while_another_remains(client, session, settings):
    first, second = create_user(session, Role.ADMIN), create_user(session, Role.ADMIN)
    r = client.patch(
        f"/api/v1/users/{second.id}",
        json={"role": "billing"},
        headers=bearer(first, settings.signing_key()),
    )
    assert r.status_code == 200 and r.json()["role"] == "billing"
