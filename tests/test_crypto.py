"""Field encryption at rest: nothing identifying in the database, values bound to their cell, a data key per
referral wrapped by the programme keys, key rotation that re-wraps those keys."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Uuid, bindparam, inspect, select, text

from config import ConfigError, generate_encryption_key, parse_encryption_keys
from coordinator import clock
from coordinator.accounts.mfa import enrol_from_command
from coordinator.agreements.models import Agreement, AgreementItem, ItemProgress
from coordinator.crypto import (
    SEALED_FIELDS,
    DecryptionError,
    key_id,
    open_value,
    rewrap_data_keys,
    rotate_all,
    seal_context,
)
from coordinator.db import db
from coordinator.keystore import ReferralKey
from coordinator.notifications.models import Channel
from coordinator.notifications.service import queue_message
from coordinator.referrals import workflow
from coordinator.referrals.models import Party, PartyRole, Referral
from coordinator.referrals.service import record_acknowledgement
from coordinator.retention.service import set_legal_hold
from coordinator.roster.models import Venue
from coordinator.safety.service import propose_mitigation, record_assessment, record_protective_order, report_incident
from coordinator.tasks.models import Task
from coordinator.tasks.service import dismiss_task, set_on_call
from tests.conftest import make_app
from tests.factories import LOW_RISK, Factory

BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
BASE64URL_KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")
ROOT = Path(__file__).resolve().parents[1]


def marker(label: str) -> str:
    """A string that cannot occur in the database by chance."""
    return f"{label}{uuid.uuid4().hex[:12]}"


def encodings(plaintext: str) -> set[str]:
    """The plaintext's base64 and base64url forms at every byte alignment, without the edge characters."""
    forms = set()
    raw = plaintext.encode("utf-8")
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + raw).decode().rstrip("=")
            forms.add(encoded[4:-4])
    return forms


def raw_cells(engine) -> Iterator[tuple[str, str, str]]:
    """Every non-null cell of every table, as (table, column, text), read with plain SQL."""
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        yield table, column, str(value)


def sealed_cells(engine) -> list[tuple[str, str, str, str]]:
    """Every stored ciphertext of every sealed column: (table, column, row id, sealed value)."""
    cells = []
    with engine.connect() as connection:
        for field in SEALED_FIELDS:
            table = field.model.__tablename__
            rows = connection.execute(text(f'SELECT id, "{field.column}" FROM "{table}" '
                                           f'WHERE "{field.column}" IS NOT NULL'))
            cells.extend((table, field.column, str(row_id), value) for row_id, value in rows)
    return cells


def plaintexts(app) -> dict[tuple[str, str, str], str]:
    """Every sealed value decrypted through the models: (table, attribute, row id) -> plaintext."""
    values = {}
    with app.app_context():
        for field in SEALED_FIELDS:
            for row in db.session.execute(select(field.model)).scalars():
                if getattr(row, field.column) is not None:
                    values[(field.model.__tablename__, field.attribute, str(row.id))] = getattr(row, field.attribute)
    return values


def data_keys(app) -> dict[uuid.UUID, tuple[str, str]]:
    """Every live data key in the key store: referral id -> (programme key id, wrapped key)."""
    with app.app_context():
        return {row.referral_id: (row.key_id, row.wrapped)
                for row in db.session.execute(select(ReferralKey)).scalars() if row.wrapped}


def key_id_of_text(key_text: str) -> str:
    """The key id of a configured (base64url) key."""
    return key_id(parse_encryption_keys(key_text)[0])


@contextmanager
def app_with_keys(database_url: str, keys: str):
    """Another app on the same database with its own COORDINATOR_ENCRYPTION_KEYS."""
    other = make_app(database_url, COORDINATOR_ENCRYPTION_KEYS=keys)
    try:
        yield other
    finally:
        other.extensions["db_engine"].dispose()


def sql(statement: str, **params):
    """A plain SQL statement; UUID parameters are bound as the backend stores UUIDs."""
    typed = [bindparam(name, value, type_=Uuid) for name, value in params.items() if isinstance(value, uuid.UUID)]
    plain = {name: value for name, value in params.items() if not isinstance(value, uuid.UUID)}
    return text(statement).bindparams(*typed, **plain)


def execute(app, statement: str, **params) -> None:
    """Run one plain SQL statement and commit it."""
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(sql(statement, **params))


