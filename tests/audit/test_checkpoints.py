"""Signed checkpoints outside the database, truncation with a rewound head, incremental verification, and entries
chained at commit (a rolled-back savepoint or transaction writes none)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from config import generate_signing_key
from coordinator.accounts.models import SYSTEM
from coordinator.audit.models import AuditEntry, AuditVerified
from coordinator.audit.service import entry_hash, record, referral_trail
from coordinator.db import db
from tests.audit.test_chain import ENTRIES, append_entries, chain, execute, reported_seq
from tests.conftest import make_app


@pytest.fixture
def checkpoint_file(tmp_path):
    """Where this test's checkpoints go."""
    return tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture
def app_settings(checkpoint_file) -> dict[str, str]:
    """Checkpoints in a file of this test's own."""
    return {"COORDINATOR_AUDIT_CHECKPOINT_PATH": str(checkpoint_file)}


def run(app, *args: str):
    """Run `flask --app app audit ...` and return the click result."""
    return app.test_cli_runner().invoke(args=["audit", *args])


def rewind_to(app, seq: int, *, verified_too: bool = True) -> None:
    """What someone with the database does to hide the newest entries: delete them, rewind the head (and the
    last verified point) to entry `seq`."""
    entry = chain(app)[seq - 1]
    execute(app, "DELETE FROM audit_entries WHERE seq > :seq", seq=seq)
    execute(app, "UPDATE audit_head SET last_seq = :seq, last_hash = :hash", seq=seq, hash=entry.hash)
    if verified_too:
        execute(app, "UPDATE audit_verified SET seq = :seq, hash = :hash", seq=seq, hash=entry.hash)


def test_a_checkpoint_is_a_signed_line_in_the_file(app, checkpoint_file):
    """`audit checkpoint` appends the head, signed; `audit verify` then names it."""
    append_entries(app)
    result = run(app, "checkpoint")
    assert result.exit_code == 0, result.output
    assert f"Checkpoint signed: entry {ENTRIES}" in result.output
    [line] = checkpoint_file.read_text().splitlines()
    written = json.loads(line)
    assert (written["seq"], written["hash"]) == (ENTRIES, chain(app)[-1].hash)
    assert set(written) == {"seq", "hash", "at", "key", "signature"}
    verified = run(app, "verify")
    assert verified.exit_code == 0, verified.output
    assert f"Latest signed checkpoint: entry {ENTRIES}" in verified.output


def test_a_truncated_tail_with_a_rewound_head_fails_against_the_checkpoint(app):
    """Deleting the newest entries and rewinding the head (and the verified point) passes the chain's own checks;
    the checkpoint names the missing tail, incrementally and in full."""
    append_entries(app)
    assert run(app, "checkpoint").exit_code == 0
    rewind_to(app, 4)
    for args in (("verify",), ("verify", "--full")):
        result = run(app, *args)
        assert reported_seq(result) == 5
        assert "tail is missing" in result.output and f"entry {ENTRIES}" in result.output
    assert run(app, "checkpoint").exit_code == 1  # a broken chain is never checkpointed


def test_a_truncated_tail_after_the_checkpoint_is_found_from_the_last_verified_point(app):
    """Entries written after the checkpoint and verified, then cut with the head rewound: the verified point
    (when left alone) names the cut."""
    append_entries(app)
    assert run(app, "checkpoint").exit_code == 0
    append_entries(app, 3)
    assert run(app, "verify").exit_code == 0
    rewind_to(app, ENTRIES + 1, verified_too=False)
    assert reported_seq(run(app, "verify")) == ENTRIES + 3


