"""A list's query parameters, and the page it answers with (`cooperative.kernel.pagination`)."""

from typing import Annotated

from fastapi import Query

from cooperative.kernel.pagination import Page
from cooperative.kernel.schemas import QueryInt

__all__ = ["CursorParam", "LimitParam", "Page"]

CursorParam = Annotated[
    str | None, Query(max_length=500, description="From the previous page's `next_cursor`.")
]
LimitParam = Annotated[QueryInt, Query(ge=1, le=200, description="Items per page.")]
