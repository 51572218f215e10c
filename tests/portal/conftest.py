"""Fixtures for the portal tests: a referral in screening, and a party's phone."""

from __future__ import annotations

import pytest

from coordinator.accounts.models import Role
from tests.portal.helpers import Case, Phone


@pytest.fixture
def phone(app):
    """A fresh phone."""
    return lambda: Phone(app.test_client())


@pytest.fixture
def case(factory):
    """A referral in screening with two assigned facilitators; the survivor speaks Spanish."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"alias": "Paloma Secreta", "preferred_language": "es",
                                          "contact": {"email": "paloma@example.org", "phone": "+34 600 000 001"}},
                                responsible_party={"alias": "Señor Gris",
                                                   "contact": {"email": "gris@example.org"}})
    return Case(referral, coordinator, pair)
