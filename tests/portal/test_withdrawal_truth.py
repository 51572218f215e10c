"""After a withdrawal the portal tells the truth: appointments cancelled, the process stopped, and the party may
contact the programme to start again. A new grant reopens nothing by itself: coordinators and facilitators are asked
to contact the party (a task `regrant_after_withdrawal` in their queue), and the party is told someone will."""

from __future__ import annotations

from sqlalchemy import select

from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.tasks.models import Task
from tests.portal.helpers import add_session, decide, inside


def tasks(app, kind: str) -> list[Task]:
    """The queue's tasks of one kind."""
    with app.app_context():
        return list(db.session.execute(select(Task).where(Task.kind == kind)).scalars())


def test_after_withdrawing_the_page_says_what_happened_and_how_to_start_again(app, case, phone):
    """No promise that nothing will happen: it says the appointments are cancelled and the process stopped."""
    decide(app, case, "survivor", "participation")
    add_session(app, case, "pre_conference_survivor", days=5)
    visitor = inside(app, case, phone)
    visitor.post("/portal/consent/participation", {"decision": "withdrawn", "sheet_version": "v2",
                                                   "sheet_language": "es"}, page_url="/portal/consent/participation")
    home = visitor.open("/portal").get_data(as_text=True)
    assert 'data-standing="withdrawn"' in home
    assert "Sus citas se han cancelado y el proceso se ha detenido." in home
    assert "póngase en contacto con el programa" in home
    assert "No pasará nada más" not in home and "unless you change your mind" not in home


def test_a_new_grant_after_a_withdrawal_reopens_nothing_and_asks_staff_to_make_contact(app, case, phone):
    """The referral stays closed; one task in the queue (the coordinators' and the referral's facilitators'),
    sourced by the decision; the page says someone will contact her. A second grant adds nothing."""
    decide(app, case, "survivor", "participation")
    decide(app, case, "survivor", "participation", "withdrawn")
    visitor = inside(app, case, phone)
    response = visitor.post("/portal/consent/participation", {"decision": "granted", "sheet_version": "v2",
                                                              "sheet_language": "es"},
                            page_url="/portal/consent/participation")
    assert response.status_code == 302
    home = visitor.open("/portal").get_data(as_text=True)
    assert "Nada vuelve a empezar por sí solo" in home  # the flash, once
    assert 'data-standing="waiting"' in home and "se pondrá en contacto con usted" in home
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
    assert (referral.status, referral.status_reason) == ("closed", "consent_withdrawn")
    raised = tasks(app, "regrant_after_withdrawal")
    assert len(raised) == 1 and raised[0].state == "open" and raised[0].referral_id == case.referral.id
    assert raised[0].source_key.startswith("consent:") and raised[0].params == {"scope": "participation"}

    decide(app, case, "survivor", "participation")  # agreeing again while already agreeing: nothing new
    assert len(tasks(app, "regrant_after_withdrawal")) == 1


def test_a_first_grant_asks_nobody_to_make_contact(app, case):
    """Only a grant that follows a withdrawal raises the request."""
    decide(app, case, "survivor", "participation")
    decide(app, case, "survivor", "contact_other_party")
    assert tasks(app, "regrant_after_withdrawal") == []
    decide(app, case, "survivor", "contact_other_party", "withdrawn")
    decide(app, case, "survivor", "contact_other_party")
    assert len(tasks(app, "regrant_after_withdrawal")) == 1
