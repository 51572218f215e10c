"""The audit chain: `audit verify` finds edits, deletions, insertions and truncation; sensitive reads are audited."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from sqlalchemy import select, text

from coordinator.accounts.models import SYSTEM
from coordinator.audit.models import AuditEntry, AuditHead
from coordinator.audit.service import entry_hash, record, verify_chain
from coordinator.db import db

ENTRIES = 6
BROKEN_AT = re.compile(r"Audit chain broken at entry (-?\d+):")


def append_entries(app, count: int = ENTRIES) -> None:
    """Append `count` entries with distinct details, each in its own transaction."""
    for number in range(count):
        with app.app_context():
            record(SYSTEM, "test.append", details={"number": number})
            db.session.commit()


def execute(app, statement: str, **params) -> None:
    """Run plain SQL behind the service's back and commit it."""
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(text(statement), params)


def verify(app):
    """Run `flask audit verify` and return the click result."""
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def reported_seq(result) -> int:
    """The entry `audit verify` names as the first bad one; fails when the chain was reported intact."""
    assert result.exit_code != 0, result.output
    match = BROKEN_AT.search(result.output)
    assert match, result.output
    return int(match.group(1))


def chain(app) -> list[AuditEntry]:
    """Every entry in seq order."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def insert_copy(app, seq: int, source_seq: int, *, action: str, prev_hash: str, hash_: str) -> None:
    """Insert an entry at `seq` copying the other columns of entry `source_seq`."""
    execute(app, "INSERT INTO audit_entries (seq, at, actor_type, actor_id, action, object_type, object_id, "
                 "referral_id, details, prev_hash, hash) "
                 "SELECT :seq, at, actor_type, actor_id, :action, object_type, object_id, referral_id, details, "
                 ":prev_hash, :hash FROM audit_entries WHERE seq = :source",
            seq=seq, action=action, prev_hash=prev_hash, hash=hash_, source=source_seq)


def make_room_at(app, seq: int) -> None:
    """Renumber entries from `seq` on one place up, newest first so no two rows share a seq."""
    for current in range(ENTRIES, seq - 1, -1):
        execute(app, "UPDATE audit_entries SET seq = seq + 1 WHERE seq = :seq", seq=current)


def test_an_intact_chain_verifies(app):
    """Exit 0 and the number of entries checked."""
    append_entries(app)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"Audit chain intact: {ENTRIES} entries." in result.output


def test_an_empty_chain_verifies(app):
    """A new installation has a genesis head and no entries."""
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "intact: 0 entries" in result.output


@pytest.mark.parametrize(
    "change",
    [
        "action = 'referral.view'",
        "actor_type = 'user'",
        "object_id = 'someone-else'",
        "at = (SELECT at FROM audit_entries WHERE seq = 1)",
        "details = (SELECT details FROM audit_entries WHERE seq = 1)",
        "hash = (SELECT hash FROM audit_entries WHERE seq = 1)",
    ],
)
def test_an_edited_entry_is_named(app, change):
    """Changing any column of entry 3 breaks the chain at entry 3."""
    append_entries(app)
    execute(app, f"UPDATE audit_entries SET {change} WHERE seq = 3")
    assert reported_seq(verify(app)) == 3


def test_a_rewritten_link_is_named(app):
    """An entry whose prev_hash no longer names its predecessor is reported."""
    append_entries(app)
    execute(app, "UPDATE audit_entries SET prev_hash = (SELECT hash FROM audit_entries WHERE seq = 1) WHERE seq = 4")
    assert reported_seq(verify(app)) == 4


def test_an_edited_entry_with_a_recomputed_hash_is_named_by_its_successor(app):
    """Rewriting entry 3 and recomputing its hash still breaks entry 4's link to it."""
    append_entries(app)
    original = chain(app)[2]
    rewritten = AuditEntry(**{**original.model_dump(), "action": "forged"})
    rewritten.hash = entry_hash(rewritten)
    execute(app, "UPDATE audit_entries SET action = 'forged', hash = :hash WHERE seq = 3", hash=rewritten.hash)
    result = verify(app)
    assert reported_seq(result) == 4
    assert "does not follow entry 3" in result.output


