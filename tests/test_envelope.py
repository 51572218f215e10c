"""Keys per referral: a referral's values open only with its own data key, a destroyed key erases them, and
`keys migrate-to-envelope` moves values written under the programme keys to their referral's key, in batches,
resuming where it stopped after a crash."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select, text

from coordinator import envelope
from coordinator.crypto import ENVELOPE, SEALED_FIELDS, KeyDestroyed, keyring, seal_context
from coordinator.db import db
from coordinator.envelope import count_legacy, destroy_data_keys, owned_models
from coordinator.keystore import ReferralKey
from coordinator.referrals.models import Party, Referral
from tests.test_crypto import make_sensitive_data, plaintexts, sealed_cells


def as_written_before_envelopes(app) -> None:
    """Put the database back as the previous release wrote it: every referral's value sealed under the programme
    keys, and no data key anywhere (what `db upgrade` to 0012 finds on an existing programme)."""
    with app.app_context():
        ring = keyring()
        for field in SEALED_FIELDS:
            if not field.under_referral:
                continue
            table = field.model.__tablename__
            for row in db.session.execute(select(field.model)).scalars():
                value = getattr(row, field.attribute)
                if value is not None:
                    setattr(row, field.column, ring.seal(value, seal_context(table, field.column, row.id)))
        db.session.flush()
        db.session.execute(delete(ReferralKey))
        db.session.commit()


def referral_cells(app) -> list[tuple[str, str, str, str]]:
    """The stored ciphertexts of the referrals' sealed columns."""
    owned = {model.__tablename__ for model in owned_models()}
    return [cell for cell in sealed_cells(app.extensions["db_engine"]) if cell[0] in owned]


def key_count(app) -> int:
    """Rows in the key store."""
    with app.app_context():
        return len(db.session.execute(select(ReferralKey)).scalars().all())


def test_a_destroyed_data_key_erases_that_referral_only(app, factory):
    """Destroying one referral's key leaves its ciphertexts unopenable; the other referral reads as before."""
    kept, erased = factory.referral(survivor={"alias": "Kept alias"}), factory.referral()
    with app.app_context():
        destroy_data_keys([erased.id])
        db.session.commit()
    with app.app_context():
        assert db.session.get(Referral, kept.id).survivor.alias == "Kept alias"
        party = db.session.get(Referral, erased.id).survivor
        assert party.alias_enc.startswith(ENVELOPE)  # still stored: only the key is gone
        with pytest.raises(KeyDestroyed):
            _ = party.alias
        row = db.session.get(ReferralKey, erased.id)
        assert row.wrapped is None and row.key_id is None and row.destroyed_at is not None


def test_nothing_can_be_sealed_again_for_a_referral_whose_key_was_destroyed(app, factory):
    """A late write for an erased referral is refused instead of sealed under a fresh key."""
    referral = factory.referral()
    with app.app_context():
        destroy_data_keys([referral.id])
        db.session.commit()
    with app.app_context():
        party = db.session.get(Referral, referral.id).survivor
        with pytest.raises(KeyDestroyed):
            party.alias = "A new alias"


def test_a_row_that_cannot_name_its_referral_is_refused_a_sealed_value(app, factory):
    """A party without its referral id is not sealed under the programme keys by mistake."""
    with app.app_context(), pytest.raises(ValueError, match="set its referral"):
        Party(role="survivor", preferred_language="en").alias = "Nobody's alias"


def test_migration_moves_every_value_under_its_referrals_key_and_reads_the_same(app, factory):
    """From the previous release's data: progress per table, every referral cell `rk:`, one key per referral, the
    plaintexts unchanged, and an audit entry."""
    make_sensitive_data(app, factory)
    factory.referral()
    before = plaintexts(app)
    as_written_before_envelopes(app)
    assert plaintexts(app) == before  # the old values are read through the programme keys meanwhile
    assert key_count(app) == 0 and not any(value.startswith(ENVELOPE) for *_, value in referral_cells(app))

    result = app.test_cli_runner().invoke(args=["keys", "migrate-to-envelope", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "parties: 2/4 rows" in result.output and "parties: 4/4 rows" in result.output
    assert re.search(r"Done: \d+ rows moved under their referral's key, 0 left\.", result.output)
    assert all(value.startswith(ENVELOPE) for *_, value in referral_cells(app))
    assert key_count(app) == 2
    assert plaintexts(app) == before
    with app.app_context():
        assert count_legacy() == dict.fromkeys(count_legacy(), 0)
    with app.extensions["db_engine"].connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM audit_entries "
                                       "WHERE action = 'keys.migrate_to_envelope'")).scalar_one() == 1


def test_migration_resumes_after_a_crash_and_a_finished_run_does_nothing(app, factory, monkeypatch):
    """A run that dies in its third batch keeps the two batches it committed; the next run does the rest, and a
    third run moves nothing."""
    for _ in range(3):
        factory.referral()
    before = plaintexts(app)
    as_written_before_envelopes(app)
    batches, sealed_in_third = [], []
    real_preload, real_seal = envelope.preload_data_keys, envelope.seal

    def counting_preload(referral_ids):
        batches.append(referral_ids)
        return real_preload(referral_ids)

    def crashing_seal(*args):
        if len(batches) == 3:  # batches of two rows: the process dies halfway through the parties' third batch
            if sealed_in_third:
                raise RuntimeError("the process died")
            sealed_in_third.append(args)  # one value of the batch is already re-sealed, its key created
        return real_seal(*args)

    monkeypatch.setattr(envelope, "preload_data_keys", counting_preload)
    monkeypatch.setattr(envelope, "seal", crashing_seal)
    runner = app.test_cli_runner()
    crashed = runner.invoke(args=["keys", "migrate-to-envelope", "--batch-size", "2"])
    assert crashed.exit_code != 0 and "parties: 4/6 rows" in crashed.output
    moved = [cell for cell in referral_cells(app) if cell[3].startswith(ENVELOPE)]
    assert len({cell[2] for cell in moved}) == 4 and {cell[0] for cell in moved} == {"parties"}
    assert plaintexts(app) == before  # moved and not moved alike still open

    monkeypatch.setattr(envelope, "seal", real_seal)
    assert sealed_in_third
    resumed = runner.invoke(args=["keys", "migrate-to-envelope", "--batch-size", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert "parties: 2/2 rows" in resumed.output  # only what the crash left
    assert all(value.startswith(ENVELOPE) for *_, value in referral_cells(app))
    assert plaintexts(app) == before and key_count(app) == 3
    again = runner.invoke(args=["keys", "migrate-to-envelope"])
    assert again.exit_code == 0 and "Done: 0 rows moved under their referral's key, 0 left." in again.output


def test_rotation_says_when_values_still_wait_for_the_migration(app, factory):
    """`keys rotate` before the migration warns that an old key cannot be removed yet."""
    factory.referral()
    as_written_before_envelopes(app)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    assert "run `keys migrate-to-envelope` before removing an old key" in result.output
