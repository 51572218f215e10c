"""One page of a query's results, with the total, for lists on pages and in the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func

from coordinator.db import db
from coordinator.errors import InvalidRequest
from coordinator.inputs import MAX_PAGE


@dataclass(frozen=True)
class Page:
    """Items of one page; pages count from 1."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are, at least one."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        """True when a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """True when a page comes after this one."""
        return self.page < self.pages


def clamp_per_page(per_page: int | None) -> int:
    """The page size asked for, within the configured bounds."""
    default, ceiling = current_app.config["PER_PAGE"], current_app.config["MAX_PER_PAGE"]
    return min(max(per_page or default, 1), ceiling)


def page_number(page: int | None) -> int:
    """The page asked for (1 when none); 400 outside 1 to MAX_PAGE, for pages and the API alike."""
    if page is None:
        return 1
    if not 1 <= page <= MAX_PAGE:
        raise InvalidRequest.field(_("Check the highlighted fields."), "page",
                                   _("Choose a page from 1 to %(max)d.", max=MAX_PAGE))
    return page


def paginate(query: Select, page: int | None, per_page: int | None,
             reverse_order: Sequence[ColumnElement] | None = None) -> Page:
    """Run `query` for one page (two statements: the count, then the rows) whatever the page size.

    With `reverse_order` (the query's ORDER BY turned around, a unique key last), a page past the middle is read
    from the other end, so the database skips at most half the rows: the last page costs what the first does.
    """
    per_page = clamp_per_page(per_page)
    page = page_number(page)
    counting = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    total = db.session.execute(counting).scalar_one()
    start = (page - 1) * per_page
    if start >= total:
        return Page(items=[], page=page, per_page=per_page, total=total)  # past the end: nothing to read
    end = min(start + per_page, total)
    if reverse_order is not None and start > total - end:
        backwards = query.order_by(None).order_by(*reverse_order).limit(end - start).offset(total - end)
        rows: Sequence[Any] = list(reversed(db.session.execute(backwards).scalars().unique().all()))
    else:
        rows = db.session.execute(query.limit(per_page).offset(start)).scalars().unique().all()
    return Page(items=rows, page=page, per_page=per_page, total=total)


def whole_list(items: list) -> dict:
    """A short list that is never paged, in the list envelope of the API: every item on page 1."""
    return {"items": items, "page": 1, "per_page": max(len(items), 1), "total": len(items)}
