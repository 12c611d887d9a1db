"""The surplus waterfall: worked examples checked by hand, then properties over random years.

Money is MXN centavos; patients' patronage is centavos paid, doctors' is consult minutes.
"""

import hashlib
import json
import random
from dataclasses import replace
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.bylaws.defaults import default_bylaws
from cooperative.surplus import rules
from cooperative.surplus.rules import Allocation, Patronage, Policy, RunInput

# The default bylaws' waterfall; the doctors' threshold (minutes) is this test's own choice.
DEFAULT = Policy(
    reserve_bp=1500,
    reserve_cap_bp_of_share_capital=2500,
    education_bp=200,
    welfare_bp=300,
    class_split_bp={"patient": 5000, "doctor": 5000},
    min_cash_bp=2000,
    min_patronage={"patient": 10_000, "doctor": 60},
    redemption_years=5,
)


def year(
    surplus: int,
    *patronage: tuple[str, str, int],
    reserve: int = 0,
    share_capital: int = 10_000_000,
    policy: Policy = DEFAULT,
) -> RunInput:
    return RunInput(
        fiscal_year=2026,
        currency="MXN",
        net_surplus_minor=surplus,
        reserve_balance_minor=reserve,
        paid_in_share_capital_minor=share_capital,
        bylaws_version=1,
        policy=policy,
        patronage=[Patronage(*p) for p in patronage],
    )


def shares(allocation: Allocation) -> dict[str, tuple[int, int, int]]:
    return {
        m.member_id: (m.share_minor, m.cash_minor, m.retained_minor) for m in allocation.members
    }


def test_the_default_policy_here_is_the_default_bylaws() -> None:
    waterfall = default_bylaws().surplus
    assert (DEFAULT.reserve_bp, DEFAULT.reserve_cap_bp_of_share_capital) == (
        waterfall.reserve_bp,
        waterfall.reserve_cap_bp_of_share_capital,
    )
    assert (DEFAULT.education_bp, DEFAULT.welfare_bp, DEFAULT.min_cash_bp) == (
        waterfall.education_bp,
        waterfall.welfare_bp,
        waterfall.min_cash_bp,
    )
    assert dict(DEFAULT.class_split_bp) == waterfall.class_split_bp
    assert DEFAULT.min_patronage["patient"] == waterfall.min_patronage_minor["MXN"]
    assert DEFAULT.redemption_years == waterfall.redemption_years


def test_a_normal_year_with_the_default_figures() -> None:
    # S = 1,234,567; share capital 10,000,000 → cap 2,500,000, reserve empty, gap 2,500,000.
    # reserve   ⌊1,234,567 × 0.15⌋ = ⌊185,185.05⌋ = 185,185
    # education ⌊1,234,567 × 0.02⌋ = ⌊24,691.34⌋  =  24,691
    # welfare   ⌊1,234,567 × 0.03⌋ = ⌊37,037.01⌋  =  37,037
    # D = 1,234,567 − 185,185 − 24,691 − 37,037 = 987,654 → 493,827 a class.
    # Patients (33,333 + 66,667 = 100,000 centavos):
    #   ana  493,827 × 33,333 / 100,000 = 164,607.35391 → 164,607
    #   beto 493,827 × 66,667 / 100,000 = 329,219.64609 → 329,219, +1 (larger remainder) = 329,220
    # Doctors (120 + 240 = 360 minutes): carla 493,827 / 3 = 164,609; dario 329,218 (exact).
    # Cash ⌈20%⌉: ana ⌈32,921.4⌉ = 32,922; beto 65,844; carla ⌈32,921.8⌉ = 32,922;
    # dario ⌈65,843.6⌉ = 65,844. Retained is the rest, redeemable in 2026 + 5.
    allocation = rules.allocate(
        year(
            1_234_567,
            ("beto", "patient", 66_667),
            ("carla", "doctor", 120),
            ("ana", "patient", 33_333),
            ("dario", "doctor", 240),
        )
    )
    assert (allocation.reserve_minor, allocation.education_minor, allocation.welfare_minor) == (
        185_185,
        24_691,
        37_037,
    )
    assert allocation.distributable_minor == 987_654
    assert allocation.classes["patient"].pool_minor == allocation.classes["doctor"].pool_minor
    assert shares(allocation) == {
        "ana": (164_607, 32_922, 131_685),
        "beto": (329_220, 65_844, 263_376),
        "carla": (164_609, 32_922, 131_687),
        "dario": (329_218, 65_844, 263_374),
    }
    assert [m.member_id for m in allocation.members] == ["ana", "beto", "carla", "dario"]
    assert {m.redemption_year for m in allocation.members} == {2031}
    assert allocation.unallocated_to_reserve_minor == allocation.uncovered_deficit_minor == 0
    assert not allocation.deficit
    assert allocation.classes["doctor"].note is None


