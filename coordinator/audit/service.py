"""Append to the audit chain, read a referral's trail, and verify the whole chain."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Actor
from coordinator.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from coordinator.db import Row, db


def record(
    actor: Actor,
    action: str,
    obj: Row | None = None,
    *,
    referral_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; `details` must hold codes and ids only, never personal data."""
    return record_many(actor, action, [(obj, referral_id)], details=details)[0]


def record_many(actor: Actor, action: str, objects: list[tuple[Row | None, uuid.UUID | None]], *,
                details: dict[str, Any] | None = None) -> list[AuditEntry]:
    """Append one entry per (object, referral id), chained in order, under one lock and one flush.

    For views that disclose many records at once (the prosecutor's case list): each stays its own entry.
    """
    session = db.session
    # The head row is the lock: PostgreSQL serializes appends on it, SQLite's BEGIN IMMEDIATE already has.
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    actor_type, actor_id = actor.audit_ref
    now = clock.now()
    entries = []
    for obj, referral_id in objects:
        entry = AuditEntry(
            seq=head.last_seq + 1,
            at=now,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            object_type=obj.__tablename__ if obj is not None else None,
            object_id=str(obj.id) if obj is not None else None,
            referral_id=referral_id,
            details=dict(details or {}),
            prev_hash=head.last_hash,
            hash="",
        )
        entry.hash = entry_hash(entry)
        head.last_seq, head.last_hash = entry.seq, entry.hash
        entries.append(entry)
    session.add_all(entries)
    session.flush()
    return entries


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over the entry's content and its predecessor's hash."""
    at = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = [
        entry.seq,
        at,
        entry.actor_type,
        entry.actor_id,
        entry.action,
        entry.object_type,
        entry.object_id,
        str(entry.referral_id) if entry.referral_id else None,
        entry.details or {},
        entry.prev_hash,
    ]
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def referral_trail(referral_id: uuid.UUID, limit: int = 200) -> list[AuditEntry]:
    """The newest entries about one referral."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.referral_id == referral_id)
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying the chain: `bad_seq` names the first entry that fails."""

    checked: int
    bad_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """True when every entry and the head agree."""
        return self.problem is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order and report the first edited, deleted or inserted entry."""
    session = db.session
    expected_seq, expected_prev, checked = 1, GENESIS_HASH, 0
    while True:
        query = select(AuditEntry).order_by(AuditEntry.seq).limit(batch_size)
        if checked:  # the first batch has no lower bound, so an entry slipped in before seq 1 is seen
            query = query.where(AuditEntry.seq >= expected_seq)
        batch = session.execute(query).scalars().all()
        for entry in batch:
            if entry.seq < expected_seq:
                return ChainReport(checked, entry.seq, f"entry {entry.seq} was inserted before the chain's first "
                                                       "entry")
            if entry.seq != expected_seq:
                return ChainReport(checked, expected_seq, f"entry {expected_seq} is missing (deleted); the chain "
                                                          f"continues at entry {entry.seq}")
            if entry.prev_hash != expected_prev:
                return ChainReport(checked, entry.seq, f"entry {entry.seq} does not follow entry {entry.seq - 1}: "
                                                       "an entry was inserted, deleted or rewritten before it")
            if entry_hash(entry) != entry.hash:
                return ChainReport(checked, entry.seq, f"entry {entry.seq} was edited: its content does not "
                                                       "match its hash")
            expected_seq, expected_prev, checked = entry.seq + 1, entry.hash, checked + 1
        if len(batch) < batch_size:
            break
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is None or head.last_seq != last_seq or head.last_hash != expected_prev:
        recorded = head.last_seq if head else "nothing"
        # Name the first entry the head does not vouch for: the first removed, the first added past it, or the last.
        if head is not None and head.last_seq == last_seq:
            bad_seq = last_seq
        else:
            bad_seq = min(last_seq, head.last_seq if head else 0) + 1
        return ChainReport(checked, bad_seq, f"the chain ends at entry {last_seq} but its head records entry "
                                             f"{recorded}: entries were removed from or added to the end, or the "
                                             "head was altered")
    return ChainReport(checked)
