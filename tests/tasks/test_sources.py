"""Each source of the coordinator's queue raises one task per event, never two, and acting on it closes it
(docs/design.md section 7a)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from coordinator import clock
from coordinator.accounts.models import SYSTEM
from coordinator.accounts.service import deactivate_user
from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import Channel, OutboxMessage
from coordinator.notifications.service import notify_staff, queue_message, retry_parked
from coordinator.notifications.transports import sms_provider
from coordinator.portal.models import SecureLink
from coordinator.portal.service import issue_link
from coordinator.referrals.models import Referral
from coordinator.retention.service import set_legal_hold
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import raise_task
from tests.agreements.helpers import activated, held_circle, items
from tests.factories import LOW_RISK
from tests.portal.helpers import Case, add_session, decide
from tests.retention.helpers import ended_referral, pass_time
from tests.safety.test_recheck import book_in_person, run_recheck
from tests.sessions.helpers import bookable
from tests.tasks.helpers import put_on_call, tasks


def run_job(app, name: str) -> str:
    with app.app_context():
        return JOBS_BY_ID[name].run()


def move_clock(app, delta: timedelta) -> None:
    with app.app_context():
        clock.set_clock(clock.now() + delta)
        db.session.commit()


def test_raising_the_same_event_twice_makes_one_task(app, factory):
    """The (kind, source) pair is unique: a job or a request repeated adds nothing."""
    referral = factory.referral(status="screening")
    with app.app_context():
        for _ in range(3):
            raise_task(TaskKind.consent_withdrawn, source="consent:same", referral_id=referral.id)
        raise_task(TaskKind.regrant_after_withdrawal, source="consent:same", referral_id=referral.id)
        db.session.commit()
    assert sorted(task.kind for task in tasks(app)) == ["consent_withdrawn", "regrant_after_withdrawal"]


def test_an_unsafe_report_is_urgent_and_reaches_the_on_call_coordinator_at_once(app, factory, api):
    """One task per incident, first in the queue; the on-call coordinator gets an email and a text (no name, no
    description); a new risk assessment answers it."""
    coordinator, on_call = factory.user("coordinator"), factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    put_on_call(app, coordinator, on_call)
    response = api(pair[0]).post(f"/api/v1/referrals/{referral.id}/safety-incidents",
                                 json={"kind": "threat", "description": "Canary-threat-5512"})
    assert response.status_code == 201
    [task] = tasks(app)
    assert (task.kind, task.priority, task.state, task.owner_id) == ("unsafe_report", 0, "open", on_call.id)
    assert task.params == {"kind": "threat", "reported_by": "user"}
    with app.app_context():
        urgent = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient_id == on_call.id,
                                                                OutboxMessage.idempotency_key.like("task:%"))
                                    ).scalars().all()
        assert sorted(message.channel for message in urgent) == ["email", "sms"]
        dispatch_outbox("test")
        [text] = [sent for sent in sms_provider().sent if sent["to"] == "+34 600 000 009"]
    assert "unsafe" in text["body"] and "Canary" not in text["body"] and str(referral.id) in text["body"]

    assert api(pair[0]).post(f"/api/v1/referrals/{referral.id}/risk-assessments",
                             json={"answers": LOW_RISK}).status_code == 201
    assert [task.state for task in tasks(app)] == ["done"]


def test_a_withdrawal_raises_one_task_saying_what_it_cancelled(app, factory):
    """The survivor withdraws participation with a session booked: the task names the scope and the count of
    cancelled sessions, and nothing about the person."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    case = Case(factory.referral(by=coordinator, facilitators=pair, status="screening"), coordinator, pair)
    decide(app, case, "survivor", "participation")
    add_session(app, case, "pre_conference_survivor", days=5)
    decide(app, case, "survivor", "participation", "withdrawn")
    [task] = tasks(app, "consent_withdrawn")
    assert task.params == {"party": "survivor", "scope": "participation", "cancelled_sessions": 1}
    assert task.referral_id == case.referral.id and task.source_key.startswith("consent:")


def set_survivor_language(app, case, language: str) -> str:
    """Change the survivor's language as intake would record it; returns the one it replaced."""
    with app.app_context():
        survivor = db.session.get(Referral, case.referral.id).survivor
        before, survivor.preferred_language = survivor.preferred_language, language
        db.session.commit()
        return before


def test_a_circle_that_stops_being_ready_raises_one_task_closed_when_it_is_ready_again(app, factory, api):
    """The survivor's language turns out to be one nobody in the circle speaks: one task however often the job runs;
    once that is put right, the next run finds the circle ready and closes it."""
    case = bookable(app, factory)
    book_in_person(app, case, api(case.coordinator), interpreter=False)
    before = set_survivor_language(app, case, "vi")
    run_recheck(app)
    move_clock(app, timedelta(hours=2))
    run_recheck(app)
    [task] = tasks(app, "circle_not_ready")
    assert task.state == "open" and task.params["codes"] == ["language_unmatched"]
    set_survivor_language(app, case, before)
    assert run_recheck(app) == "1 booked circles checked, 0 no longer ready"
    assert [task.state for task in tasks(app, "circle_not_ready")] == ["done"]