def test_a_reserve_near_its_cap_takes_only_the_gap() -> None:
    # Cap 25% × 10,000,000 = 2,500,000; the fund holds 2,460,000: the gap is 40,000, less than
    # 15% × 1,000,000 = 150,000. Education 20,000, welfare 30,000 → D = 910,000, 455,000 a class.
    allocation = rules.allocate(
        year(1_000_000, ("ana", "patient", 20_000), ("carla", "doctor", 90), reserve=2_460_000)
    )
    assert allocation.reserve_minor == 40_000
    assert allocation.distributable_minor == 910_000
    assert shares(allocation) == {
        "ana": (455_000, 91_000, 364_000),
        "carla": (455_000, 91_000, 364_000),
    }


def test_a_member_below_the_threshold_gets_nothing_and_their_part_stays_in_the_class() -> None:
    # D = 800,000, 400,000 a class. The threshold is 10,000 centavos: ana (9,999) is below it,
    # beto (exactly 10,000) is not. Eligible patronage 10,000 + 30,000 = 40,000:
    # beto 400,000 × 1/4 = 100,000; chema 300,000. Doctors: carla alone takes 400,000.
    allocation = rules.allocate(
        year(
            1_000_000,
            ("ana", "patient", 9_999),
            ("beto", "patient", 10_000),
            ("chema", "patient", 30_000),
            ("carla", "doctor", 60),
        )
    )
    assert shares(allocation) == {
        "ana": (0, 0, 0),
        "beto": (100_000, 20_000, 80_000),
        "chema": (300_000, 60_000, 240_000),
        "carla": (400_000, 80_000, 320_000),
    }
    patients = allocation.classes["patient"]
    assert (patients.patronage_total, patients.eligible_patronage) == (49_999, 40_000)
    assert (patients.members, patients.eligible_members) == (3, 2)
    assert [m.eligible for m in allocation.members] == [False, True, True, True]


def test_ties_in_remainders_follow_the_documented_order() -> None:
    # S = 105: reserve ⌊15.75⌋ = 15, education ⌊2.1⌋ = 2, welfare ⌊3.15⌋ = 3 → D = 85.
    # Classes 42.5 each: floors 84, one unit left, equal remainders → "doctor" sorts first: 43/42.
    # Patients, pool 42, 10,000 and 30,000: 10.5 and 31.5, equal remainders → larger patronage:
    #   zoe (30,000) 32, ana (10,000) 10 although "ana" sorts first.
    # Doctors, pool 43, three × 90 minutes: 14⅓ each, one unit left → smallest id: d1 15.
    # Cash ⌈20%⌉: 32 → 7, 10 → 2, 15 → 3, 14 → ⌈2.8⌉ = 3.
    allocation = rules.allocate(
        year(
            105,
            ("zoe", "patient", 30_000),
            ("ana", "patient", 10_000),
            ("d3", "doctor", 90),
            ("d2", "doctor", 90),
            ("d1", "doctor", 90),
        )
    )
    assert allocation.classes["doctor"].pool_minor == 43
    assert allocation.classes["patient"].pool_minor == 42
    assert shares(allocation) == {
        "ana": (10, 2, 8),
        "zoe": (32, 7, 25),
        "d1": (15, 3, 12),
        "d2": (14, 3, 11),
        "d3": (14, 3, 11),
    }


def test_a_deficit_is_absorbed_by_the_reserve() -> None:
    allocation = rules.allocate(year(-500_000, ("ana", "patient", 50_000), reserve=2_000_000))
    assert allocation.deficit
    assert allocation.reserve_minor == -500_000
    assert allocation.uncovered_deficit_minor == 0
    assert shares(allocation) == {"ana": (0, 0, 0)}
    assert allocation.classes["patient"].note == "no-surplus"
    assert allocation.education_minor == allocation.welfare_minor == 0


def test_a_deficit_larger_than_the_reserve_is_reported_uncovered() -> None:
    # The fund holds 120,000 of the 500,000 lost: it goes to zero, 380,000 stays uncovered.
    allocation = rules.allocate(year(-500_000, ("ana", "patient", 50_000), reserve=120_000))
    assert (allocation.reserve_minor, allocation.uncovered_deficit_minor) == (-120_000, 380_000)


def test_a_year_without_surplus_or_deficit_allocates_nothing() -> None:
    allocation = rules.allocate(year(0, ("ana", "patient", 50_000), reserve=120_000))
    assert not allocation.deficit
    assert allocation.reserve_minor == allocation.uncovered_deficit_minor == 0
    assert shares(allocation) == {"ana": (0, 0, 0)}