def read_party(app, party_id: uuid.UUID, attribute: str) -> str:
    """One party's decrypted attribute, read in a fresh app context."""
    with app.app_context():
        party = db.session.get(Party, party_id)
        return getattr(party, attribute)


def survivor_ids(app, *referrals) -> list[uuid.UUID]:
    """The survivor party id of each referral."""
    with app.app_context():
        return [db.session.get(Referral, referral.id).party(PartyRole.survivor).id for referral in referrals]


def make_sensitive_data(app, factory: Factory) -> list[str]:
    """Users, a referral with notes and a status note, all holding marker strings; returns the plaintexts."""
    markers = {name: marker(name) for name in ("survivoralias", "responsiblealias", "coordname", "facilname",
                                               "intakenotes", "statusnote", "securelink", "risksummary",
                                               "mitigationnotes", "courtreference", "incidentnote",
                                               "acknowledgement", "venueaddress", "venueentrance",
                                               "agreementitem", "progressnote", "legalhold", "tasknote")}
    survivor_email, responsible_email = f"{marker('svmail')}@example.org", f"{marker('rpmail')}@example.org"
    survivor_phone, responsible_phone = "+44 7911 482 957", "+34 633 918 274"
    on_call_phone = "+33 6 48 27 91 53"
    markers["securelink"] = f"https://circles.example.org/l/{markers['securelink']}"
    coordinator = factory.user("coordinator", name=markers["coordname"])
    factory.user("facilitator", name=markers["facilname"])
    referral = factory.referral(
        by=coordinator,
        notes=markers["intakenotes"],
        survivor={"alias": markers["survivoralias"], "contact": {"email": survivor_email, "phone": survivor_phone}},
        responsible_party={"alias": markers["responsiblealias"],
                           "contact": {"email": responsible_email, "phone": responsible_phone}},
    )
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        workflow.transition(db.session.merge(coordinator), stored, "screening", note=markers["statusnote"])
        queue_message(Channel.sms, "referral_received", recipient_kind="party", recipient_id=stored.survivor.id,
                      key="crypto-test", referral_id=stored.id, link=markers["securelink"])
        actor = db.session.merge(coordinator)
        assessment = record_assessment(actor, stored, LOW_RISK, markers["risksummary"])
        propose_mitigation(actor, assessment, ["security_on_site"], markers["mitigationnotes"])
        record_protective_order(actor, stored, markers["courtreference"], True, date(2027, 1, 31))
        record_acknowledgement(actor, stored, "plea", markers["acknowledgement"])
        report_incident(actor, stored, "threat", markers["incidentnote"])
        set_legal_hold(actor, stored, markers["legalhold"])
        [task] = db.session.execute(select(Task).where(Task.referral_id == stored.id)).scalars()  # the incident's
        dismiss_task(actor, task, markers["tasknote"])
        set_on_call(actor, actor.id, on_call_phone)
        venue = Venue(name="Test venue")
        venue.address = markers["venueaddress"]
        venue.entrance = markers["venueentrance"]
        db.session.add(venue)
        # Stored directly: the agreement's rules are tested elsewhere, here only how its text is kept. Each row is in
        # the session before its child's text is sealed: the child finds its referral's key through it.
        agreement = Agreement(referral_id=stored.id, drafted_by_id=actor.id, created_at=clock.now(),
                              updated_at=clock.now())
        db.session.add(agreement)
        item = AgreementItem(agreement_id=agreement.id, position=0, kind="apology")
        item.description = markers["agreementitem"]
        db.session.add(item)
        progress = ItemProgress(item_id=item.id, status="completed", recorded_by_id=actor.id, recorded_at=clock.now())
        progress.note = markers["progressnote"]
        db.session.add(progress)
        totp_secret, _codes = enrol_from_command(actor)  # the second factor's secret is sealed too
        db.session.commit()
    return [*markers.values(), survivor_email, responsible_email, survivor_phone, responsible_phone, on_call_phone,
            totp_secret]


def searched_forms(values: list[str]) -> set[str]:
    """The markers as given, and phone numbers without their spaces."""
    return set(values) | {value.replace(" ", "") for value in values}


def test_markers_are_stored_and_readable(app, factory):
    """The sensitive data round-trips through the models (so the absence check below means something)."""
    markers = make_sensitive_data(app, factory)
    assert set(markers) <= set(plaintexts(app).values())


