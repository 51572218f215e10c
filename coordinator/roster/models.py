"""The roster's tables (docs/design.md sections 2 and 4): facilitators' profiles, trainings, weekly availability,
dated exceptions, declared conflicts, and the venues."""

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id

MIN_CIRCLE_CAPACITY = 4  # the two parties and the two facilitators, at least


class TrainingKind(StrEnum):
    """Trainings a facilitator holds; a circle needs trafficking_specialist on both (docs/design.md section 4)."""

    restorative_practice = "restorative_practice"
    trauma_informed = "trauma_informed"
    trafficking_specialist = "trafficking_specialist"

class FacilitatorProfile(SQLModel, table=True):
    """What the roster knows of a facilitator: languages, time zone and caseload cap. Keyed by the user."""

    __tablename__ = "facilitator_profiles"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    languages: list[str] = Field(default_factory=list, sa_type=JSON)
    timezone: str = Field(default="UTC", sa_type=String(64))
    max_active_referrals: int = 6

class AvailabilityWindow(SQLModel, table=True):
    """A weekly window a facilitator is available in, in their own time zone (weekday 0 is Monday)."""

    __tablename__ = "availability_windows"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    weekday: int
    start_time: time
    end_time: time

class AvailabilityException(SQLModel, table=True):
    """A date on which a facilitator is not available, whatever the weekly windows say."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (UniqueConstraint("user_id", "on_date"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    on_date: date
    unavailable: bool = True

class FacilitatorConflict(SQLModel, table=True):
    """A declared conflict of interest: that facilitator is never proposed for a case with this docket number.

    It names the docket as typed rather than pointing at a case, so declaring one tells the facilitator nothing
    about which cases the programme holds, and it also covers a case that is referred later.
    """

    __tablename__ = "facilitator_conflicts"
    __table_args__ = (UniqueConstraint("user_id", "docket_number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    docket_number: str = Field(sa_type=String(64), index=True)
    declared_at: datetime = Field(sa_type=UTCDateTime)

class CaseloadOverride(SQLModel, table=True):
    """A coordinator's decision to assign a facilitator to a referral although it put them over their caseload cap.

    The reason is staff text about workload (the form asks for no names); the audit entry holds only ids and counts.
    """

    __tablename__ = "caseload_overrides"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    caseload: int  # open referrals before this assignment
    cap: int
    reason: str = Field(sa_type=String(200))
    decided_by_id: uuid.UUID = Field(foreign_key="users.id")
    decided_at: datetime = Field(sa_type=UTCDateTime)

class Training(SQLModel, table=True):
    """One training of a facilitator, valid until a date."""

    __tablename__ = "trainings"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    kind: str = Field(sa_type=String(32))
    valid_until: date

class Venue(SQLModel, table=True):
    """A place for in-person sessions; its address is encrypted."""

    __tablename__ = "venues"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_type=String(120))
    address_enc: str | None = Field(default=None, sa_type=String(1024), nullable=False)
    entrance_enc: str | None = Field(default=None, sa_type=String(1024))  # which door; as revealing as the address
    timezone: str = Field(default="UTC", sa_type=String(64))
    separate_waiting_rooms: bool = False
    accessible: bool = False
    capacity: int = 8
    opening_hours: list[dict] = Field(default_factory=list, sa_type=JSON)
    active: bool = True

    address = sealed("address_enc")
    entrance = sealed("entrance_enc")

    def suits(self, kind: str) -> bool:
        """Open, and for a circle with separate waiting rooms and room for everyone (docs/design.md section 4).

        Booking, slot search and the readiness gate all ask this one question of a venue.
        """
        return venue_suits(kind, self.active, self.separate_waiting_rooms, self.capacity)


def venue_suits(kind: str, active: bool, separate_waiting_rooms: bool, capacity: int) -> bool:
    """`Venue.suits` on a venue's columns, for those who read only the columns."""
    if not active:
        return False
    return kind != "circle" or (separate_waiting_rooms and capacity >= MIN_CIRCLE_CAPACITY)