def test_a_class_without_patronage_sends_its_pool_to_the_reserve() -> None:
    # D = 800,000, 400,000 a class. No doctor has patronage: their 400,000 go to the reserve
    # fund as unallocated surplus; the patients 30,000 / 10,000 take 300,000 / 100,000.
    allocation = rules.allocate(
        year(1_000_000, ("ana", "patient", 30_000), ("beto", "patient", 10_000))
    )
    assert allocation.classes["doctor"].note == "no-members"
    assert allocation.unallocated_to_reserve_minor == 400_000
    assert allocation.reserve_minor == 150_000
    assert shares(allocation)["ana"] == (300_000, 60_000, 240_000)

    below = rules.allocate(year(1_000_000, ("ana", "patient", 30_000), ("carla", "doctor", 59)))
    assert below.classes["doctor"].note == "all-below-threshold"
    assert below.unallocated_to_reserve_minor == 400_000

    no_threshold = replace(DEFAULT, min_patronage={"patient": 10_000})
    idle = rules.allocate(year(1_000_000, ("carla", "doctor", 0), policy=no_threshold))
    assert idle.classes["doctor"].note == "no-patronage"
    assert idle.classes["patient"].note == "no-members"
    assert idle.unallocated_to_reserve_minor == 800_000


def test_the_digest_is_the_sha256_of_the_documented_canonical_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "_DIGEST_CHUNK", 2)  # several chunks, as with a large membership
    run = year(
        1_000,
        ("c", "doctor", 90),
        ("a", "patient", 10_000),
        ("b", "patient", 7),
        ("é", "doctor", 1),
    )
    document = {
        "schema": "tequio.surplus.input/1",
        "fiscal_year": 2026,
        "currency": "MXN",
        "net_surplus_minor": 1_000,
        "reserve_balance_minor": 0,
        "paid_in_share_capital_minor": 10_000_000,
        "bylaws_version": 1,
        "policy": {
            "reserve_bp": 1500,
            "reserve_cap_bp_of_share_capital": 2500,
            "education_bp": 200,
            "welfare_bp": 300,
            "class_split_bp": {"patient": 5000, "doctor": 5000},
            "min_cash_bp": 2000,
            "min_patronage": {"patient": 10_000, "doctor": 60},
            "redemption_years": 5,
        },
        "patronage": [
            ["a", "patient", 10_000],
            ["b", "patient", 7],
            ["c", "doctor", 90],
            ["é", "doctor", 1],
        ],
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    assert rules.input_digest(run) == hashlib.sha256(canonical.encode()).hexdigest()
    assert rules.allocate(run).input_digest == rules.input_digest(run)
    assert rules.input_digest(replace(run, bylaws_version=2)) != rules.input_digest(run)


def test_the_allocation_is_plain_json() -> None:
    allocation = rules.allocate(year(1_000_000, ("ana", "patient", 30_000)))
    document = allocation.to_json()
    assert json.loads(json.dumps(document)) == document
    assert document["classes"]["doctor"]["note"] == "no-members"
    assert document["members"][0] == {
        "member_id": "ana",
        "member_class": "patient",
        "patronage": 30_000,
        "eligible": True,
        "share_minor": 400_000,
        "cash_minor": 80_000,
        "retained_minor": 320_000,
        "redemption_year": 2031,
    }


@pytest.mark.parametrize(
    ("run", "message"),
    [
        (year(100, ("a", "patient", 1), ("a", "doctor", 1)), "more than one"),
        (year(100, ("a", "nurse", 1)), "not in class_split_bp"),
        (year(100, ("a", "patient", -1)), "negative patronage"),
        (year(100, reserve=-1), "reserve_balance_minor"),
        (year(100, policy=replace(DEFAULT, class_split_bp={"patient": 5000})), "sum to"),
        (year(100, policy=replace(DEFAULT, min_patronage={"nurse": 1})), "unknown"),
        (year(100, policy=replace(DEFAULT, reserve_bp=9_600)), "whole surplus"),
        (year(100, policy=replace(DEFAULT, min_cash_bp=10_001)), "min_cash_bp"),
    ],
)
def test_impossible_inputs_are_refused(run: RunInput, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.allocate(run)


# ---------------------------------------------------------------------------------------------
# Properties

CLASSES = ("doctor", "patient")
member_ids = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=8)
patronage_lists = st.lists(
    st.builds(
        Patronage,
        member_id=member_ids,
        member_class=st.sampled_from(CLASSES),
        amount=st.integers(0, 10**7),
    ),
    max_size=40,
    unique_by=lambda p: p.member_id,
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    reserve = draw(st.integers(0, 10_000))
    education = draw(st.integers(0, 10_000 - reserve))
    doctors = draw(st.integers(0, 10_000))
    return Policy(
        reserve_bp=reserve,
        reserve_cap_bp_of_share_capital=draw(st.integers(0, 10_000)),
        education_bp=education,
        welfare_bp=draw(st.integers(0, 10_000 - reserve - education)),
        class_split_bp={"doctor": doctors, "patient": 10_000 - doctors},
        min_cash_bp=draw(st.integers(0, 10_000)),
        min_patronage={c: draw(st.integers(0, 10**6)) for c in CLASSES},
        redemption_years=draw(st.integers(0, 30)),
    )


@st.composite
def runs(draw: st.DrawFn, surplus: st.SearchStrategy[int] = st.integers(1, 10**12)) -> RunInput:
    return RunInput(
        fiscal_year=draw(st.integers(2000, 2100)),
        currency="MXN",
        net_surplus_minor=draw(surplus),
        reserve_balance_minor=draw(st.integers(0, 10**12)),
        paid_in_share_capital_minor=draw(st.integers(0, 10**13)),
        bylaws_version=draw(st.integers(1, 50)),
        policy=draw(policies()),
        patronage=draw(patronage_lists),
    )


@given(runs())
def test_the_parts_always_sum_exactly_to_the_surplus(run: RunInput) -> None:
    allocation = rules.allocate(run)
    members = sum(m.share_minor for m in allocation.members)
    funds = allocation.reserve_minor + allocation.education_minor + allocation.welfare_minor
    assert funds + allocation.unallocated_to_reserve_minor + members == run.net_surplus_minor
    assert sum(c.pool_minor for c in allocation.classes.values()) == allocation.distributable_minor
    for name, split in allocation.classes.items():
        in_class = sum(m.share_minor for m in allocation.members if m.member_class == name)
        assert in_class == (0 if split.note else split.pool_minor)
    assert all(m.share_minor == 0 for m in allocation.members if not m.eligible)


@given(runs())
def test_cash_and_retained_make_up_each_share_with_at_least_the_minimum_in_cash(
    run: RunInput,
) -> None:
    allocation = rules.allocate(run)
    bp = run.policy.min_cash_bp
    for m in allocation.members:
        assert m.cash_minor + m.retained_minor == m.share_minor
        assert m.retained_minor >= 0 and m.cash_minor * 10_000 >= m.share_minor * bp
        assert (m.cash_minor - 1) * 10_000 < m.share_minor * bp or m.share_minor == 0
        assert m.redemption_year == run.fiscal_year + run.policy.redemption_years


@given(runs(), st.integers(1, 10**9))
def test_at_least_twenty_percent_is_paid_in_cash_by_default(run: RunInput, surplus: int) -> None:
    allocation = rules.allocate(replace(run, net_surplus_minor=surplus, policy=DEFAULT))
    cash = sum(m.cash_minor for m in allocation.members)
    retained = sum(m.retained_minor for m in allocation.members)
    assert cash + retained == sum(m.share_minor for m in allocation.members)
    assert all(m.cash_minor * 5 >= m.share_minor for m in allocation.members)


@given(runs())
def test_more_patronage_never_gets_less_within_a_class(run: RunInput) -> None:
    allocation = rules.allocate(run)
    for name in CLASSES:
        ranked = sorted(
            (m.patronage, m.share_minor) for m in allocation.members if m.member_class == name
        )
        # Sorted by (patronage, share): each step up in patronage compares the largest share
        # below with the smallest share above.
        for (low, low_share), (high, high_share) in pairwise(ranked):
            assert high_share >= low_share or high == low


@given(runs(), st.lists(member_ids, min_size=1, max_size=10, unique=True))
def test_zero_patronage_in_a_class_allocates_nothing_there(run: RunInput, ids: list[str]) -> None:
    policy = replace(run.policy, min_patronage={"patient": run.policy.min_patronage["patient"]})
    idle = [Patronage(f"doctor-{i}", "doctor", 0) for i in ids]
    patients = [p for p in run.patronage if p.member_class == "patient"]
    allocation = rules.allocate(replace(run, policy=policy, patronage=[*patients, *idle]))
    doctors = allocation.classes["doctor"]
    assert doctors.note == "no-patronage"
    assert all(m.share_minor == 0 for m in allocation.members if m.member_class == "doctor")
    assert allocation.unallocated_to_reserve_minor >= doctors.pool_minor


@given(runs(), st.sampled_from(CLASSES), st.integers(1, 10**7))
def test_one_member_takes_the_whole_pool_of_their_class(
    run: RunInput, member_class: str, amount: int
) -> None:
    policy = replace(run.policy, min_patronage={member_class: amount})
    allocation = rules.allocate(
        replace(run, policy=policy, patronage=[Patronage("solo", member_class, amount)])
    )
    (member,) = allocation.members
    assert member.eligible
    assert member.share_minor == allocation.classes[member_class].pool_minor


@given(runs(), st.integers(0, 10**6), st.lists(member_ids, min_size=1, max_size=30, unique=True))
def test_members_exactly_at_the_threshold_are_all_eligible_and_share_alike(
    run: RunInput, threshold: int, ids: list[str]
) -> None:
    policy = replace(run.policy, min_patronage={"patient": threshold})
    patronage = [Patronage(i, "patient", threshold) for i in ids]
    allocation = rules.allocate(replace(run, policy=policy, patronage=patronage))
    patients = allocation.classes["patient"]
    assert patients.eligible_members == len(ids)
    assert all(m.eligible for m in allocation.members)
    got = [m.share_minor for m in allocation.members]
    if threshold:
        assert sum(got) == patients.pool_minor and max(got) - min(got) <= 1
        # The extra units go to the ids that sort first.
        assert got == sorted(got, reverse=True)
    else:
        assert patients.note == "no-patronage" and set(got) == {0}


@given(runs(surplus=st.integers(-(10**12), -1)))
def test_a_deficit_allocates_nothing_and_the_reserve_absorbs_what_it_can(run: RunInput) -> None:
    allocation = rules.allocate(run)
    assert allocation.deficit
    assert all(m.share_minor == m.cash_minor == 0 for m in allocation.members)
    assert allocation.reserve_minor == -min(-run.net_surplus_minor, run.reserve_balance_minor)
    assert allocation.reserve_minor - allocation.uncovered_deficit_minor == run.net_surplus_minor
    assert allocation.uncovered_deficit_minor >= 0
    assert run.reserve_balance_minor + allocation.reserve_minor >= 0


@given(runs(), st.integers(0, 10**12))
def test_a_reserve_at_its_cap_takes_nothing(run: RunInput, beyond: int) -> None:
    policy = run.policy
    cap = run.paid_in_share_capital_minor * policy.reserve_cap_bp_of_share_capital // 10_000
    allocation = rules.allocate(replace(run, reserve_balance_minor=cap + beyond))
    assert allocation.reserve_minor == 0


@given(runs(surplus=st.integers(-(10**9), 10**12)), st.randoms(use_true_random=False))
def test_the_same_inputs_in_any_order_give_the_same_allocation_and_digest(
    run: RunInput, rng: random.Random
) -> None:
    shuffled = list(run.patronage)
    rng.shuffle(shuffled)
    again = replace(run, patronage=shuffled)
    assert rules.allocate(again) == rules.allocate(run)
    assert rules.input_digest(again) == rules.input_digest(run) == rules.allocate(run).input_digest


@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 10**9), min_size=1, max_size=50).filter(lambda w: sum(w) > 0),
)
def test_largest_remainder_sums_exactly_and_stays_within_one_of_each_quota(
    total: int, weights: list[int]
) -> None:
    parts = rules.largest_remainder(total, weights, list(range(len(weights))))
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        quota = Fraction(total * weight, whole)
        assert part in (
            quota.numerator // quota.denominator,
            quota.numerator // quota.denominator + 1,
        )


@given(st.integers(0, 1000), st.integers(1, 20), st.integers(1, 1000))
def test_largest_remainder_breaks_equal_remainders_by_the_tiebreak(
    total: int, count: int, weight: int
) -> None:
    keys = [f"m{i:02d}" for i in reversed(range(count))]
    parts = rules.largest_remainder(total, [weight] * count, keys)
    base, extra = divmod(total, count)
    assert sorted(parts) == sorted([base + 1] * extra + [base] * (count - extra))
    assert all(
        part == base + 1 for key, part in zip(keys, parts, strict=True) if key < f"m{extra:02d}"
    )


def test_largest_remainder_refuses_what_cannot_be_split() -> None:
    assert rules.largest_remainder(0, [0, 0], ["a", "b"]) == [0, 0]
    with pytest.raises(ValueError, match="all zero"):
        rules.largest_remainder(1, [0, 0], ["a", "b"])
    with pytest.raises(ValueError, match="negative"):
        rules.largest_remainder(1, [-1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="one tie-break key"):
        rules.largest_remainder(1, [1, 2], ["a"])
