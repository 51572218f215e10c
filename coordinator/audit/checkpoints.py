"""Signed checkpoints of the audit chain's head, kept outside the database it protects (docs/design.md rule 7).

A checkpoint is one JSON line `{"seq", "hash", "at", "key", "signature"}` appended to the file named by
COORDINATOR_AUDIT_CHECKPOINT_PATH, and the same line in the log. The signature is Ed25519 over the canonical JSON
of seq, hash and at, with COORDINATOR_AUDIT_SIGNING_KEY. Someone who can rewrite the database (delete the newest
entries, rewind the head) cannot rewrite a checkpoint they cannot sign, so `audit verify` finds the missing tail.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from sqlalchemy import select

from coordinator import clock
from coordinator.audit.models import GENESIS_HASH, AuditEntry
from coordinator.audit.service import ChainReport, remember_verified, verify_chain
from coordinator.db import db

log = logging.getLogger(__name__)
TAIL_BYTES = 64 * 1024  # the latest line is read from the file's end: the file grows by one short line a run


class CheckpointError(Exception):
    """The latest checkpoint cannot be trusted (unreadable, or its signature does not verify)."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head as signed at a moment: entry `seq` had hash `hash`."""

    seq: int
    hash: str
    at: str


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(current_app.config["AUDIT_SIGNING_KEY"])


def public_key_text(key: Ed25519PublicKey | None = None) -> str:
    """The verifying key, base64url, as each checkpoint names it (so a reader sees which key signed it)."""
    key = key or _private_key().public_key()
    return base64.urlsafe_b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode().rstrip("=")


def _signed_bytes(seq: int, hash_: str, at: str) -> bytes:
    return json.dumps({"at": at, "hash": hash_, "seq": seq}, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_path() -> Path | None:
    """The checkpoint file, or None when none is configured (tests that do not name one)."""
    path = current_app.config.get("AUDIT_CHECKPOINT_PATH")
    return Path(path) if path else None


def write_checkpoint(report: ChainReport) -> Checkpoint:
    """Sign the end of a chain just verified intact and append it to the file and the log."""
    if not report.intact:
        raise ValueError("a broken chain is never checkpointed")
    at = clock.now().isoformat(timespec="seconds")
    signature = _private_key().sign(_signed_bytes(report.last_seq, report.last_hash, at))
    line = json.dumps({"seq": report.last_seq, "hash": report.last_hash, "at": at, "key": public_key_text(),
                       "signature": base64.urlsafe_b64encode(signature).decode().rstrip("=")}, sort_keys=True)
    path = checkpoint_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (line + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    # The log is the second copy: shipped off the machine, it survives a rewritten file.
    log.info("audit checkpoint %s", line)
    return Checkpoint(report.last_seq, report.last_hash, at)


def latest_checkpoint() -> Checkpoint | None:
    """The file's last checkpoint with its signature verified; None when there is none yet."""
    path = checkpoint_path()
    if path is None or not path.exists():
        return None
    with path.open("rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - TAIL_BYTES))
        lines = [line for line in file.read().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
        seq, hash_, at = int(data["seq"]), str(data["hash"]), str(data["at"])
        signature = base64.urlsafe_b64decode(data["signature"] + "=" * (-len(data["signature"]) % 4))
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"the latest checkpoint in {path} cannot be read ({error})") from None
    try:
        _private_key().public_key().verify(signature, _signed_bytes(seq, hash_, at))
    except InvalidSignature:
        raise CheckpointError(f"the latest checkpoint in {path} (entry {seq}, {at}) does not carry a valid "
                              "signature of this installation's audit signing key: the file was altered") from None
    return Checkpoint(seq, hash_, at)


def check_against(report: ChainReport, checkpoint: Checkpoint | None) -> ChainReport:
    """The chain's report, made broken when the chain no longer holds what the checkpoint vouches for."""
    if not report.intact or checkpoint is None:
        return report
    if checkpoint.seq > report.last_seq:
        return ChainReport(report.checked, report.last_seq + 1,
                           f"the tail is missing: the signed checkpoint of {checkpoint.at} vouches for entry "
                           f"{checkpoint.seq}, the chain ends at entry {report.last_seq} (entries "
                           f"{report.last_seq + 1} to {checkpoint.seq} were removed and the head rewound)",
                           report.last_seq, report.last_hash, report.start_seq)
    stored = GENESIS_HASH if checkpoint.seq == 0 else db.session.execute(
        select(AuditEntry.hash).where(AuditEntry.seq == checkpoint.seq)).scalar_one_or_none()
    if stored != checkpoint.hash:
        return ChainReport(report.checked, checkpoint.seq,
                           f"entry {checkpoint.seq} is not the one the signed checkpoint of {checkpoint.at} vouches "
                           "for: the chain was rewritten up to it", report.last_seq, report.last_hash,
                           report.start_seq)
    return report


def verify_all(*, full: bool = False) -> ChainReport:
    """What `audit verify` and the jobs run: the chain (from the last verified entry unless `full`), then the
    latest signed checkpoint; an intact result becomes the next starting point. CheckpointError when the
    checkpoint itself cannot be trusted."""
    report = check_against(verify_chain(incremental=not full), latest_checkpoint())
    remember_verified(report)
    return report


def verify_and_checkpoint() -> tuple[ChainReport, Checkpoint | None]:
    """Verify (incrementally) and, only when intact, sign and write a new checkpoint of the head."""
    report = verify_all()
    return report, write_checkpoint(report) if report.intact else None
