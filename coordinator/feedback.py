"""Feedback where the action was: a confirmation or refusal is shown once, beside the section whose form was used.

A view that redirects to a section (`url_for(..., _anchor="consent-heading")`) needs nothing more: its flashed
messages are tagged with that anchor, the page shows them under the section's heading (`feedback_for`), and the
browser scrolls there. Messages for an anchor the page does not show, and untagged ones, stay at the top
(`unplaced_feedback`), so nothing is lost and nothing is shown twice.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from flask import Flask, Response, g, get_flashed_messages, session

SEPARATOR = "@"


def tag_flashes_with_anchor(response: Response) -> Response:
    """On a redirect to a fragment, tie the messages flashed for it to that fragment."""
    if response.status_code in (301, 302, 303, 307, 308) and "_flashes" in session:
        anchor = urlsplit(response.headers.get("Location", "")).fragment
        if anchor:
            session["_flashes"] = [(category if SEPARATOR in category else f"{category}{SEPARATOR}{anchor}", message)
                                   for category, message in session["_flashes"]]
    return response


def _placed() -> list[tuple[str, str | None, str]]:
    """This request's flashed messages as (kind, anchor or None, message)."""
    placed = []
    for item in get_flashed_messages(with_categories=True):
        category, message = cast(tuple[str, str], item)  # with categories, each is a (category, message) pair
        kind, _sep, anchor = str(category).partition(SEPARATOR)
        placed.append((kind, anchor or None, str(message)))
    return placed


def feedback_for(anchor: str) -> list[tuple[str, str]]:
    """The (kind, message) pairs flashed for the section with this anchor; marks the anchor as shown."""
    g.setdefault("feedback_shown", set()).add(anchor)
    return [(kind, message) for kind, where, message in _placed() if where == anchor]


def unplaced_feedback() -> list[tuple[str, str]]:
    """Messages for no section, or for one this page did not show: the page's top shows them."""
    shown = g.get("feedback_shown", set())
    return [(kind, message) for kind, where, message in _placed() if where is None or where not in shown]


def register_feedback(app: Flask) -> None:
    """Tag redirects' messages and give templates the two helpers."""
    app.after_request(tag_flashes_with_anchor)
    app.jinja_env.globals.update(feedback_for=feedback_for, unplaced_feedback=unplaced_feedback)
