"""Programme statistics for coordinators: counts and rates over referrals, never a reference, name or id.

Every figure is read from the rollup (coordinator/statistics/rollup.py) in one query, whatever the number of
referrals; the rollup is rebuilt by the `refresh_statistics` job, every few minutes and soon after a coordinator
asks for a new count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from coordinator.accounts.models import Actor, Role
from coordinator.agreements.models import AgreementStatus
from coordinator.audit.service import record
from coordinator.consent.models import PARTY_SCOPES
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.inputs import EARLIEST, LATEST, out_of_range_message
from coordinator.referrals.models import PartyRole, ReferralStatus
from coordinator.statistics.rollup import ask_for_recount, consent_category, counts_for, rebuild_rollup, refresh_state

# The dates a period may start or end on: far enough apart for any programme, near enough to convert safely.

# Upper bounds (in days, inclusive) of the buckets of "days from referral to first circle"; None is open-ended.
DAYS_BUCKETS = (30, 60, 90, None)

DAYS_BUCKET_LABELS = {
    30: _l("Up to 30 days"),
    60: _l("31 to 60 days"),
    90: _l("61 to 90 days"),
    None: _l("More than 90 days"),
}


@dataclass(frozen=True)
class Ratio:
    """`part` of `whole`, e.g. parties who granted of parties asked."""

    part: int
    whole: int

    @property
    def fraction(self) -> float | None:
        """part / whole, or None when there is nothing to divide by."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class ConsentRate:
    """One party role's consent for one scope across the programme."""

    party: str
    scope: str
    ratio: Ratio


@dataclass(frozen=True)
class ProgrammeStatistics:
    """Aggregates over the referrals received in [since, until] (both None: all time)."""

    since: date | None
    until: date | None
    referrals_by_status: Mapping[str, int]
    consent_rates: tuple[ConsentRate, ...]
    median_days_to_circle: float | None
    circles_counted: int
    days_to_circle: Mapping[int | None, int]
    agreements_by_status: Mapping[str, int]
    completion: Ratio
    as_of: datetime
    recount_asked: bool = False

    @property
    def referrals_total(self) -> int:
        """Every referral counted."""
        return sum(self.referrals_by_status.values())

    @property
    def agreements_total(self) -> int:
        """Every agreement counted, drafts included."""
        return sum(self.agreements_by_status.values())

    @property
    def anyone_asked(self) -> bool:
        """True when at least one party was asked for consent."""
        return any(rate.ratio.whole for rate in self.consent_rates)

    def consent(self, party: str, scope: str) -> Ratio:
        """The ratio of one party role and scope."""
        return next(rate.ratio for rate in self.consent_rates if rate.party == party and rate.scope == scope)


def programme_statistics(actor: Actor, since: date | None = None, until: date | None = None) -> ProgrammeStatistics:
    """Coordinators only: the programme's aggregates over referrals received between `since` and `until`.

    They stand as of the rollup's last rebuild (`as_of`); a programme never counted is counted first.
    """
    _require_coordinator(actor)
    for name, day in (("since", since), ("until", until)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidRequest.field(_("Check the highlighted fields."), name, out_of_range_message())
    if since is not None and until is not None and since > until:
        raise InvalidRequest.field(_("Check the highlighted fields."), "until",
                                   _("The end date must be on or after the start date."))
    state = refresh_state()
    as_of = state.refreshed_at or rebuild_rollup()
    counts = counts_for(since, until)
    days = Counter({int(category): count for (figure, category), count in counts.items()
                    if figure == "days_to_circle"})
    agreements = MappingProxyType({status.value: counts[("agreement", status.value)] for status in AgreementStatus})
    return ProgrammeStatistics(
        since=since,
        until=until,
        referrals_by_status=MappingProxyType({status.value: counts[("status", status.value)]
                                              for status in ReferralStatus}),
        consent_rates=tuple(
            ConsentRate(role.value, scope.value, Ratio(counts[("granted", consent_category(role.value, scope.value))],
                                                       counts[("asked", consent_category(role.value, scope.value))]))
            for role in PartyRole for scope in PARTY_SCOPES[role]),
        median_days_to_circle=_median(days),
        circles_counted=days.total(),
        days_to_circle=_bucketed(days),
        agreements_by_status=agreements,
        completion=Ratio(agreements[AgreementStatus.completed],
                         agreements[AgreementStatus.completed] + agreements[AgreementStatus.not_completed]),
        as_of=as_of,
        recount_asked=state.asked_again,
    )


def request_recount(actor: Actor) -> None:
    """Coordinators only: ask for a new count, which the `refresh_statistics` job makes within a minute (audited)."""
    _require_coordinator(actor)
    ask_for_recount()
    record(actor, "statistics.refresh")


def _require_coordinator(actor: Actor) -> None:
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators can see the programme statistics."))


def _median(days: Counter[int]) -> float | None:
    """The median of whole days, from how many referrals took each number of days."""
    total = days.total()
    if not total:
        return None
    middle = sorted({(total - 1) // 2, total // 2})
    found: list[int] = []
    seen = 0
    for value in sorted(days):
        seen += days[value]
        while len(found) < len(middle) and middle[len(found)] < seen:
            found.append(value)
    return round(sum(found) / len(found), 1)


def _bucketed(days: Counter[int]) -> Mapping[int | None, int]:
    counts = dict.fromkeys(DAYS_BUCKETS, 0)
    for value, count in days.items():
        counts[next(bound for bound in DAYS_BUCKETS if bound is None or value <= bound)] += count
    return MappingProxyType(counts)
