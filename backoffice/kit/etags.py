"""Optimistic concurrency over HTTP: ETags carry a record's version, If-Match sends it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.errors import FieldError, InvalidInput, PreconditionRequired

IfMatch = Annotated[
    str | None, Header(description='The version read, as sent in its ETag: "3"', max_length=64)
]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version in an If-Match header; updates without one are refused (428)."""
    if not if_match:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so a change made meanwhile is not overwritten."
        )
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidInput(
            "If-Match must be the ETag you read.",
            [FieldError("If-Match", 'expected a quoted version such as "3"')],
        )
    return int(value)
