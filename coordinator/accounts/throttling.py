"""Sign-in throttling that slows guessing down without letting anyone lock a person out (OWASP ASVS 5.0 V6.3).

Every failed attempt (a wrong password, a wrong second-factor code) is counted under three keys:

- the pair (account, client address): the strictest; it is what an attacker guessing one account from one place
  runs into;
- the account, from every address: looser and capped, against guessing from many places;
- the client address, across accounts: against one place trying many accounts.

Past a number of free failures, each key makes the next attempt wait, and the wait doubles with every further
failure up to a cap: a growing delay, never a lock. A client in the account's usual conditions, an address from
which the account signed in successfully within TRUSTED_FOR, answers only to its own pair: an attacker's failures
from elsewhere cannot stop the person from signing in from where they usually do.

Counters are changed by one atomic statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), never by reading
and writing back, so parallel attempts are all counted. Attempts from one place at one account also take turns (a
row lock on their pair, held until the attempt is counted), so parallel guesses cannot all pass the check before any
of them is counted; only the guesser's own pair waits, never the person signing in from elsewhere. Keys are keyed
hashes: no address is stored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from coordinator import clock
from coordinator.accounts.models import SignInThrottle
from coordinator.db import db


@dataclass(frozen=True)
class Policy:
    """How many failures are free, the first delay after them, and the longest delay."""

    free: int
    first_delay: timedelta
    cap: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait imposed after `failures` failures."""
        if failures < self.free:
            return timedelta(0)
        return min(self.cap, self.first_delay * 2 ** min(failures - self.free, 32))


PAIR = Policy(free=5, first_delay=timedelta(seconds=30), cap=timedelta(minutes=15))
ACCOUNT = Policy(free=10, first_delay=timedelta(seconds=30), cap=timedelta(minutes=5))
ADDRESS = Policy(free=30, first_delay=timedelta(seconds=30), cap=timedelta(minutes=15))
FORGET_AFTER = timedelta(hours=24)  # a key with no failure for this long starts again from zero
TRUSTED_FOR = timedelta(days=90)  # how long a successful sign-in makes an address "usual" for that account


@dataclass(frozen=True)
class Attempt:
    """Who is trying to sign in (the email as typed) and from where (the client address)."""

    email: str
    address: str

    def _key(self, *parts: str) -> str:
        secret = current_app.config["SECRET_KEY"].encode("utf-8")
        return hmac.new(secret, "\0".join(("sign-in", *parts)).encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def account(self) -> str:
        """The email as typed, compared without case or surrounding spaces."""
        return self.email.strip().lower()

    def keys(self) -> dict[str, str]:
        """The three counters this attempt belongs to, by scope."""
        return {"pair": self._key("pair", self.account, self.address), "account": self._key("account", self.account),
                "address": self._key("address", self.address)}


POLICIES = {"pair": PAIR, "account": ACCOUNT, "address": ADDRESS}


def _rows(attempt: Attempt) -> dict[str, SignInThrottle]:
    keys = attempt.keys()
    found = {row.key: row for row in db.session.execute(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys.values()))
        .execution_options(populate_existing=True)).scalars()}
    return {scope: found[key] for scope, key in keys.items() if key in found}


def _take_turn(attempt: Attempt) -> None:
    """Lock this attempt's pair row until the transaction ends (SQLite: its writer lock does the same)."""
    key = attempt.keys()["pair"]
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(SignInThrottle)
    db.session.execute(insert.values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"]))
    db.session.execute(select(SignInThrottle.key).where(SignInThrottle.key == key).with_for_update())


def wait_before(attempt: Attempt) -> timedelta | None:
    """How long this client must wait before its next attempt is even checked; None when it may try now.

    Takes the pair's turn first: the caller checks and counts the attempt in the same transaction."""
    _take_turn(attempt)
    now = clock.now()
    rows = _rows(attempt)
    pair = rows.get("pair")
    usual = bool(pair and pair.last_success_at and pair.last_success_at > now - TRUSTED_FOR)
    waits = []
    for scope, row in rows.items():
        if (usual and scope != "pair") or row.last_failure_at is None or row.last_failure_at < now - FORGET_AFTER:
            continue
        waits.append(row.last_failure_at + POLICIES[scope].delay(row.failures) - now)
    longest = max(waits, default=timedelta(0))
    return longest if longest > timedelta(0) else None


def _upsert(key: str, values: dict[str, Any], on_conflict: dict[str, Any]) -> ReturningInsert[Any]:
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(SignInThrottle)
    return (insert.values(key=key, **values)
            .on_conflict_do_update(index_elements=["key"], set_=on_conflict)
            .returning(SignInThrottle.failures))


def count_failure(attempt: Attempt) -> dict[str, int]:
    """Count one failed attempt under each of its keys, atomically; returns the new count per scope."""
    now = clock.now()
    forgotten = or_(SignInThrottle.last_failure_at.is_(None), SignInThrottle.last_failure_at < now - FORGET_AFTER)
    counts = {}
    for scope, key in attempt.keys().items():
        statement = _upsert(key, {"failures": 1, "last_failure_at": now}, {
            "failures": case((forgotten, 1), else_=SignInThrottle.failures + 1),
            "last_failure_at": now,
        })
        counts[scope] = db.session.execute(statement).scalar_one()
    return counts


def count_success(attempt: Attempt) -> None:
    """A complete sign-in: the pair and the account start again from zero, and the address becomes usual."""
    keys = attempt.keys()
    now = clock.now()
    db.session.execute(_upsert(keys["pair"], {"failures": 0, "last_success_at": now},
                               {"failures": 0, "last_success_at": now}))
    db.session.execute(_upsert(keys["account"], {"failures": 0}, {"failures": 0}))


def prune_throttles() -> int:
    """Forget keys with no recent failure and no recent success; returns how many."""
    now = clock.now()
    result = db.session.execute(
        delete(SignInThrottle)
        .where(or_(SignInThrottle.last_failure_at.is_(None), SignInThrottle.last_failure_at < now - FORGET_AFTER),
               or_(SignInThrottle.last_success_at.is_(None), SignInThrottle.last_success_at < now - TRUSTED_FOR))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0)
