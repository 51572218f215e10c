"""The "Needs attention" page and `/api/v1/tasks`: who sees which tasks, their order, closing them (audited), the
header's counts, and who is on call."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.tasks.models import Task, TaskKind
from coordinator.tasks.service import raise_task
from tests.tasks.helpers import tasks


def world(app, factory):
    """A coordinator, a referral's facilitator, another facilitator, a prosecutor; three tasks on the referral
    (a withdrawal overdue since yesterday, an unsafe report, an overdue item) and one on another referral."""
    coordinator, mine, other, prosecutor = (factory.user("coordinator"), factory.user("facilitator"),
                                            factory.user("facilitator"), factory.user("prosecutor"))
    referral = factory.referral(by=coordinator, facilitators=(mine, factory.user("facilitator")),
                                status="screening", survivor={"alias": "Canary-alias-4410"})
    elsewhere = factory.referral(by=coordinator, facilitators=(other, factory.user("facilitator")),
                                 status="screening")
    with app.app_context():
        now = clock.now()
        raise_task(TaskKind.consent_withdrawn, source="t:1", referral_id=referral.id, due_at=now - timedelta(days=1))
        raise_task(TaskKind.unsafe_report, source="t:2", referral_id=referral.id, due_at=now + timedelta(hours=1))
        raise_task(TaskKind.item_overdue, source="t:3", referral_id=referral.id)
        raise_task(TaskKind.message_parked, source="t:4", referral_id=elsewhere.id)
        db.session.commit()
    return coordinator, mine, other, prosecutor, referral


def test_coordinators_see_every_task_unsafe_first_then_by_due_time(app, factory, api):
    coordinator, *_rest = world(app, factory)
    body = api(coordinator).get("/api/v1/tasks").get_json()
    # The item is due in three days (the default), the parked message in one.
    assert [item["kind"] for item in body["items"]] == ["unsafe_report", "consent_withdrawn", "message_parked",
                                                        "item_overdue"]
    assert body["total"] == 4 and body["page"] == 1
    assert set(body["items"][0]) == {"id", "kind", "referral_id", "due_at", "owner", "state"}


def test_a_facilitator_sees_only_their_referrals_tasks_and_others_are_refused(app, factory, api):
    _coordinator, mine, other, prosecutor, referral = world(app, factory)
    assert {item["referral_id"] for item in api(mine).get("/api/v1/tasks").get_json()["items"]} == {str(referral.id)}
    assert [item["kind"] for item in api(other).get("/api/v1/tasks").get_json()["items"]] == ["message_parked"]
    assert api(prosecutor).get("/api/v1/tasks").status_code == 403
    task = next(task for task in tasks(app) if task.referral_id == referral.id)
    assert api(other).post(f"/api/v1/tasks/{task.id}/done", json={}).status_code == 404
    assert api(other).post(f"/api/v1/tasks/{task.id}/dismiss", json={"reason": "x"}).status_code == 404


def test_done_and_dismiss_close_a_task_once_with_an_audit_entry(app, factory, api):
    coordinator, mine, *_rest = world(app, factory)
    first, second = (task for task in tasks(app) if task.kind in ("consent_withdrawn", "item_overdue"))
    client = api(mine)
    assert client.post(f"/api/v1/tasks/{first.id}/dismiss", json={"reason": " "}).status_code == 400
    done = client.post(f"/api/v1/tasks/{first.id}/done", json={"note": "Called the advocate"})
    assert done.status_code == 200 and done.get_json()["state"] == "done"
    assert client.post(f"/api/v1/tasks/{first.id}/done", json={}).status_code == 409
    dismissed = client.post(f"/api/v1/tasks/{second.id}/dismiss", json={"reason": "Paid in cash, receipt seen"})
    assert dismissed.get_json()["state"] == "dismissed"
    closed = api(coordinator).get("/api/v1/tasks?state=done").get_json()["items"]
    assert {item["id"] for item in closed} == {str(first.id), str(second.id)}
    with app.app_context():
        actions = db.session.execute(select(AuditEntry.action).where(AuditEntry.action.like("task.%"))).scalars()
        assert sorted(actions) == ["task.dismissed", "task.done"]
        assert db.session.get(Task, second.id).note == "Paid in cash, receipt seen"
        raw = db.session.execute(select(Task.note_enc).where(Task.id == second.id)).scalar_one()
        assert "receipt" not in raw


def test_the_page_lists_the_queue_without_names_and_closes_tasks_with_csrf(app, factory, browser):
    coordinator, mine, *_rest = world(app, factory)
    page = browser(mine)
    body = page.get("/tasks").get_data(as_text=True)
    assert body.index('data-kind="unsafe_report"') < body.index('data-kind="consent_withdrawn"')
    assert 'data-kind="message_parked"' not in body and "Canary-alias" not in body
    assert 'data-queue-count="3"' in body and "1 urgent" in body
    task = next(task for task in tasks(app) if task.kind == "item_overdue")
    assert page.post(f"/tasks/{task.id}/dismiss", {"reason": "Done on paper"}, csrf=False).status_code == 400
    assert page.post(f"/tasks/{task.id}/dismiss", {"reason": ""}).status_code == 302
    assert next(t for t in tasks(app) if t.id == task.id).state == "open"
    assert page.post(f"/tasks/{task.id}/dismiss", {"reason": "Done on paper"}).status_code == 302
    assert 'data-queue-count="2"' in page.get("/tasks").get_data(as_text=True)
    assert f'data-task="{task.id}"' in page.get("/tasks?state=done").get_data(as_text=True)
    assert 'data-queue-count="3"' in browser(coordinator).get("/tasks").get_data(as_text=True)


def test_the_on_call_coordinator_is_set_by_a_coordinator_or_an_admin(app, factory, browser):
    coordinator, admin, facilitator = factory.user("coordinator"), factory.user("admin"), factory.user("facilitator")
    assert browser(facilitator).get("/on-call").status_code == 403
    refused = browser(admin).post("/on-call", {"coordinator": str(coordinator.id), "phone": "not a number"})
    assert refused.status_code == 200 and "international form" in refused.get_data(as_text=True)
    assert browser(admin).post("/on-call", {"coordinator": str(facilitator.id), "phone": ""}).status_code == 200
    assert browser(coordinator).post("/on-call", {"coordinator": str(coordinator.id),
                                                  "phone": "+34 600 000 010"}).status_code == 302
    referral = factory.referral(by=coordinator, status="screening")
    with app.app_context():
        raise_task(TaskKind.unsafe_report, source="t:on-call", referral_id=referral.id)
        db.session.commit()
    assert [task.owner_id for task in tasks(app)] == [coordinator.id]