def test_a_rewritten_chain_up_to_the_checkpoint_fails(app):
    """Recomputing every hash after an edit makes a chain that verifies on its own, but not the checkpointed one."""
    append_entries(app)
    assert run(app, "checkpoint").exit_code == 0
    with app.app_context():
        entries = list(db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        previous = entries[1].hash
        for entry in entries[2:]:
            entry.action = "forged" if entry.seq == 3 else entry.action
            entry.prev_hash = previous
            entry.hash = previous = entry_hash(entry)
        db.session.execute(select(1))
        db.session.commit()
    execute(app, "UPDATE audit_head SET last_hash = :hash", hash=previous)
    execute(app, "DELETE FROM audit_verified")
    result = run(app, "verify", "--full")
    assert reported_seq(result) == ENTRIES
    assert "signed checkpoint" in result.output


@pytest.mark.parametrize("field", ["seq", "hash", "at"])
def test_a_tampered_checkpoint_is_not_trusted(app, checkpoint_file, field):
    """Changing what a checkpoint says breaks its signature: verify exits non-zero and says so."""
    append_entries(app)
    assert run(app, "checkpoint").exit_code == 0
    rewind_to(app, 4)
    written = json.loads(checkpoint_file.read_text())
    written[field] = {"seq": 4, "hash": chain(app)[3].hash, "at": "2026-01-01T00:00:00+00:00"}[field]
    checkpoint_file.write_text(json.dumps(written) + "\n")
    result = run(app, "verify")
    assert result.exit_code != 0
    assert "Audit checkpoint not trusted" in result.output and "signature" in result.output


def test_a_checkpoint_signed_by_another_key_is_not_trusted(app, database_url, checkpoint_file):
    """A forger with their own key cannot write a checkpoint this installation accepts."""
    append_entries(app)
    rewind_to(app, 4)
    forger = make_app(database_url, COORDINATOR_AUDIT_SIGNING_KEY=generate_signing_key(),
                      COORDINATOR_AUDIT_CHECKPOINT_PATH=str(checkpoint_file))
    assert run(forger, "checkpoint").exit_code == 0
    forger.extensions["db_engine"].dispose()
    result = run(app, "verify")
    assert result.exit_code != 0 and "signature" in result.output


def test_verify_is_incremental_from_the_last_verified_entry(app):
    """The second run checks only the new entries; `--full` checks every one again."""
    append_entries(app)
    first = run(app, "verify")
    assert f"Audit chain intact: {ENTRIES} entries." in first.output
    last = chain(app)[-1]
    with app.app_context():
        verified = db.session.get(AuditVerified, 1)
    assert (verified.seq, verified.hash) == (ENTRIES, last.hash)
    append_entries(app, 3)
    second = run(app, "verify")
    assert second.exit_code == 0, second.output
    assert f"3 entries checked after entry {ENTRIES}" in second.output and f"{ENTRIES + 3} in all" in second.output
    full = run(app, "verify", "--full")
    assert f"Audit chain intact: {ENTRIES + 3} entries." in full.output


def test_an_incremental_run_notices_its_starting_point_changed(app):
    """An edit before the verified point is found by `--full`; a change to the verified entry itself at once."""
    append_entries(app)
    assert run(app, "verify").exit_code == 0
    execute(app, "UPDATE audit_entries SET action = 'forged' WHERE seq = 2")
    assert run(app, "verify").exit_code == 0  # already verified: the daily job runs in full
    assert reported_seq(run(app, "verify", "--full")) == 2
    execute(app, "UPDATE audit_entries SET hash = :hash WHERE seq = :seq", hash="e" * 64, seq=ENTRIES)
    result = run(app, "verify")
    assert reported_seq(result) == ENTRIES and "last one verified" in result.output


def test_entries_are_chained_at_commit_and_dropped_with_a_rollback(app):
    """An entry has no place in the chain until its transaction commits; one recorded in a savepoint that rolls
    back, or in a transaction that rolls back, is never written."""
    with app.app_context():
        kept = record(SYSTEM, "test.kept")
        assert kept.seq is None
        try:
            with db.session.begin_nested():
                record(SYSTEM, "test.savepoint_rolled_back")
                raise RuntimeError
        except RuntimeError:
            pass
        with db.session.begin_nested():
            record(SYSTEM, "test.savepoint_released")
        db.session.commit()
        assert kept.seq == 1
    with app.app_context():
        record(SYSTEM, "test.rolled_back")
        db.session.rollback()
        db.session.commit()
    with app.app_context():
        record(SYSTEM, "test.closed")
        db.session.close()
        db.session.commit()
    assert [(entry.seq, entry.action) for entry in chain(app)] == [(1, "test.kept"), (2, "test.savepoint_released")]
    assert run(app, "verify").exit_code == 0


def test_the_checkpoint_job_writes_a_signed_line(app, checkpoint_file):
    """The scheduler's `checkpoint_audit_chain` verifies and signs the head, like the command."""
    append_entries(app)
    result = app.test_cli_runner().invoke(args=["jobs", "run", "checkpoint_audit_chain"])
    assert result.exit_code == 0, result.output
    assert f"checkpoint at entry {ENTRIES}" in result.output
    assert json.loads(checkpoint_file.read_text())["seq"] == ENTRIES


def test_a_list_writes_one_entry_naming_every_referral_shown(app, factory, api):
    """GET /api/v1/referrals: one `referral.list` entry with every id on the page, in each referral's trail."""
    coordinator = factory.user("coordinator")
    referrals = [factory.referral(by=coordinator) for _ in range(3)]
    assert api(coordinator).get("/api/v1/referrals").status_code == 200
    [entry] = [entry for entry in chain(app) if entry.action == "referral.list"]
    assert entry.referral_id is None
    assert set(entry.details["ids"]) == {str(referral.id) for referral in referrals}
    with app.app_context():
        for referral in referrals:
            assert entry.seq in {trail.seq for trail in referral_trail(referral.id)}
