"""What every gate returns: unmet conditions, each with a fixed code and a message in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unmet:
    """One condition that is not met."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The API shape of docs/design.md section 3."""
        return {"code": self.code, "message": self.message}
