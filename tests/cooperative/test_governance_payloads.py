"""What a proposal stores of its kind reads back through its typed model and is stored again
unchanged: drafts and opened proposals written before the models existed included."""

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance import payloads
from cooperative.governance.rules import ProposalKind

RUN = str(uuid.uuid4())
DOCUMENT = default_bylaws().model_dump(mode="json")
RACES = {"patient": {"candidates": [{"id": RUN, "name": "Rosa Martínez"}]}}
OPTIONS = [{"id": "1", "label": "Clínica móvil"}, {"id": "2", "label": "Intérpretes"}]
AS_STORED: list[tuple[ProposalKind, dict[str, Any]]] = [
    (ProposalKind.RESOLUTION, {}),
    (ProposalKind.RESOLUTION, {"results_hidden_until_close": False}),
    (
        ProposalKind.BYLAW_AMENDMENT,
        {"document": DOCUMENT, "effective_from": "2027-01-01T00:00:00+00:00", "amends_version": 1},
    ),
    (
        ProposalKind.BYLAW_AMENDMENT,
        {
            "document": DOCUMENT,
            "effective_from": "2027-03-08T01:30:00.250000-08:00",
            "amends_version": 3,
            "results_hidden_until_close": True,
        },
    ),
    (
        ProposalKind.SURPLUS_ALLOCATION,
        {"allocation_run_id": RUN, "fiscal_year": 2026, "input_digest": "ab" * 32},
    ),
    (ProposalKind.BOARD_ELECTION, {"races": RACES}),
    (
        ProposalKind.BOARD_ELECTION,
        {
            "races": {"patient": {**RACES["patient"], "seats": 2}},
            "results_hidden_until_close": True,
        },
    ),
    (ProposalKind.PRIORITIES, {"options": OPTIONS}),
    (
        ProposalKind.PRIORITIES,
        {"options": OPTIONS, "results_hidden_until_close": False, "top_n": 1},
    ),
]


@pytest.mark.parametrize(("kind", "stored"), AS_STORED)
def test_a_stored_payload_reads_back_typed_and_is_stored_again_unchanged(
    kind: ProposalKind, stored: dict[str, Any]
) -> None:
    typed = payloads.KINDS[kind].model_validate(stored)
    assert payloads.stored(typed) == stored


def test_a_payload_of_another_kind_is_not_read_as_this_one() -> None:
    with pytest.raises(ValidationError):
        payloads.KINDS[ProposalKind.PRIORITIES].model_validate({"races": RACES})


def test_results_wait_for_the_close_until_the_opening_says_otherwise() -> None:
    assert payloads.ResolutionPayload().hides_results()
    assert payloads.ResolutionPayload(results_hidden_until_close=True).hides_results()
    assert not payloads.ResolutionPayload(results_hidden_until_close=False).hides_results()