def test_no_identifying_value_is_stored_in_plain_text(app, factory):
    """No marker, nor its base64, appears in any cell of any table."""
    markers = searched_forms(make_sensitive_data(app, factory))
    cells = list(raw_cells(app.extensions["db_engine"]))
    assert {table for table, _, _ in cells} >= {"users", "parties", "referrals", "referral_status_changes",
                                                "audit_entries"}
    for table, column, value in cells:
        lowered = value.lower()
        for plaintext in markers:
            assert plaintext.lower() not in lowered, f"{plaintext!r} is readable in {table}.{column}"
            for form in encodings(plaintext):
                assert form not in value, f"{plaintext!r} is stored as base64 in {table}.{column}"


def test_every_sealed_column_holds_a_keyed_ciphertext(app, factory):
    """Each sealed column of the data above is filled: a referral's values with `rk:base64url` (its data key), the
    rest with `kid:base64url` (a programme key)."""
    make_sensitive_data(app, factory)
    cells = sealed_cells(app.extensions["db_engine"])
    filled = {(table, column) for table, column, _, _ in cells}
    assert filled == {(field.model.__tablename__, field.column) for field in SEALED_FIELDS}
    of_referrals = {field.model.__tablename__ for field in SEALED_FIELDS if field.under_referral}
    assert of_referrals >= {"referrals", "parties", "referral_status_changes", "acknowledgements", "agreement_items",
                            "agreement_item_progress", "risk_assessments", "mitigation_plans", "protective_orders",
                            "safety_incidents", "outbox_messages", "legal_holds"}
    assert {field.model.__tablename__ for field in SEALED_FIELDS if not field.under_referral} == {"users", "venues",
                                                                                               "on_call"}
    for table, column, _, value in cells:
        pattern = r"rk:[A-Za-z0-9_-]+" if table in of_referrals else r"[0-9a-f]{16}:[A-Za-z0-9_-]+"
        assert re.fullmatch(pattern, value), f"{table}.{column} is not {pattern}"


def test_each_referral_has_its_own_data_key_wrapped_by_the_newest_programme_key(app, database_url):
    """With keys "B,A": programme values are sealed under B, and every referral's data key is wrapped by B."""
    key_a, key_b = generate_encryption_key(), generate_encryption_key()
    with app_with_keys(database_url, f"{key_b},{key_a}") as app_ba:
        make_sensitive_data(app_ba, Factory(app_ba))
        Factory(app_ba).referral()
        cells = sealed_cells(app_ba.extensions["db_engine"])
        keys = data_keys(app_ba)
    assert {value.partition(":")[0] for table, _, _, value in cells if table in ("users", "venues")} == {
        key_id_of_text(key_b)}
    assert len(keys) == 2 and {kid for kid, _ in keys.values()} == {key_id_of_text(key_b)}
    assert all(wrapped.startswith(key_id_of_text(key_b) + ":") for _, wrapped in keys.values())


def test_a_value_cannot_be_opened_with_another_referrals_key(app, factory):
    """Two referrals, two data keys: a survivor's alias moved to the other referral's survivor does not open."""
    first, second = factory.referral(), factory.referral()
    [first_party, second_party] = survivor_ids(app, first, second)
    execute(app, "UPDATE parties SET alias_enc = (SELECT alias_enc FROM parties WHERE id = :source) WHERE id = :target",
            source=first_party, target=second_party)
    with app.app_context():
        moved = db.session.get(Party, second_party)
        # Even bound to the right cell, the first referral's value does not open under the second's key.
        context = seal_context("parties", "alias_enc", second_party)
        with pytest.raises(DecryptionError):
            open_value(moved.alias_enc, context, second.id)


def test_the_same_plaintext_seals_differently_each_time(app, factory):
    """A fresh nonce per value: equal contact details do not show as equal ciphertexts."""
    shared_phone = "+1 555 0100"
    factory.referral(survivor={"contact": {"phone": shared_phone}})
    factory.referral(survivor={"contact": {"phone": shared_phone}})
    with app.extensions["db_engine"].connect() as connection:
        stored = connection.execute(text("SELECT phone_enc FROM parties WHERE role = 'survivor'")).scalars().all()
    assert len(stored) == 2 and stored[0] != stored[1]


def test_a_value_copied_to_another_row_cannot_be_opened(app, factory):
    """The associated data binds a ciphertext to its row: a moved alias fails with DecryptionError."""
    first, second = survivor_ids(app, factory.referral(), factory.referral())
    execute(app, "UPDATE parties SET alias_enc = (SELECT alias_enc FROM parties WHERE id = :source) WHERE id = :target",
            source=first, target=second)
    with pytest.raises(DecryptionError):
        read_party(app, second, "alias")
    assert read_party(app, first, "alias").startswith("Survivor ")


