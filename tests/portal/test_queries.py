"""The portal's hot path costs a handful of statements (issue 15, item 2): its session, link, party and referral in
one, the consent overview read once per page."""

from __future__ import annotations

import re

from tests.portal.helpers import Case, inside, link_for
from tests.queries import counted_statements


def test_the_portal_home_reads_its_visit_in_one_statement_and_the_consent_once(app, factory, phone):
    coordinator = factory.user("coordinator")
    case = Case(factory.referral(by=coordinator, status="screening"), coordinator, ())
    visitor = inside(app, case, phone)
    assert visitor.open("/portal").status_code == 200
    with counted_statements(app) as statements:
        page = visitor.open("/portal")
    assert page.status_code == 200
    sent = [s for s in statements if not s.startswith("BEGIN") and "audit_" not in s]
    assert sum("FROM portal_sessions" in s for s in sent) == 1 and not any(s.startswith("SELECT secure_links.")
                                                                              for s in sent), sent
    assert sum("FROM consent_decisions" in s for s in sent) == 1, sent
    # The referral and its parties come with the visit: neither is read again (issue 15 measured 9 statements).
    assert not [s for s in sent if re.search(r"\bFROM (referrals|parties)\b", s)], sent
    assert len(sent) <= 6, sent


def test_opening_a_link_reads_the_link_and_its_party_in_one_statement(app, factory, phone):
    coordinator = factory.user("coordinator")
    path = link_for(app, Case(factory.referral(by=coordinator, status="screening"), coordinator, ()))
    visitor = phone()
    assert visitor.open(path).status_code == 200
    with counted_statements(app) as statements:
        page = visitor.open(path)
    assert page.status_code == 200
    sent = [s for s in statements if not s.startswith("BEGIN") and "service_clock" not in s]
    assert len(sent) == 1 and "FROM secure_links JOIN parties" in sent[0], sent