def test_a_deleted_entry_in_the_middle_is_named(app):
    """Deleting entry 3 reports entry 3 as missing."""
    append_entries(app)
    execute(app, "DELETE FROM audit_entries WHERE seq = 3")
    result = verify(app)
    assert reported_seq(result) == 3
    assert "missing" in result.output


def test_a_forged_entry_inserted_in_the_middle_is_named(app):
    """Renumbering the chain to slip in an entry with a made-up hash is caught at the forged entry."""
    append_entries(app)
    previous = chain(app)[1]
    make_room_at(app, 3)
    insert_copy(app, 3, 2, action="forged", prev_hash=previous.hash, hash_="f" * 64)
    assert reported_seq(verify(app)) == 3


def test_a_forged_entry_with_a_computed_hash_is_named_by_its_successor(app):
    """An inserted entry whose own hash is right still breaks the link of the entry after it."""
    append_entries(app)
    entries = chain(app)
    forged = AuditEntry(**{**entries[1].model_dump(), "seq": 3, "action": "forged", "prev_hash": entries[1].hash})
    forged.hash = entry_hash(forged)
    make_room_at(app, 3)
    insert_copy(app, 3, 2, action="forged", prev_hash=forged.prev_hash, hash_=forged.hash)
    assert reported_seq(verify(app)) == 4


def test_a_forged_entry_before_the_first_is_named(app):
    """An entry slipped in before seq 1 is not ignored."""
    append_entries(app)
    insert_copy(app, 0, 1, action="forged", prev_hash="0" * 64, hash_="f" * 64)
    assert reported_seq(verify(app)) == 0


def test_a_forged_entry_appended_with_a_made_up_hash_is_named(app):
    """An entry added after the last one, with a hash that does not match its content, is reported."""
    append_entries(app)
    insert_copy(app, ENTRIES + 1, ENTRIES, action="forged", prev_hash=chain(app)[-1].hash, hash_="f" * 64)
    assert reported_seq(verify(app)) == ENTRIES + 1


def test_a_well_formed_entry_appended_behind_the_heads_back_is_named(app):
    """An entry added without moving the head is the first one the head does not vouch for."""
    append_entries(app)
    last = chain(app)[-1]
    forged = AuditEntry(**{**last.model_dump(), "seq": ENTRIES + 1, "action": "forged", "prev_hash": last.hash})
    forged.hash = entry_hash(forged)
    insert_copy(app, ENTRIES + 1, ENTRIES, action="forged", prev_hash=forged.prev_hash, hash_=forged.hash)
    result = verify(app)
    assert reported_seq(result) == ENTRIES + 1
    assert "head" in result.output


def test_a_truncated_tail_is_reported_as_a_head_mismatch(app):
    """Deleting the newest entry leaves a valid-looking chain that the head row contradicts."""
    append_entries(app)
    execute(app, "DELETE FROM audit_entries WHERE seq = :seq", seq=ENTRIES)
    result = verify(app)
    assert reported_seq(result) == ENTRIES
    assert f"head records entry {ENTRIES}" in result.output


def test_a_rewritten_last_entry_is_named(app):
    """Rewriting the newest entry with a correctly recomputed hash is caught by the head."""
    append_entries(app)
    last = chain(app)[-1]
    rewritten = AuditEntry(**{**last.model_dump(), "action": "forged"})
    rewritten.hash = entry_hash(rewritten)
    execute(app, "UPDATE audit_entries SET action = 'forged', hash = :hash WHERE seq = :seq",
            hash=rewritten.hash, seq=ENTRIES)
    result = verify(app)
    assert reported_seq(result) == ENTRIES
    assert "head" in result.output


