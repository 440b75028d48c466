"""A correction the kiosk accepted but the registry refuses is a refusal naming its fields
(a 422 for staff), never a crash."""

from __future__ import annotations

import pytest

from backoffice.checkin.review import _as_update
from shared.errors import InvalidInput


def test_a_proposal_the_registry_refuses_names_its_field():
    with pytest.raises(InvalidInput) as refused:
        _as_update({"phone": "not a phone number"})
    assert [e.field for e in refused.value.errors] == ["phone"]
    assert "phone" in refused.value.detail


def test_a_proposal_the_registry_accepts_passes_through():
    assert _as_update({"email": "new@example.org"}).email == "new@example.org"
