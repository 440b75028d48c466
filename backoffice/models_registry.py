"""Imports every table module, so metadata is complete for migrations and merges."""

from backoffice.audit import models as audit_models
from backoffice.billing import models as billing_models
from backoffice.checkin import models as checkin_models
from backoffice.clinic import models as clinic_models
from backoffice.console import models as console_models
from backoffice.devices import models as devices_models
from backoffice.kit import idempotency as idempotency_models
from backoffice.patients import models as patients_models
from backoffice.payments import models as payments_models
from backoffice.scheduling import models as scheduling_models
from backoffice.staff import models as staff_models

__all__ = [
    "audit_models",
    "billing_models",
    "checkin_models",
    "clinic_models",
    "console_models",
    "devices_models",
    "idempotency_models",
    "patients_models",
    "payments_models",
    "scheduling_models",
    "staff_models",
]

# Columns encrypted with the field cipher, and the associated data each is sealed with.
ENCRYPTED_COLUMNS = [(patients_models.Patient.__table__.c.ssn_ciphertext, "patients.ssn")]  # type: ignore[attr-defined]
