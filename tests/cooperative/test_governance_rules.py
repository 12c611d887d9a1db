"""The majority rules: thresholds, per-class majorities, quorum, ties and abstentions."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance.errors import STATES
from cooperative.governance.rules import Choice, MajorityRule, ProposalStatus, count_majority

SIMPLE = MajorityRule()
AMENDMENT = MajorityRule.of(
    default_bylaws().governance.rules["bylaw_amendment"].model_dump(mode="json")
)


def votes(**by_class: tuple[int, int, int]) -> list[tuple[str, Choice]]:
    """(yes, no, abstain) per class as a list of ballots."""
    out: list[tuple[str, Choice]] = []
    for name, (yes, no, abstain) in by_class.items():
        out += [(name, "yes")] * yes
        out += [(name, "no")] * no
        out += [(name, "abstain")] * abstain
    return out


def test_the_default_amendment_rule_is_two_thirds_and_each_class() -> None:
    assert MajorityRule(2, 3, False, True, 2000, True) == AMENDMENT


def test_a_simple_majority_needs_more_yes_than_no_and_a_tie_fails() -> None:
    roll = {"patient": 10}
    assert count_majority(votes(patient=(3, 2, 5)), roll, SIMPLE).passed
    tie = count_majority(votes(patient=(3, 3, 4)), roll, SIMPLE)
    assert not tie.passed
    assert tie.reasons == ["no majority voted yes"]


def test_abstentions_count_for_quorum_but_not_the_threshold() -> None:
    rule = MajorityRule(quorum_bp=5000)
    roll = {"patient": 10}
    # 1 yes and 4 abstentions: 5 of 10 took part (quorum met), and yes beats no 1-0
    result = count_majority(votes(patient=(1, 0, 4)), roll, rule)
    assert result.quorum_met and result.passed
    assert not count_majority(votes(patient=(1, 0, 3)), roll, rule).quorum_met
    assert not count_majority(votes(patient=(0, 0, 10)), roll, rule).passed  # nobody decided


def test_exactly_two_thirds_passes_an_amendment_and_one_vote_less_does_not() -> None:
    roll = {"patient": 30, "doctor": 6}
    # 20 yes and 10 no: exactly 2/3
    assert count_majority(votes(patient=(18, 9, 0), doctor=(2, 1, 0)), roll, AMENDMENT).passed
    short = count_majority(votes(patient=(17, 9, 0), doctor=(2, 1, 0)), roll, AMENDMENT)
    assert Fraction(19, 29) < Fraction(2, 3)
    assert not short.threshold_met


def test_two_thirds_overall_fails_when_one_class_is_against() -> None:
    result = count_majority(
        votes(patient=(40, 0, 0), doctor=(2, 3, 0)), {"patient": 50, "doctor": 5}, AMENDMENT
    )
    assert result.threshold_met
    assert not result.classes_met
    assert not result.passed
    assert result.reasons == ["no majority among doctor members"]


def test_a_class_that_stays_away_misses_its_own_quorum() -> None:
    result = count_majority(votes(patient=(40, 0, 0)), {"patient": 50, "doctor": 10}, AMENDMENT)
    assert not result.quorum_met
    assert "quorum not met among doctor members" in result.reasons
    assert "no majority among doctor members" in result.reasons


def test_quorum_is_exact_at_the_boundary() -> None:
    rule = MajorityRule(quorum_bp=1000)
    assert count_majority(votes(patient=(1, 0, 0)), {"patient": 10}, rule).quorum_met
    assert not count_majority(votes(patient=(1, 0, 0)), {"patient": 11}, rule).quorum_met


@given(
    yes=st.integers(0, 200),
    no=st.integers(0, 200),
    abstain=st.integers(0, 200),
    extra=st.integers(0, 50),
)
def test_majority_properties(yes: int, no: int, abstain: int, extra: int) -> None:
    roll = {"patient": yes + no + abstain + extra}
    result = count_majority(votes(patient=(yes, no, abstain)), roll, SIMPLE)
    assert result.total.cast == yes + no + abstain
    assert result.passed == (yes > no)
    # one more yes never turns a pass into a fail
    more = count_majority(
        votes(patient=(yes + 1, no, abstain)), {"patient": roll["patient"] + 1}, SIMPLE
    )
    assert more.passed or not result.passed
    # abstentions never change whether the threshold is met
    fewer = count_majority(votes(patient=(yes, no, 0)), roll, SIMPLE)
    assert fewer.threshold_met == result.threshold_met


def test_every_proposal_status_is_named_in_spanish_in_the_problems() -> None:
    assert set(ProposalStatus) <= set(STATES)
