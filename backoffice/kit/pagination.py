"""Offset pagination with a look-ahead row, so no COUNT(*) is needed on large tables."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def from_rows(cls, rows: list[T], params: PageParams) -> Page[T]:
        """`rows` holds up to limit + 1 rows; the extra one only says another page exists."""
        more = len(rows) > params.limit
        return cls(
            items=rows[: params.limit],
            limit=params.limit,
            offset=params.offset,
            next_offset=params.offset + params.limit if more else None,
        )
