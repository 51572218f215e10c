"""The retention schedule: what is due is erased by the daily job and by `retention run`, what a legal hold or a
pending criminal case keeps is not, the dry run changes nothing, and a run is idempotent and resumes after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.audit.service import verify_chain
from coordinator.cases.service import add_hearing
from coordinator.db import db
from coordinator.keystore import ReferralKey
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.portal.models import PortalSession, SecureLink
from coordinator.portal.service import issue_link, open_portal
from coordinator.referrals.models import Referral
from coordinator.retention import service as retention_service
from coordinator.retention.service import set_legal_hold
from coordinator.statistics.rollup import rebuild_rollup
from coordinator.statistics.service import programme_statistics
from tests.retention.helpers import (
    PAST_RETENTION,
    ended_referral,
    openable_with_remaining_keys,
    pass_time,
    sealed_cells_of,
    snapshot,
)


def erase_entries(app, referral_id=None) -> list[AuditEntry]:
    """The audit entries of erasures (of one referral, when given)."""
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == "referral.erase")
        if referral_id is not None:
            query = query.where(AuditEntry.referral_id == referral_id)
        return list(db.session.execute(query).scalars())


def stored(app, referral_id) -> Referral:
    """The referral as the database holds it now."""
    with app.app_context():
        return db.session.get(Referral, referral_id)


def test_the_daily_job_erases_a_referral_past_its_retention_period(app, factory):
    """The job destroys the key (the old ciphertexts open with no key left), empties the personal data, keeps the
    referral counted in the statistics, and writes one audit entry."""
    gone = ended_referral(app, factory, notes="Intake notes of the erased referral")
    cells = sealed_cells_of(app, gone.id)
    assert {table for table, *_ in cells} >= {"referrals", "parties", "referral_status_changes"}
    pass_time(app, PAST_RETENTION)
    kept_later = ended_referral(app, factory, coordinator=gone.coordinator)  # ended now: within its period
    with app.app_context():
        before = programme_statistics(db.session.merge(gone.coordinator))

    result = app.test_cli_runner().invoke(args=["jobs", "run", "apply_retention"])
    assert result.exit_code == 0, result.output
    assert "apply_retention: ok: 1 referrals erased, 0 held back" in result.output

    assert openable_with_remaining_keys(app, cells) == []
    assert sealed_cells_of(app, gone.id) == []
    with app.app_context():
        referral = db.session.get(Referral, gone.id)
        assert referral.erased_at is not None and referral.status == "closed"
        assert referral.notes is None and referral.survivor.alias is None and referral.survivor.email is None
        assert db.session.get(ReferralKey, gone.id).destroyed_at is not None
        assert db.session.get(Referral, kept_later.id).erased_at is None
        assert db.session.get(Referral, kept_later.id).survivor.alias.startswith("Survivor ")
        rebuild_rollup()  # counted again after the erasure: the erased referral still counts
        after = programme_statistics(db.session.merge(gone.coordinator))
    assert after.referrals_by_status == before.referrals_by_status and after.referrals_total == 2
    [entry] = erase_entries(app, gone.id)
    assert entry.actor_type == "system" and entry.details == {"basis": "closed"}
    with app.app_context():
        assert verify_chain().intact


def test_a_declined_referral_goes_after_six_months_and_a_completed_one_waits_two_years(app, factory):
    """Closed as not suitable: erased after 6 months; closed for another reason: kept."""
    declined = ended_referral(app, factory, reason="not_suitable")
    other = ended_referral(app, factory, reason="other")
    pass_time(app, timedelta(days=190))
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert f"  {declined.reference} (declined, due " in result.output
    assert stored(app, declined.id).erased_at is not None
    assert stored(app, other.id).erased_at is None


@pytest.mark.parametrize("hold", ["legal_hold", "case_open", "hearing_ahead"])
def test_a_legal_hold_or_a_pending_criminal_case_keeps_the_referral(app, factory, hold):
    """A hold set by a coordinator, a case not closed, or a hearing still ahead: the run leaves it whole."""
    referral = ended_referral(app, factory, case_stage=None if hold == "case_open" else "closed")
    with app.app_context():
        actor, target = db.session.merge(referral.coordinator), db.session.get(Referral, referral.id)
        if hold == "legal_hold":
            set_legal_hold(actor, target, "Appeal pending before the higher court")
        if hold == "hearing_ahead":
            add_hearing(actor, target, "other", clock.today() + timedelta(days=1000))
        db.session.commit()
    cells = sealed_cells_of(app, referral.id)
    pass_time(app, PAST_RETENTION)

    dry = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert f"  {referral.reference}: {hold}" in dry.output and "referrals: 0 would be erased" in dry.output
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "referrals: 0 erased" in result.output and "referrals held back: 1" in result.output
    assert stored(app, referral.id).erased_at is None and sealed_cells_of(app, referral.id) == cells
    assert erase_entries(app) == []


def test_the_dry_run_changes_nothing_and_prints_nothing_identifying(app, factory):
    """Counts per kind and references only; every row of every table is as it was, the audit chain included."""
    referral = ended_referral(app, factory, survivor={"alias": "Dry Run Alias"}, notes="Dry run notes")
    pass_time(app, PAST_RETENTION + timedelta(days=100))
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert snapshot(app) == before
    assert "Dry run: nothing was changed." in result.output
    assert "referrals: 1 would be erased" in result.output and referral.reference in result.output
    for kind in ("secure links", "portal sessions", "outbox bodies", "notices"):
        assert f"{kind}: " in result.output
    assert "Dry Run" not in result.output and "@example.org" not in result.output


def test_a_run_is_idempotent(app, factory):
    """A second run erases nothing more and writes no second entry for the same referral."""
    referral = ended_referral(app, factory)
    pass_time(app, PAST_RETENTION)
    runner = app.test_cli_runner()
    assert "referrals: 1 erased" in runner.invoke(args=["retention", "run"]).output
    second = runner.invoke(args=["retention", "run"])
    assert second.exit_code == 0 and "referrals: 0 erased" in second.output
    assert len(erase_entries(app, referral.id)) == 1


@pytest.fixture
def app_settings():
    """One referral per batch, so a run commits after each."""
    return {"RETENTION_BATCH_SIZE": "1"}


def test_a_run_that_crashes_resumes_where_it_stopped(app, factory, monkeypatch):
    """The run dies inside its second batch: the first referral stays erased, the second is untouched (its
    transaction rolled back), and the next run erases the rest, each with exactly one audit entry."""
    coordinator = factory.user("coordinator")
    referrals = [ended_referral(app, factory, coordinator=coordinator) for _ in range(3)]
    pass_time(app, PAST_RETENTION)
    destroyed, real_destroy = [], retention_service.destroy_data_keys

    def dying(referral_ids):
        if destroyed:  # the second batch has emptied its values when the process dies
            raise RuntimeError("the process died")
        destroyed.append(referral_ids)
        return real_destroy(referral_ids)

    monkeypatch.setattr(retention_service, "destroy_data_keys", dying)
    crashed = app.test_cli_runner().invoke(args=["retention", "run"])
    assert crashed.exit_code != 0 and "referrals: 1/3 erased" in crashed.output
    erased = [r for r in referrals if stored(app, r.id).erased_at is not None]
    assert len(erased) == 1
    with app.app_context():
        for other in (r for r in referrals if r not in erased):
            assert db.session.get(Referral, other.id).survivor.alias.startswith("Survivor ")

    monkeypatch.setattr(retention_service, "destroy_data_keys", real_destroy)
    resumed = app.test_cli_runner().invoke(args=["retention", "run"])
    assert resumed.exit_code == 0, resumed.output
    assert "referrals: 2 erased" in resumed.output
    assert all(stored(app, r.id).erased_at is not None for r in referrals)
    assert sorted(entry.referral_id for entry in erase_entries(app)) == sorted(r.id for r in referrals)


def test_coordinators_are_told_once_of_an_erasure_coming_within_thirty_days(app, factory):
    """Twenty days before it is due, every coordinator gets one `erasure_due` notice, however many runs."""
    referral = ended_referral(app, factory)
    other_coordinator = factory.user("coordinator")
    pass_time(app, timedelta(days=715))
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["jobs", "run", "apply_retention"]).exit_code == 0
    with app.app_context():
        notices = db.session.execute(select(StaffNotice).where(StaffNotice.template == "erasure_due")).scalars().all()
        assert sorted(notice.user_id for notice in notices) == sorted([referral.coordinator.id,
                                                                       other_coordinator.id])
        assert {notice.params["reference"] for notice in notices} == {referral.reference}
    assert stored(app, referral.id).erased_at is None


def test_records_of_other_kinds_follow_their_own_periods(app, factory):
    """30 days after they ended: a secure link's PIN and use are wiped, its portal sessions deleted, and sent
    messages' parameters emptied; staff notices are deleted after 90 days. None of it goes earlier."""
    coordinator, colleague = factory.user("coordinator"), factory.user("coordinator")
    referral = factory.referral(by=coordinator, status="screening")  # the colleague gets a notice and an email
    with app.app_context():
        _link, url = issue_link(db.session.merge(coordinator), db.session.get(Referral, referral.id), "survivor",
                                "handover")
        open_portal(url.rsplit("/", 1)[1], None, None)
        db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "run", "dispatch_outbox"]).exit_code == 0

    def counts(dry: bool) -> dict[str, str]:
        output = runner.invoke(args=["retention", "run", *(["--dry-run"] if dry else [])]).output
        return dict(line.split(": ", 1) for line in output.splitlines()
                    if line.split(":")[0] in ("secure links", "portal sessions", "outbox bodies", "notices"))

    pass_time(app, timedelta(days=20))
    assert counts(dry=True) == dict.fromkeys(("secure links", "portal sessions", "outbox bodies", "notices"),
                                             "0 would be erased")
    pass_time(app, timedelta(days=20))  # the link expired after 7 days: 33 days ago
    done = counts(dry=False)
    assert done["secure links"] == "1 erased" and done["portal sessions"] == "1 erased"
    assert done["outbox bodies"] != "0 erased" and done["notices"] == "0 erased"
    with app.app_context():
        [link] = db.session.execute(select(SecureLink)).scalars().all()
        assert link.last_used_at is None and link.pin_hash is None
        assert db.session.execute(select(func.count()).select_from(PortalSession)).scalar_one() == 0
        sent = db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "sent")).scalars().all()
        assert sent and all(message.params == {} and message.link_enc is None for message in sent)
        assert db.session.execute(select(StaffNotice.user_id)).scalars().all() == [colleague.id]
    pass_time(app, timedelta(days=60))
    assert counts(dry=False)["notices"] == "1 erased"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(StaffNotice)).scalar_one() == 0
        assert db.session.get(Referral, referral.id).erased_at is None  # the referral itself is still open
