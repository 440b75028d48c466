"""The back-office application factory."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

import backoffice.models_registry  # noqa: F401  (every table, for merges and foreign keys)
from backoffice.audit.dependencies import record_request_failure
from backoffice.audit.router import audit_router
from backoffice.billing.router import billing_router
from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.router import checkin_router, queue_router
from backoffice.clinic.router import clinic_router
from backoffice.console.router import console_router
from backoffice.console.web import HERE as CONSOLE_DIR
from backoffice.console.web import install_console_errors
from backoffice.db import SessionDep, make_engine
from backoffice.devices.router import devices_router, enrollment_router, kiosk_router
from backoffice.errors import install_error_handlers
from backoffice.patients.router import patients_router
from backoffice.payments.router import kiosk_payments_router, payments_router, webhooks_router
from backoffice.payments.service import Payments
from backoffice.scheduling.router import scheduling_router
from backoffice.security.crypto import FieldCipher, load_keyring
from backoffice.settings import Settings, get_settings
from backoffice.staff.router import auth_router, users_router
from shared import API_VERSION

access_log = logging.getLogger("frontdesk.access")

health_router = APIRouter(tags=["health"])

# Pages run only their own script and style, cannot be framed, and send no referrer out.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@health_router.get("/health", name="health")
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability; no authentication, no data."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


def _path_template(request: Request, path: str) -> str:
    """/api/v1/patients/{patient_id} rather than the real id; no query string."""
    for name, value in request.path_params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url, echo=settings.sql_echo)
    broadcaster = QueueBroadcaster(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            broadcaster.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Frontdesk back office",
        version=API_VERSION,
        description="Patients, scheduling, check-in, payments and billing for medical practices.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = sessionmaker(engine, class_=Session, expire_on_commit=False)
    app.state.cipher = FieldCipher(load_keyring(settings.resolved_key_file, create=True))
    app.state.signing_key = settings.signing_key()
    app.state.on_request_failure = record_request_failure
    app.state.queue_broadcaster = broadcaster
    app.state.payments = Payments.from_settings(settings)

    api = APIRouter(prefix=f"/api/{API_VERSION}")
    for router in (
        health_router,
        auth_router,
        users_router,
        devices_router,
        kiosk_router,
        enrollment_router,
        patients_router,
        audit_router,
        clinic_router,
        scheduling_router,
        checkin_router,
        queue_router,
        kiosk_payments_router,
        payments_router,
        webhooks_router,
        billing_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(console_router)
    app.mount("/static", StaticFiles(directory=CONSOLE_DIR / "static"), name="static")
    app.add_api_route("/", lambda: RedirectResponse("/staff"), include_in_schema=False)
    install_error_handlers(app)
    install_console_errors(app)

    @app.middleware("http")
    async def request_id_and_access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Log method, route template, status and time: never the query string or path
        values, which carry names and birth dates."""
        incoming = request.headers.get("x-request-id", "")
        request_id = (
            incoming if 8 <= len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        request.state.request_id = request_id
        started = time.perf_counter()
        path = request.url.path
        response = await call_next(request)
        access_log.info(
            "%s %s %d %.1fms %s",
            request.method,
            _path_template(request, path),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request_id,
        )
        response.headers["X-Request-ID"] = request_id
        response.headers["Cache-Control"] = "no-store"
        if not path.startswith(("/docs", "/redoc")):  # Swagger UI runs inline scripts
            response.headers.update(SECURITY_HEADERS)
        return response

    return app
