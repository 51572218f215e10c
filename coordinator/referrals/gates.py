"""Pure checks on a referral: may it move on? Each returns every unmet condition as {code, message}."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from coordinator.referrals.models import Referral


@dataclass(frozen=True)
class Unmet:
    """One condition that is not met, with its fixed code and a message in the reader's language."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The API shape of DESIGN.md section 3."""
        return {"code": self.code, "message": self.message}


def ready_blockers(referral: Referral) -> list[Unmet]:
    """What stands between a referral in preparation and `ready`; the safety issue extends this list."""
    unmet = []
    if referral.lead_facilitator_id is None or referral.co_facilitator_id is None:
        unmet.append(Unmet("facilitators_missing", _("A lead facilitator and a co-facilitator must be assigned.")))
    return unmet
