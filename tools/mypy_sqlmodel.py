"""A mypy plugin for SQLModel tables: `Referral.status` on the class is a SQL column expression, not a str.

SQLModel annotates columns with their Python types, so `Referral.status == "paused"` reads as a bool to mypy and
every query argument is an error. Class-level access to a table model's field is typed as Any (an expression);
access through an instance keeps its declared type, which is what catches real mistakes.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import TypeInfo
from mypy.plugin import AttributeContext, Plugin
from mypy.types import AnyType, Type, TypeOfAny

SQLMODEL = "sqlmodel.main.SQLModel"


class SQLModelColumns(Plugin):
    """Types class attribute access on SQLModel table classes as column expressions."""

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner, _dot, _name = fullname.rpartition(".")
        symbol = self.lookup_fully_qualified(owner)
        if symbol is None or not isinstance(symbol.node, TypeInfo):
            return None
        if not any(base.fullname == SQLMODEL for base in symbol.node.mro[1:]):
            return None
        return lambda _context: AnyType(TypeOfAny.special_form)


def plugin(_version: str) -> type[Plugin]:
    """mypy's entry point."""
    return SQLModelColumns
