"""List responses: a page of items and the cursor of the next page."""

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from cooperative.kernel.schemas import QueryInt

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


CursorParam = Annotated[
    str | None, Query(max_length=500, description="From the previous page's `next_cursor`.")
]
LimitParam = Annotated[QueryInt, Query(ge=1, le=200, description="Items per page.")]
