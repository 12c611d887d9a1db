"""The clinical record's pure rules: the encounter read from the room's events, the digest a
signature covers, what a note needs to be signed, the code list and how long NOM-004 keeps a
record."""

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from telehealth.records import rules
from telehealth.records.rules import Event

T0 = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
DOCTOR, PATIENT, NURSE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_video_consult_that_went_to_audio_only_then_to_the_relay() -> None:
    found = rules.encounter(
        [
            Event(at(0), "joined", DOCTOR),
            Event(at(2), "joined", PATIENT),
            Event(at(10), "media", PATIENT, "audio_only"),
            Event(at(15), "mode", PATIENT, "relay"),
            Event(at(20), "left", PATIENT),
            Event(at(22), "left", DOCTOR),
        ]
    )
    assert found.modalities == [
        ("video", at(2), at(10)),
        ("audio_only", at(10), at(15)),
        ("relayed", at(15), at(20)),
    ]
    assert found.modality == "switched"
    assert found.seconds(DOCTOR, at(60)) == 22 * 60
    assert found.seconds(PATIENT, at(60)) == 18 * 60


def test_a_reconnect_adds_a_stay_and_one_person_alone_is_no_consult() -> None:
    found = rules.encounter(
        [
            Event(at(0), "joined", DOCTOR),
            Event(at(1), "joined", PATIENT),
            Event(at(5), "left", PATIENT),
            Event(at(6), "joined", PATIENT),
            Event(at(9), "left", DOCTOR),
        ]
    )
    assert found.stays[PATIENT] == [(at(1), at(5)), (at(6), None)]
    assert found.seconds(PATIENT, at(10)) == 8 * 60  # still there at 10
    assert found.modalities == [("video", at(1), at(5)), ("video", at(6), at(9))]
    assert found.modality == "video"
    alone = rules.encounter([Event(at(0), "joined", DOCTOR), Event(at(30), "left", DOCTOR)])
    assert alone.modalities == [] and alone.modality is None


@given(
    st.lists(
        st.tuples(
            st.integers(0, 120),
            st.sampled_from(["joined", "left", "mode", "media"]),
            st.sampled_from([DOCTOR, PATIENT, NURSE]),
            st.sampled_from(["p2p", "relay", "audio_only", "video"]),
        ),
        max_size=30,
    )
)
def test_stretches_never_overlap_and_presence_never_exceeds_the_span(
    raw: list[tuple[int, str, uuid.UUID, str]],
) -> None:
    events = [Event(at(m), kind, who, value) for m, kind, who, value in raw]
    found = rules.encounter(events)
    ends = [end for _, _, end in found.modalities]
    assert all(end is not None for end in ends[:-1])
    for (_, _, end), (_, start, _) in zip(found.modalities, found.modalities[1:], strict=False):
        assert end is not None and end <= start
    for who in found.stays:
        assert 0 <= found.seconds(who, at(120)) <= 120 * 60


def test_the_digest_is_of_canonical_json_whatever_the_key_order() -> None:
    one = {"b": [1, {"y": "ñ", "x": None}], "a": "Cefalea"}
    two = {"a": "Cefalea", "b": [1, {"x": None, "y": "ñ"}]}
    assert (
        rules.canonical(one)
        == rules.canonical(two)
        == ('{"a":"Cefalea","b":[1,{"x":null,"y":"ñ"}]}'.encode())
    )
    assert rules.digest(one) == rules.digest(two) != rules.digest({**one, "a": "cefalea"})


def test_what_a_note_needs_before_it_is_signed() -> None:
    empty = {
        "subjective": {"reason": " ", "current_illness": ""},
        "assessment": {"diagnoses": [], "impression": ""},
        "plan": {"treatment": "", "indications": "", "follow_up": "in a week"},
    }
    summary = {"found": "", "to_do": "", "come_back": ""}
    assert rules.missing_for_signing(empty, summary) == [
        "content.subjective.reason",
        "content.assessment",
        "content.plan",
        "summary.found",
        "summary.to_do",
    ]
    complete = {
        "subjective": {"reason": "Tos"},
        "assessment": {"diagnoses": [{"code": "R05"}], "impression": ""},
        "plan": {"treatment": "", "indications": "Líquidos"},
    }
    assert rules.missing_for_signing(complete, {"found": "Tos", "to_do": "Agua"}) == []


def test_the_code_list_is_a_few_hundred_codes_with_spanish_descriptions() -> None:
    codes = rules.cie10()
    assert len(codes) >= 250
    assert codes["E11.9"].startswith("Diabetes mellitus no insulinodependiente")
    assert rules.search_codes("DIABETES gestacion") == []
    assert [c for c, _ in rules.search_codes("embarazo diabetes")] == ["O24.4"]
    assert [c for c, _ in rules.search_codes("j45")] == ["J45.0", "J45.9"]


def test_a_record_is_kept_five_years_from_its_last_act() -> None:
    assert rules.kept_until(date(2026, 12, 2)) == date(2031, 12, 2)
    assert rules.kept_until(date(2028, 2, 29)) == date(2033, 2, 28)


def test_the_consent_text_is_shipped_in_both_languages() -> None:
    texts = rules.consent_texts()[rules.current_consent_version()]
    assert set(texts) == {"es", "en"}
    assert rules.text_digest(texts["es"]) != rules.text_digest(texts["en"])
