"""Sealed ballots: what a cast writes is useless without a secret the database never holds.

A copy of the database files (a backup, a stolen disk, SQLite's write-ahead log, PostgreSQL's dead
row versions and WAL segments) shows which roll entry changed in the transaction that wrote each
ballot row, so a cast never writes its ballot in the clear. The voter's class, their public
receipt hash and what they voted are encrypted together with AES-256-GCM under a key derived
(HKDF-SHA-256) for the proposal from the server's ballot secret, padded to one length for every
ballot of the proposal, and bound to the row they are stored in. The row is found again by a keyed
hash of the receipt (HMAC-SHA-256), never by the receipt hash that will be published. The close
opens them all and publishes them, in receipt-hash order, in one transaction.
"""

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cooperative.governance.errors import BallotsUnreadable

NONCE_BYTES = 12
PAD_TO = 64
_SALT = b"tequio sealed ballots v1"


def normal_receipt(receipt: str) -> str:
    """The receipt without separators, upper case: how a voter may type it back."""
    return "".join(ch for ch in receipt.upper() if ch.isalnum())


def receipt_hash(receipt: str) -> str:
    """SHA-256 of the normalized receipt: what the published list shows."""
    return hashlib.sha256(normal_receipt(receipt).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OpenBallot:
    """A ballot as the close publishes it."""

    member_class: str
    receipt_hash: str
    content: dict[str, Any]

    def plain(self) -> bytes:
        return json.dumps(
            {"class": self.member_class, "content": self.content, "hash": self.receipt_hash},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()


def width(widest: Iterable[OpenBallot]) -> int:
    """The one length every sealed ballot of a proposal is padded to: that of its widest
    possible ballot, so that the size of a sealed row says nothing about the vote in it."""
    longest = max(len(ballot.plain()) for ballot in widest)
    return -(-longest // PAD_TO) * PAD_TO


class ProposalKeys:
    """The keys of one proposal's sealed ballots."""

    __slots__ = ("_cipher", "_mac", "_proposal_id")

    def __init__(self, proposal_id: uuid.UUID, material: bytes) -> None:
        self._proposal_id = proposal_id
        self._cipher = AESGCM(material[:32])
        self._mac = material[32:]

    def __repr__(self) -> str:
        return f"ProposalKeys({self._proposal_id})"

    @property
    def check(self) -> str:
        """A keyed digest of these keys, kept with the proposal: a cast or a close under
        another secret is refused instead of sealing ballots that nobody could open."""
        return hmac.new(self._mac, b"check", hashlib.sha256).hexdigest()

    def lookup(self, receipt: str) -> str:
        """Where the ballot of this receipt is stored while the vote runs."""
        message = b"receipt:" + normal_receipt(receipt).encode()
        return hmac.new(self._mac, message, hashlib.sha256).hexdigest()

    def keyed_receipt(self, member_id: uuid.UUID, idempotency_key: str) -> bytes:
        """The receipt's 120 bits for a cast sent with an Idempotency-Key: a keyed hash of the
        member and the key, so that a retry gets the same receipt, though it is never stored.
        Without the key (which only the voter's phone holds) it joins nothing to the member."""
        message = b"idempotent receipt:" + member_id.bytes + idempotency_key.encode()
        return hmac.new(self._mac, message, hashlib.sha256).digest()[:15]

    def seal(self, lookup: str, ballot: OpenBallot, padded_to: int) -> bytes:
        plain = ballot.plain()
        plain += b" " * (padded_to - len(plain))  # JSON ignores trailing white space
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, plain, self._bound_to(lookup))

    def unseal(self, lookup: str, sealed: bytes) -> OpenBallot:
        try:
            plain = self._cipher.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._bound_to(lookup)
            )
        except InvalidTag as exc:
            raise BallotsUnreadable() from exc
        opened = json.loads(plain)
        return OpenBallot(opened["class"], opened["hash"], opened["content"])

    def _bound_to(self, lookup: str) -> bytes:
        """Authenticated with the row it belongs to: a sealed ballot moved to another row or
        another proposal does not open."""
        return self._proposal_id.bytes + lookup.encode()


class BallotKeys:
    """The server's ballot secret (`TEQUIO_BALLOT_SECRET`), from which each proposal's keys
    are derived. It lives in the server's configuration, never in the database."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the ballot secret is empty")
        self._secret = secret

    def __repr__(self) -> str:
        return "BallotKeys(<secret>)"

    def of(self, proposal_id: uuid.UUID) -> ProposalKeys:
        material = HKDF(
            algorithm=hashes.SHA256(), length=64, salt=_SALT, info=proposal_id.bytes
        ).derive(self._secret)
        return ProposalKeys(proposal_id, material)
