"""One page of a query's results, with the total, for lists on pages and in the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select, union
from sqlalchemy.orm import InstrumentedAttribute

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


def paginate(query: Select, page: int | None, per_page: int | None) -> Page:
    """Run `query` for one page (two statements: the count, then the rows) whatever the page size."""
    per_page = clamp_per_page(per_page)
    page = page_number(page)
    counting = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    total = db.session.execute(counting).scalar_one()
    start = (page - 1) * per_page
    if start >= total:
        return Page(items=[], page=page, per_page=per_page, total=total)  # past the end: nothing to read
    rows = db.session.execute(query.limit(per_page).offset(start)).scalars().unique().all()
    return Page(items=rows, page=page, per_page=per_page, total=total)


def paginate_newest(branches: Sequence[ColumnElement[bool]], order: Sequence[InstrumentedAttribute],
                    rows: Select, page: int | None, per_page: int | None, *, total: int | None = None) -> Page:
    """One page of the rows matching any of `branches`, newest first by `order` (a unique key last), ids first.

    Each branch is one condition an index in `order`'s order serves (a scope's OR split into its parts), so no
    statement sorts or counts more than the index holds for it: the page's keys are read from each branch's index,
    at most as many as the page needs (from the nearer end, so the last page costs what the first does), and
    `rows` (the columns a line shows) is read for those keys only, in the same statement, as rows. `total`, when
    the caller keeps the count (a kept total), spares counting.
    """
    per_page = clamp_per_page(per_page)
    page = page_number(page)
    key = order[-1]
    if total is None:
        total = _count(branches, key)
    start = (page - 1) * per_page
    if start >= total:
        return Page(items=[], page=page, per_page=per_page, total=total)  # past the end: nothing to read
    end = min(start + per_page, total)
    backwards = start > total - end
    offset, limit = (total - end, end - start) if backwards else (start, per_page)
    keys = _page_keys(branches, order, descending=not backwards, offset=offset, limit=limit)
    newest_first = [column.desc() for column in order]
    found = db.session.execute(rows.where(key.in_(keys)).order_by(*newest_first)).all()
    return Page(items=found, page=page, per_page=per_page, total=total)


def _count(branches: Sequence[ColumnElement[bool]], key: InstrumentedAttribute) -> int:
    """How many rows match any of `branches`, each counted from its own index: two are counted apart, less the rows
    both hold (a UNION would sort every row in scope, and so grow with it)."""
    def counted(condition: ColumnElement[bool]) -> ScalarSelect[int]:
        return select(func.count()).select_from(key.class_).where(condition).scalar_subquery()

    if len(branches) == 1:
        return db.session.execute(select(counted(branches[0]))).scalar_one()
    if len(branches) == 2:
        first, second = branches
        each, other, both = db.session.execute(
            select(counted(first), counted(second), counted(and_(first, second)))).one()
        return each + other - both
    return db.session.execute(select(func.count()).select_from(
        union(*[select(key).where(branch) for branch in branches]).subquery())).scalar_one()


def _page_keys(branches: Sequence[ColumnElement[bool]], order: Sequence[InstrumentedAttribute], *, descending: bool,
               offset: int, limit: int) -> Select:
    """The keys of one page's rows: each branch read in index order up to the page's end, then merged."""
    def ordered(columns: Sequence[InstrumentedAttribute | ColumnElement]) -> list[ColumnElement]:
        return [column.desc() if descending else column.asc() for column in columns]

    if len(branches) == 1:
        return select(order[-1]).where(branches[0]).order_by(*ordered(order)).limit(limit).offset(offset)
    # A branch yields no more than offset + limit rows to the merge; a compound's parts cannot be limited directly.
    parts = [select(*order).where(branch).order_by(*ordered(order)).limit(offset + limit).subquery()
             for branch in branches]
    merged = list(union(*[select(*part.c) for part in parts]).subquery().c)
    return select(merged[-1]).order_by(*ordered(merged)).limit(limit).offset(offset)


def whole_list(items: list) -> dict:
    """A short list that is never paged, in the list envelope of the API: every item on page 1."""
    return {"items": items, "page": 1, "per_page": max(len(items), 1), "total": len(items)}