def test_an_altered_head_is_reported(app):
    """The head row itself is checked against the chain."""
    append_entries(app)
    execute(app, "UPDATE audit_head SET last_hash = :hash", hash="e" * 64)
    assert reported_seq(verify(app)) == ENTRIES


def test_verification_reads_the_chain_in_batches(app):
    """Batches smaller than the chain still check every entry and still find a gap beyond the first batch."""
    append_entries(app)
    with app.app_context():
        report = verify_chain(batch_size=4)
    assert (report.intact, report.checked, report.last_seq) == (True, ENTRIES, ENTRIES)
    execute(app, "DELETE FROM audit_entries WHERE seq = 5")
    with app.app_context():
        report = verify_chain(batch_size=4)
    assert (report.checked, report.bad_seq, report.intact) == (4, 5, False)


def test_appends_continue_the_chain(app):
    """Each entry names its predecessor's hash, starting from the genesis hash, with seqs 1..N."""
    append_entries(app)
    entries = chain(app)
    assert [entry.seq for entry in entries] == list(range(1, ENTRIES + 1))
    assert entries[0].prev_hash == "0" * 64
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
        assert entry.hash == entry_hash(entry)


def test_entries_of_one_transaction_are_chained_in_order_and_the_head_follows_the_last(app):
    """Three entries in one commit, after two commits of one: numbered in the order recorded, each linked to the one
    before, and the head at the third (on PostgreSQL the last entry's insert moves it)."""
    append_entries(app, 2)
    with app.app_context():
        for number in range(3):
            record(SYSTEM, "test.together", details={"number": number})
        db.session.commit()
    entries = chain(app)
    assert [(entry.seq, entry.action, entry.details.get("number")) for entry in entries[2:]] == [
        (3, "test.together", 0), (4, "test.together", 1), (5, "test.together", 2)]
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash and entry.hash == entry_hash(entry)
    with app.app_context():
        head = db.session.get(AuditHead, 1)
        assert (head.last_seq, head.last_hash) == (5, entries[-1].hash)
        assert verify_chain().intact


# Sensitive reads, and the trail on the referral page.


def new_entries(app, after_seq: int) -> list[AuditEntry]:
    """Entries appended after `after_seq`."""
    return [entry for entry in chain(app) if entry.seq > after_seq]


def last_seq(app) -> int:
    """The newest entry's seq (0 when the chain is empty)."""
    entries = chain(app)
    return entries[-1].seq if entries else 0


def audit_section(page: str) -> str | None:
    """The audit trail section of a referral page, or None when the page has none."""
    match = re.search(r'<section[^>]*aria-labelledby="audit-heading".*?</section>', page, re.DOTALL)
    return match.group(0) if match else None


def trail_seqs(section: str) -> list[int]:
    """The seqs listed in the audit trail table, in page order."""
    return [int(seq) for seq in re.findall(r"<tr>\s*<td[^>]*>(\d+)</td>", section)]


def test_the_coordinator_sees_the_referrals_audit_trail(app, factory, browser):
    """The trail lists this referral's create and view entries, newest first, and nothing about other referrals.

    A view's own entry is chained when its request commits, so the page shows the views before it."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    other = factory.referral(by=coordinator)
    client = browser(coordinator)
    before = last_seq(app)

    assert client.get(f"/referrals/{referral.id}").status_code == 200
    response = client.get(f"/referrals/{referral.id}")

    assert response.status_code == 200
    section = audit_section(response.get_data(as_text=True))
    assert section is not None
    entries = {entry.seq: entry for entry in chain(app)}
    about_referral = [seq for seq, entry in entries.items() if entry.referral_id == referral.id]
    first_view, this_view = [seq for seq in about_referral if seq > before]
    assert entries[first_view].action == entries[this_view].action == "referral.view"
    assert trail_seqs(section) == sorted(set(about_referral) - {this_view}, reverse=True)
    assert {entries[seq].action for seq in trail_seqs(section)} == {"referral.create", "referral.view"}
    assert "Received the referral" in section and "Viewed the referral" in section
    with app.app_context():
        assert coordinator.name in section
    other_create = next(seq for seq, entry in entries.items() if entry.referral_id == other.id)
    assert other_create not in trail_seqs(section)


def test_a_facilitator_does_not_see_the_audit_trail(app, factory, browser):
    """The assigned facilitator reads the referral page without its audit section."""
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    referral = factory.referral(facilitators=[lead, co])
    response = browser(lead).get(f"/referrals/{referral.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert referral.reference in page
    assert audit_section(page) is None
    assert "Audit trail" not in page and "Viewed the referral" not in page


def test_viewing_the_referral_page_is_audited(app, factory, browser):
    """Each GET of the page appends one `referral.view` by the reader about the referral."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    client = browser(coordinator)
    for _ in range(2):
        before = last_seq(app)
        assert client.get(f"/referrals/{referral.id}").status_code == 200
        views = [entry for entry in new_entries(app, before) if entry.action == "referral.view"]
        assert len(views) == 1
        assert_view_entry(views[0], reader=coordinator, referral=referral)


