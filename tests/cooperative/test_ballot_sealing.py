"""Sealed ballots: only the server's secret opens them, they cannot be moved, and their length
says nothing about the vote inside."""

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.governance import sealing
from cooperative.governance.ballots import new_receipt, widest
from cooperative.governance.errors import BallotsUnreadable
from cooperative.governance.models import Proposal
from cooperative.governance.sealing import BallotKeys, OpenBallot, receipt_hash

SECRET = b"a ballot secret that stays out of the database"
KEYS = BallotKeys(SECRET)
CANDIDATES = [str(uuid.uuid4()) for _ in range(7)]


def proposal(kind: str, **payload: Any) -> Proposal:
    return Proposal(
        id=uuid.uuid4(),
        kind=kind,
        title="Consejo 2027",
        body="",
        payload=payload,
        proposed_by=uuid.uuid4(),
        eligible={"doctor": 4, "patient": 10},
    )


ELECTION = proposal(
    "board_election",
    races={
        "patient": {"candidates": [{"id": c, "name": c} for c in CANDIDATES[:5]], "seats": 2},
        "doctor": {"candidates": [{"id": c, "name": c} for c in CANDIDATES[5:]], "seats": 1},
    },
)
PRIORITIES = proposal(
    "priorities", options=[{"id": str(i), "label": f"#{i}"} for i in range(1, 13)], top_n=3
)


def sealed(p: Proposal, member_class: str, content: dict[str, Any]) -> tuple[str, bytes]:
    keys = KEYS.of(p.id)
    receipt = new_receipt()
    lookup = keys.lookup(receipt)
    ballot = OpenBallot(member_class, receipt_hash(receipt), content)
    return lookup, keys.seal(lookup, ballot, sealing.width(widest(p)))


def test_a_sealed_ballot_opens_with_the_servers_secret_only() -> None:
    lookup, blob = sealed(ELECTION, "patient", {"ranking": CANDIDATES[:2]})
    opened = KEYS.of(ELECTION.id).unseal(lookup, blob)
    assert (opened.member_class, opened.content) == ("patient", {"ranking": CANDIDATES[:2]})
    assert b"patient" not in blob and CANDIDATES[0].encode() not in blob
    with pytest.raises(BallotsUnreadable):
        BallotKeys(b"another secret").of(ELECTION.id).unseal(lookup, blob)
    assert BallotKeys(b"another secret").of(ELECTION.id).check != KEYS.of(ELECTION.id).check


def test_a_sealed_ballot_moved_or_altered_does_not_open() -> None:
    lookup, blob = sealed(ELECTION, "doctor", {"ranking": CANDIDATES[5:]})
    other_lookup, _ = sealed(ELECTION, "doctor", {"ranking": CANDIDATES[6:]})
    keys = KEYS.of(ELECTION.id)
    with pytest.raises(BallotsUnreadable):
        keys.unseal(other_lookup, blob)  # under another row
    with pytest.raises(BallotsUnreadable):
        KEYS.of(PRIORITIES.id).unseal(lookup, blob)  # in another proposal
    altered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(BallotsUnreadable):
        keys.unseal(lookup, altered)


def test_the_lookup_is_keyed_and_forgives_how_the_receipt_is_typed() -> None:
    receipt = new_receipt()
    keys = KEYS.of(ELECTION.id)
    assert keys.lookup(receipt) == keys.lookup(receipt.lower().replace("-", " "))
    assert keys.lookup(receipt) != receipt_hash(receipt)  # never the published hash
    assert keys.lookup(receipt) != KEYS.of(PRIORITIES.id).lookup(receipt)
    assert keys.lookup(receipt) != BallotKeys(b"another secret").of(ELECTION.id).lookup(receipt)


def test_every_ballot_of_an_election_seals_to_one_length() -> None:
    lengths = {
        len(sealed(ELECTION, member_class, {"ranking": ranking})[1])
        for member_class, ranking in (
            ("patient", CANDIDATES[:1]),
            ("patient", CANDIDATES[:5]),
            ("doctor", CANDIDATES[6:]),
            ("doctor", CANDIDATES[5:]),
        )
    }
    assert len(lengths) == 1


@given(st.sets(st.sampled_from([str(i) for i in range(1, 13)])))
def test_any_approval_ballot_seals_to_the_same_length(approved: set[str]) -> None:
    content = {"approve": sorted(approved, key=lambda o: (len(o), o))}
    full = {"approve": [str(i) for i in range(1, 13)]}
    assert len(sealed(PRIORITIES, "doctor", content)[1]) == len(
        sealed(PRIORITIES, "patient", full)[1]
    )


def test_a_yes_and_an_abstention_seal_to_the_same_length() -> None:
    resolution = proposal("resolution")
    lengths = {len(sealed(resolution, "patient", {"vote": v})[1]) for v in ("yes", "abstain")}
    assert len(lengths) == 1