def test_a_value_copied_to_another_column_cannot_be_opened(app, factory):
    """The associated data binds a ciphertext to its column: an email moved into the phone column fails."""
    [party_id] = survivor_ids(app, factory.referral())
    execute(app, "UPDATE parties SET phone_enc = email_enc WHERE id = :party", party=party_id)
    with pytest.raises(DecryptionError):
        read_party(app, party_id, "phone")


@pytest.mark.parametrize("alias", ["Ana Torres", "Ana Torresz", "Ana Torreszz"])  # every length mod 3
def test_flipping_any_character_of_a_sealed_value_is_detected(app, factory, alias):
    """Changing any one character of a stored value (key id or ciphertext) makes it fail to open."""
    [party_id] = survivor_ids(app, factory.referral(survivor={"alias": alias}))
    with app.extensions["db_engine"].connect() as connection:
        original = connection.execute(sql("SELECT alias_enc FROM parties WHERE id = :party",
                                          party=party_id)).scalar_one()
    alias = read_party(app, party_id, "alias")
    for position in range(len(original)):
        if original[position] == ":":
            continue
        tampered = original[:position] + _other_character(original[position]) + original[position + 1:]
        execute(app, "UPDATE parties SET alias_enc = :value WHERE id = :party", value=tampered,
                party=party_id)
        with pytest.raises(DecryptionError):
            read_party(app, party_id, "alias")
    execute(app, "UPDATE parties SET alias_enc = :value WHERE id = :party", value=original,
            party=party_id)
    assert read_party(app, party_id, "alias") == alias


def test_a_value_under_an_unknown_key_cannot_be_opened(app, database_url, factory):
    """An app without the sealing key refuses with DecryptionError instead of returning garbage."""
    [party_id] = survivor_ids(app, factory.referral())
    with app_with_keys(database_url, generate_encryption_key()) as stranger, pytest.raises(DecryptionError):
        read_party(stranger, party_id, "alias")


def test_keys_rotate_rewraps_data_keys_and_leaves_referral_values_untouched(app, database_url, factory):
    """After `keys rotate` with "B,A": every data key is wrapped by B and the programme values are sealed under B;
    the referrals' own ciphertexts are byte for byte what they were. B alone opens everything, A alone nothing."""
    make_sensitive_data(app, factory)
    key_a, key_b = app.config["COORDINATOR_ENCRYPTION_KEYS"], generate_encryption_key()
    before, cells_before = plaintexts(app), sealed_cells(app.extensions["db_engine"])
    keys_before = data_keys(app)
    assert {kid for kid, _ in keys_before.values()} == {key_id_of_text(key_a)}

    with app_with_keys(database_url, f"{key_b},{key_a}") as app_ba:
        result = app_ba.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"referral data keys: {len(keys_before)} re-wrapped" in result.output
    # Two staff names and one second factor's secret; a venue's address and its entrance.
    assert "users: 3 values re-encrypted" in result.output and "venues: 2 values re-encrypted" in result.output
    assert "parties:" not in result.output

    cells = sealed_cells(app.extensions["db_engine"])
    of_referrals = {field.model.__tablename__ for field in SEALED_FIELDS if field.under_referral}
    assert {cell for cell in cells if cell[0] in of_referrals} == {
        cell for cell in cells_before if cell[0] in of_referrals}
    for table, column, _, value in cells:
        if table not in of_referrals:
            assert value.partition(":")[0] == key_id_of_text(key_b), f"{table}.{column} still under the old key"
    keys_after = data_keys(app)
    assert keys_after.keys() == keys_before.keys()
    assert {kid for kid, _ in keys_after.values()} == {key_id_of_text(key_b)}
    with app_with_keys(database_url, key_b) as app_b:
        assert plaintexts(app_b) == before
    with app_with_keys(database_url, key_a) as app_a:
        for table, attribute, row_id in before:
            model = next(field.model for field in SEALED_FIELDS if field.model.__tablename__ == table)
            with app_a.app_context(), pytest.raises(DecryptionError):
                getattr(db.session.get(model, uuid.UUID(row_id)), attribute)