def test_an_overdue_item_raises_one_task_closed_by_recording_progress(app, factory, api):
    held = held_circle(app, factory)
    activated(app, held, items(app, due_in_days=3))
    move_clock(app, timedelta(days=5))
    run_job(app, "check_overdue_items")
    run_job(app, "check_overdue_items")
    raised = tasks(app, "item_overdue")
    assert sorted(task.params["kind"] for task in raised) == ["apology", "restitution"]
    apology = next(task for task in raised if task.params["kind"] == "apology")
    assert api(held.lead).post(f"/api/v1/agreement-items/{apology.subject_id}/progress",
                               json={"status": "completed"}).status_code == 201
    assert {task.params["kind"]: task.state for task in tasks(app, "item_overdue")} == {"apology": "done",
                                                                                      "restitution": "open"}


def test_a_parked_message_raises_one_task_closed_when_it_is_sent_again(app, factory):
    """A notice to a colleague deactivated meanwhile is parked at once: one task; retrying it closes the task."""
    coordinator, colleague = factory.user("coordinator"), factory.user("facilitator")
    referral = factory.referral(by=coordinator, status="screening")
    with app.app_context():
        notify_staff([db.session.merge(colleague)], "referral_assigned", key="parked-test",
                     referral=db.session.get(Referral, referral.id))
        deactivate_user(SYSTEM, db.session.merge(colleague))
        db.session.commit()
        assert dispatch_outbox("test").parked == 1
        dispatch_outbox("test")
    [task] = tasks(app, "message_parked")
    assert task.referral_id == referral.id and task.params == {"channel": "email", "template": "referral_assigned"}
    with app.app_context():
        retry_parked(db.session.merge(coordinator), task.subject_id)
        db.session.commit()
    assert [task.state for task in tasks(app, "message_parked")] == ["done"]


def test_a_link_expiring_before_a_booked_session_raises_one_task_closed_by_a_new_link(app, factory):
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    case = Case(factory.referral(by=coordinator, facilitators=pair, status="screening"), coordinator, pair)
    decide(app, case, "survivor", "participation")
    add_session(app, case, "pre_conference_survivor", days=12)
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        issue_link(db.session.merge(coordinator), referral, "survivor", "handover")
        # A link issued long before the session was booked, as an old one would be.
        db.session.execute(update(SecureLink).values(expires_at=clock.now() + timedelta(days=2)))
        db.session.commit()
    assert run_job(app, "check_expiring_links").startswith("1 ")
    run_job(app, "check_expiring_links")
    [task] = tasks(app, "link_expiring")
    assert task.state == "open" and task.referral_id == case.referral.id
    with app.app_context():
        issue_link(db.session.merge(coordinator), db.session.get(Referral, case.referral.id), "survivor", "handover")
        db.session.commit()
    assert [task.state for task in tasks(app, "link_expiring")] == ["done"]
    assert run_job(app, "check_expiring_links").startswith("0 ")


def test_an_erasure_coming_up_raises_one_task_closed_by_a_legal_hold(app, factory):
    referral = ended_referral(app, factory)
    pass_time(app, timedelta(days=715))
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["jobs", "run", "apply_retention"]).exit_code == 0
    [task] = tasks(app, "erasure_due")
    assert task.referral_id == referral.id and task.state == "open"
    with app.app_context():
        set_legal_hold(db.session.merge(referral.coordinator), db.session.get(Referral, referral.id), "An appeal")
        db.session.commit()
    assert [task.state for task in tasks(app, "erasure_due")] == ["done"]


def test_an_erased_referral_leaves_no_open_task(app, factory):
    """Erasure closes whatever was still open about the referral: nothing is left to act on."""
    referral = ended_referral(app, factory)
    with app.app_context():
        raise_task(TaskKind.consent_withdrawn, source="consent:before-erasure", referral_id=referral.id)
        db.session.commit()
    pass_time(app, timedelta(days=800))
    assert app.test_cli_runner().invoke(args=["jobs", "run", "apply_retention"]).exit_code == 0
    assert {task.state for task in tasks(app)} == {"done"}


def test_texts_go_only_to_the_on_call_coordinator(app, factory):
    """A staff member has no number of their own: a text queued to anyone else is parked, not sent."""
    coordinator, other = factory.user("coordinator"), factory.user("coordinator")
    put_on_call(app, coordinator, coordinator)
    with app.app_context():
        for user in (coordinator, other):
            queue_message(Channel.sms, "unsafe_reported", recipient_kind="user", recipient_id=user.id,
                          key=f"sms-test:{user.id}", params={"referral_id": "5b0c2a51-0000-4000-8000-000000000001"})
        db.session.commit()
        report = dispatch_outbox("test")
        assert (report.sent, report.parked) == (1, 1)
        assert [sent["to"] for sent in sms_provider().sent] == ["+34 600 000 009"]
