"""Pure governance rules: who passes, by how much, and the tally of a published ballot list.

`tally(published)` is the one function the API (at the close) and anyone recounting the downloaded
`ballots.json` use alike. It reads only what is published: the rule in force at the opening, the
size of the roll per member class, the races or options, and the anonymized ballots.

Documented choices:
- Thresholds are of votes cast for and against; abstentions count toward quorum only.
- Quorum: ballots cast (abstentions included) × 10 000 ≥ quorum_bp × eligible voters, overall,
  and in each class with eligible voters when the rule says `quorum_in_each_class`.
- Ties: a tie (yes = no under a simple majority) does not pass; the status quo stands. With no
  vote for or against at all, nothing passes. A class "majority" is yes > no within the class;
  a class with eligible voters but no yes or no vote has not shown a majority.
- Elections: each class elects its seats, only that class votes in its race; a single seat by
  instant runoff, several by the Scottish STV rules of 2007 (see elections.py). Ties are broken
  by earlier counts, then by a lot anyone can redraw: the proposal id is the seed.
- Priorities: approval voting; the top N options win, and any option tied with the N-th too.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cooperative.governance import elections

Choice = Literal["yes", "no", "abstain"]
MAJORITY_KINDS = ("resolution", "bylaw_amendment", "surplus_allocation")


@dataclass(frozen=True, slots=True)
class MajorityRule:
    threshold_numerator: int = 1
    threshold_denominator: int = 2
    strictly_greater: bool = True
    majority_in_each_class: bool = False
    quorum_bp: int = 0
    quorum_in_each_class: bool = False

    @classmethod
    def of(cls, rule: Mapping[str, Any]) -> "MajorityRule":
        return cls(**{k: rule[k] for k in cls.__dataclass_fields__ if k in rule})


@dataclass(frozen=True, slots=True)
class Count:
    eligible: int
    yes: int = 0
    no: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain


@dataclass(frozen=True, slots=True)
class MajorityResult:
    passed: bool
    quorum_met: bool
    threshold_met: bool
    classes_met: bool
    total: Count
    classes: dict[str, Count]
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"]["cast"] = self.total.cast
        for name, count in self.classes.items():
            data["classes"][name]["cast"] = count.cast
        return data


def quorum_met(cast: int, eligible: int, quorum_bp: int) -> bool:
    """Exact integer comparison: cast / eligible ≥ quorum_bp / 10 000. A roll with nobody on
    it meets no quorum but a zero one."""
    if eligible == 0:
        return quorum_bp == 0
    return cast * 10_000 >= quorum_bp * eligible


def threshold_met(yes: int, no: int, rule: MajorityRule) -> bool:
    """yes / (yes + no) above (or at, when not strict) numerator / denominator; never on 0 votes."""
    decided = yes + no
    if decided == 0:
        return False
    left, right = yes * rule.threshold_denominator, rule.threshold_numerator * decided
    return left > right if rule.strictly_greater else left >= right


def count_majority(
    votes: Iterable[tuple[str, Choice]], eligible: Mapping[str, int], rule: MajorityRule
) -> MajorityResult:
    """Yes/no/abstain ballots, each with its voter's class, against the roll's size per class."""
    tallies: Counter[tuple[str, str]] = Counter(votes)
    classes = {
        name: Count(
            eligible=eligible.get(name, 0),
            yes=tallies[(name, "yes")],
            no=tallies[(name, "no")],
            abstain=tallies[(name, "abstain")],
        )
        for name in sorted(set(eligible) | {name for name, _ in tallies})
    }
    total = Count(
        eligible=sum(eligible.values()),
        yes=sum(c.yes for c in classes.values()),
        no=sum(c.no for c in classes.values()),
        abstain=sum(c.abstain for c in classes.values()),
    )
    reasons: list[str] = []
    quorum = quorum_met(total.cast, total.eligible, rule.quorum_bp)
    if not quorum:
        reasons.append("quorum not met")
    if rule.quorum_in_each_class:
        for name, count in classes.items():
            if count.eligible and not quorum_met(count.cast, count.eligible, rule.quorum_bp):
                quorum = False
                reasons.append(f"quorum not met among {name} members")
    threshold = threshold_met(total.yes, total.no, rule)
    if not threshold:
        reasons.append(
            f"fewer than {rule.threshold_numerator}/{rule.threshold_denominator} voted yes"
            if not rule.strictly_greater
            else "no majority voted yes"
        )
    in_classes = True
    if rule.majority_in_each_class:
        for name, count in classes.items():
            if count.eligible and not count.yes > count.no:
                in_classes = False
                reasons.append(f"no majority among {name} members")
    return MajorityResult(
        passed=quorum and threshold and in_classes,
        quorum_met=quorum,
        threshold_met=threshold,
        classes_met=in_classes,
        total=total,
        classes=classes,
        reasons=reasons,
    )


def tally(published: Mapping[str, Any]) -> dict[str, Any]:
    """The result of a proposal from its published ballot list (what `ballots.json` holds).

    `published` has `proposal` (id, kind, rule, eligible per class, and for elections `races`,
    for priorities `options` and `top_n`) and `ballots` (each with `member_class` and `content`).
    """
    proposal = published["proposal"]
    kind: str = proposal["kind"]
    rule: Mapping[str, Any] = proposal["rule"]
    eligible: Mapping[str, int] = proposal["eligible"]
    ballots: list[Mapping[str, Any]] = published["ballots"]
    seed = str(proposal["id"])
    cast = {name: 0 for name in eligible}
    for ballot in ballots:
        cast[ballot["member_class"]] = cast.get(ballot["member_class"], 0) + 1
    turnout = {
        "eligible": dict(eligible),
        "cast": cast,
        "quorum_bp": rule.get("quorum_bp", 0),
        "quorum_met": quorum_met(
            sum(cast.values()), sum(eligible.values()), rule.get("quorum_bp", 0)
        ),
    }
    if kind in MAJORITY_KINDS:
        result = count_majority(
            ((b["member_class"], b["content"]["vote"]) for b in ballots),
            eligible,
            MajorityRule.of(rule),
        )
        return {"kind": kind, "passed": result.passed, "majority": result.to_json()}
    if kind == "board_election":
        races: dict[str, Any] = {}
        for name, race in sorted(proposal["races"].items()):
            rankings = [b["content"]["ranking"] for b in ballots if b["member_class"] == name]
            candidates = [c["id"] for c in race["candidates"]]
            seats = int(race["seats"])
            # a race nobody voted in elects nobody, whatever its quorum
            race_quorum = bool(rankings) and quorum_met(
                len(rankings), eligible.get(name, 0), rule.get("quorum_bp", 0)
            )
            counted = (
                elections.instant_runoff(rankings, candidates, seed)
                if seats == 1
                else elections.scottish_stv(rankings, candidates, seats, seed)
            )
            races[name] = {"quorum_met": race_quorum, **counted.to_json()}
        valid = turnout["quorum_met"] and all(r["quorum_met"] for r in races.values())
        return {"kind": kind, "passed": valid, "turnout": turnout, "races": races}
    if kind == "priorities":
        approved = elections.approval(
            (b["content"]["approve"] for b in ballots),
            [o["id"] for o in proposal["options"]],
            int(proposal["top_n"]),
        )
        return {
            "kind": kind,
            "passed": bool(ballots) and turnout["quorum_met"],
            "turnout": turnout,
            "approval": approved.to_json(),
        }
    raise ValueError(f"unknown proposal kind {kind!r}")
