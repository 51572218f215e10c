"""How long a link lasts (docs/design.md section 5): until the party's last booked session plus 7 days and never less
than 7 days; renewed by the message that announces a session; ended at once by a revocation, and reduced to a
fresh consent by a withdrawal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage
from coordinator.portal.models import SecureLink
from coordinator.portal.service import revoke_link
from coordinator.referrals.models import Referral
from tests.portal.helpers import add_session, decide, inside, link_for

WEEK = timedelta(days=7)


def links(app) -> list[SecureLink]:
    """Every link, oldest first."""
    with app.app_context():
        return list(db.session.execute(select(SecureLink).order_by(SecureLink.created_at)).scalars())


def move_clock(app, to) -> None:
    """Move the whole service's clock."""
    with app.app_context():
        clock.set_clock(to)
        db.session.commit()


def now(app):
    """The service's now."""
    with app.app_context():
        return clock.now()


def test_a_link_with_nothing_booked_lasts_seven_days(app, case, phone):
    """No session: seven days, then the generic page."""
    issued_at = now(app)
    path = link_for(app, case)
    [link] = links(app)
    assert abs(link.expires_at - (issued_at + WEEK)) < timedelta(seconds=5)
    move_clock(app, link.expires_at - timedelta(minutes=1))
    assert phone().open(path).status_code == 200
    move_clock(app, link.expires_at + timedelta(minutes=1))
    assert phone().open(path).status_code == 404


def test_a_link_lasts_until_a_week_after_the_last_booked_session(app, case, phone):
    """A session 60 days ahead: the link issued today works on the day of the session and a week after it ends,
    and not a minute longer."""
    decide(app, case, "survivor", "participation")
    session = add_session(app, case, "pre_conference_survivor", days=60)
    path = link_for(app, case)
    newest = links(app)[-1]
    assert newest.expires_at == session.ends_at + WEEK
    move_clock(app, session.starts_at - timedelta(hours=1))
    assert phone().open(path).status_code == 200
    move_clock(app, session.ends_at + WEEK - timedelta(minutes=1))
    assert phone().open(path).status_code == 200
    move_clock(app, session.ends_at + WEEK + timedelta(minutes=1))
    assert phone().open(path).status_code == 404


def test_the_message_announcing_a_session_renews_the_links_the_party_holds(app, case, phone):
    """A link issued today would end in a week; booking a session 80 days ahead sends the announcement (with a link
    of its own) and stretches the earlier link too, so whichever message she opens still works."""
    decide(app, case, "survivor", "participation")
    earlier = link_for(app, case)
    [first] = links(app)
    assert first.expires_at - first.created_at == WEEK
    session = add_session(app, case, "pre_conference_survivor", days=80)
    renewed = {link.id: link for link in links(app)}
    assert renewed[first.id].expires_at == session.ends_at + WEEK
    announcement = [link for link in renewed.values() if link.id != first.id]
    assert [link.expires_at for link in announcement] == [session.ends_at + WEEK]
    with app.app_context():
        [message] = db.session.execute(select(OutboxMessage).where(
            OutboxMessage.template == "session_invitation")).scalars()
    assert message.params == {"session_id": str(session.id), "moved": False} and message.link_enc is not None
    move_clock(app, session.starts_at - timedelta(days=1))
    assert phone().continue_link(earlier).status_code == 302


def test_renewal_never_brings_back_a_revoked_or_expired_link(app, case, phone):
    """Revocation ends a link at once, whatever is booked later; an expired one stays expired."""
    decide(app, case, "survivor", "participation")
    revoked_path = link_for(app, case)
    with app.app_context():
        link = db.session.execute(select(SecureLink)).scalar_one()
        revoke_link(db.session.merge(case.coordinator), link)
        db.session.commit()
    assert phone().open(revoked_path).status_code == 404
    expired_path = link_for(app, case)
    move_clock(app, now(app) + WEEK + timedelta(hours=1))
    add_session(app, case, "pre_conference_survivor", days=30)
    assert phone().open(revoked_path).status_code == 404
    assert phone().open(expired_path).status_code == 404


def test_after_a_withdrawal_the_link_serves_only_a_fresh_consent(app, case, phone):
    """Sessions vanish from the page and their own pages answer 404; the sheets stay, to agree again."""
    decide(app, case, "survivor", "participation")
    session = add_session(app, case, "pre_conference_survivor", days=20)
    visitor = inside(app, case, phone)
    assert f'data-session="{session.id}"' in visitor.open("/portal").get_data(as_text=True)
    decide(app, case, "survivor", "participation", "withdrawn")
    home = visitor.open("/portal").get_data(as_text=True)
    assert f'data-session="{session.id}"' not in home and 'data-action="read-sheet"' in home
    assert visitor.open(f"/portal/sessions/{session.id}").status_code == 404
    assert visitor.open(f"/portal/sessions/{session.id}/calendar.ics").status_code == 404
    with app.app_context():
        assert db.session.get(Referral, case.referral.id).status == "closed"
