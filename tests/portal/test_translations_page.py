"""The coordinators' page of the party languages (docs/design.md section 7): each catalogue's and sheet's review
status and how complete each catalogue is; the portal never calls a draft reviewed."""

from __future__ import annotations

import re

from tests.portal.helpers import inside


def test_coordinators_see_every_language_with_its_review_status(factory, browser):
    """Thirteen rows: English, Spanish and French reviewed, the others drafts, every catalogue complete."""
    page = browser(factory.user("coordinator")).get("/languages")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and body.count('<tr data-language="') == 13
    for code in ("en", "es", "fr"):
        row = body.split(f'<tr data-language="{code}">')[1].split("</tr>")[0]
        assert 'data-catalogue="reviewed"' in row and row.count('data-status="reviewed"') == 3
    for code in ("pt", "ro", "bg", "uk", "ru", "vi", "zh", "th", "tl", "ar"):
        row = body.split(f'<tr data-language="{code}">')[1].split("</tr>")[0]
        assert 'data-catalogue="draft"' in row and row.count('data-status="draft"') == 3
    counts = re.findall(r"(\d+) of (\d+) texts translated", body)
    assert len(counts) == 13 and all(done == total and int(total) > 100 for done, total in counts)
    assert 'data-status="missing"' not in body
    assert 'lang="ar">العربية' in body and "Languages for the parties" in body


def test_only_coordinators_and_admins_see_it(factory, browser):
    """Facilitators and prosecutors are refused; visitors are asked to sign in."""
    assert browser(factory.user("admin")).get("/languages").status_code == 200
    for role in ("facilitator", "prosecutor"):
        assert browser(factory.user(role)).get("/languages").status_code == 403
    assert browser().get("/languages").status_code == 302


def test_the_portal_says_a_draft_is_new_and_never_that_it_is_reviewed(app, case, phone):
    """In Vietnamese (a draft), the home page and the sheet say the translation is new and offer an interpreter;
    in Spanish (reviewed) they do not."""
    visitor = inside(app, case, phone)
    spanish = visitor.open("/portal").get_data(as_text=True)
    assert 'data-translation="draft"' not in spanish
    visitor.post("/portal/language", {"language": "vi"}, page_url="/portal")
    for url in ("/portal", "/portal/consent/participation"):
        page = visitor.open(url).get_data(as_text=True)
        assert 'data-translation="draft"' in page and "thông dịch viên" in page
        assert "reviewed" not in page.lower()