def test_reading_a_referral_through_the_api_is_audited(app, factory, api):
    """GET /api/v1/referrals/{id} appends one `referral.view`."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    client = api(coordinator)
    before = last_seq(app)
    assert client.get(f"/api/v1/referrals/{referral.id}").status_code == 200
    entries = new_entries(app, before)
    assert [entry.action for entry in entries] == ["referral.view"]
    assert_view_entry(entries[0], reader=coordinator, referral=referral)


def test_a_prosecutors_read_is_audited_as_the_prosecution_view(app, factory, api):
    """The prosecutor's reads are audited too, marked as the narrower view."""
    prosecutor = factory.user("prosecutor")
    referral = factory.referral(prosecutor=prosecutor)
    client = api(prosecutor)
    before = last_seq(app)
    assert client.get(f"/api/v1/referrals/{referral.id}").status_code == 200
    [entry] = new_entries(app, before)
    assert entry.action == "referral.view" and entry.details == {"view": "prosecution"}
    assert entry.actor_id == str(prosecutor.id)


def test_listing_referrals_is_audited(app, factory, api, browser):
    """The API list and the list page each append one `referral.list` by the reader."""
    coordinator = factory.user("coordinator")
    factory.referral(by=coordinator)
    api_client, page_client = api(coordinator), browser(coordinator)
    for fetch in (lambda: api_client.get("/api/v1/referrals"), lambda: page_client.get("/referrals")):
        before = last_seq(app)
        assert fetch().status_code == 200
        lists = [entry for entry in new_entries(app, before) if entry.action == "referral.list"]
        assert len(lists) == 1
        assert lists[0].actor_type == "user" and lists[0].actor_id == str(coordinator.id)
        assert lists[0].details["shown"] == 1


def test_a_read_outside_scope_leaves_no_view_entry(app, factory, api):
    """A 404 for an unassigned facilitator is not recorded as a view."""
    outsider = factory.user("facilitator")
    referral = factory.referral()
    before = last_seq(app)
    assert api(outsider).get(f"/api/v1/referrals/{referral.id}").status_code == 404
    assert not [entry for entry in new_entries(app, before) if entry.action == "referral.view"]


def test_the_chain_stays_intact_after_requests(app, factory, api, browser):
    """Entries written by pages and the API verify like any other."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    assert browser(coordinator).get(f"/referrals/{referral.id}").status_code == 200
    assert api(coordinator).get("/api/v1/referrals").status_code == 200
    result = verify(app)
    assert result.exit_code == 0, result.output


def assert_view_entry(entry: AuditEntry, *, reader, referral) -> None:
    """A view entry names the reader, the referral as object and as referral."""
    assert entry.action == "referral.view"
    assert (entry.actor_type, entry.actor_id) == ("user", str(reader.id))
    assert (entry.object_type, entry.object_id) == ("referrals", str(referral.id))
    assert entry.referral_id == referral.id
    assert isinstance(entry.referral_id, uuid.UUID)