def test_rotation_walks_every_batch(app, database_url, factory):
    """Re-wrapping and re-sealing in batches smaller than a table still reach every row."""
    for _ in range(3):
        factory.referral()
    key_a, key_b = app.config["COORDINATOR_ENCRYPTION_KEYS"], generate_encryption_key()
    before = plaintexts(app)
    with app_with_keys(database_url, f"{key_b},{key_a}") as app_ba, app_ba.app_context():
        rewrapped = rewrap_data_keys(db.session, batch_size=2)
        changed = rotate_all(db.session, batch_size=2)
        db.session.commit()
    assert rewrapped == 3 and changed == {"users": 3, "venues": 0, "on_call": 0}
    with app_with_keys(database_url, key_b) as app_b:
        assert plaintexts(app_b) == before
    assert {kid for kid, _ in data_keys(app).values()} == {key_id_of_text(key_b)}


def test_keys_rotate_is_audited_and_idempotent(app, database_url, factory):
    """A second rotation changes nothing, and each run leaves an audit entry."""
    factory.referral()
    key_a, key_b = app.config["COORDINATOR_ENCRYPTION_KEYS"], generate_encryption_key()
    with app_with_keys(database_url, f"{key_b},{key_a}") as app_ba:
        runner = app_ba.test_cli_runner()
        first = runner.invoke(args=["keys", "rotate"])
        second = runner.invoke(args=["keys", "rotate"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "referral data keys: 1 re-wrapped" in first.output and "users: 1 values re-encrypted" in first.output
    assert "referral data keys: 0 re-wrapped" in second.output and "users: 0 values re-encrypted" in second.output
    with app.extensions["db_engine"].connect() as connection:
        rotations = connection.execute(text("SELECT COUNT(*) FROM audit_entries WHERE action = 'keys.rotate'"))
        assert rotations.scalar_one() == 2


def test_keys_generate_prints_a_32_byte_base64url_key(app):
    """`keys generate` prints one new key that the configuration accepts."""
    runner = app.test_cli_runner()
    first, second = (runner.invoke(args=["keys", "generate"]) for _ in range(2))
    assert first.exit_code == 0
    key = first.output.strip()
    assert BASE64URL_KEY.match(key)
    assert len(base64.urlsafe_b64decode(key + "=")) == 32
    assert parse_encryption_keys(key) == [base64.urlsafe_b64decode(key + "=")]
    assert second.output.strip() != key


def test_keys_generate_works_in_production_with_nothing_configured(tmp_path):
    """The README's first production step makes the keys start-up demands; every other command still refuses."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "COORDINATOR_ENV": "production"}
    flask = [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py")]
    generated = subprocess.run([*flask, "keys", "generate"], env=env, cwd=tmp_path, capture_output=True, text=True,
                               check=False, timeout=120)
    assert generated.returncode == 0, generated.stderr
    key = generated.stdout.strip()
    assert BASE64URL_KEY.match(key) and parse_encryption_keys(key)
    refused = subprocess.run([*flask, "keys", "rotate"], env=env, cwd=tmp_path, capture_output=True, text=True,
                             check=False, timeout=120)
    assert refused.returncode != 0 and "will not start in production" in refused.stderr


@pytest.mark.parametrize(
    "value",
    [
        base64.urlsafe_b64encode(b"k" * 16).decode(),  # 16 bytes
        base64.urlsafe_b64encode(b"k" * 33).decode(),  # 33 bytes
        "not base64 at all!",
        "%" * 43,
        generate_encryption_key()[:42] + "*",  # one character outside the alphabet
        "",
        " , ",
    ],
)
def test_bad_keys_are_refused(value):
    """Keys of the wrong length, keys that are not base64url and an empty list raise ConfigError."""
    with pytest.raises(ConfigError):
        parse_encryption_keys(value)


def test_a_bad_key_after_a_good_one_is_refused():
    """Every key in the list is checked, not only the newest."""
    with pytest.raises(ConfigError, match="key 2"):
        parse_encryption_keys(f"{generate_encryption_key()},c2hvcnQ")


def test_an_app_will_not_start_with_a_bad_key(database_url):
    """The configuration refuses a malformed COORDINATOR_ENCRYPTION_KEYS before any value is sealed."""
    with pytest.raises(ConfigError):
        make_app(database_url, COORDINATOR_ENCRYPTION_KEYS="too-short")


def _other_character(character: str) -> str:
    """The base64url character one bit away, so even the last character's spare bits count as altered."""
    return BASE64URL_ALPHABET[BASE64URL_ALPHABET.index(character) ^ 1]

