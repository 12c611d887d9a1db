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
from datetime import date, datetime, timedelta
from typing import Any, Literal

from cooperative.governance import elections
from cooperative.governance.errors import (
    ClosesBeforeOpening,
    EffectiveBeforeClose,
    EffectiveDateOutOfRange,
    InitiativeRecordDate,
    InitiativeTooShort,
    OpensInThePast,
    RecordDateInFuture,
    RecordDateTooOld,
    VotingTooLong,
)
from cooperative.kernel.vocabulary import Vocabulary


class ProposalKind(Vocabulary):
    RESOLUTION = "resolution"  # yes / no / abstain
    BYLAW_AMENDMENT = "bylaw_amendment"  # the whole new bylaws, adopted at a passing close
    SURPLUS_ALLOCATION = "surplus_allocation"  # the assembly's approval of an allocation run
    BOARD_ELECTION = "board_election"  # ranked ballots, a race per member class
    PRIORITIES = "priorities"  # approval voting over options


class ProposalStatus(Vocabulary):
    DRAFT = "draft"  # co-signed and changed; nobody votes yet
    OPEN = "open"  # the roll is taken; ballots are cast from `opens_at` to `closes_at`
    CLOSED = "closed"  # counted and published, once


class ProposalEventKind(Vocabulary):
    OPENED = "opened"
    CLOSING_SOON = "closing_soon"
    RESULT = "result"


Choice = Literal["yes", "no", "abstain"]
MAJORITY_KINDS = (
    ProposalKind.RESOLUTION,
    ProposalKind.BYLAW_AMENDMENT,
    ProposalKind.SURPLUS_ALLOCATION,
)

MAX_VOTING = timedelta(days=366)
MAX_RECORD_AGE = timedelta(days=366)
MAX_EFFECTIVE_AHEAD = timedelta(days=3653)
OPENING_GRACE = timedelta(minutes=5)  # a client's clock a little behind still opens "now"


@dataclass(frozen=True, slots=True)
class VotingWindow:
    """When a vote opens and closes, and the day its roll is taken on."""

    opens_at: datetime
    closes_at: datetime
    record_date: date


def voting_window(
    *,
    opens_at: datetime | None,
    closes_at: datetime,
    record_date: date | None,
    now: datetime,
    today: date,
) -> VotingWindow:
    """The window an opening asks for (from now, with today's roll, when not said), or the
    refusal: it closes after it opens and in the future, opens at most a few minutes ago,
    closes within a year, and takes the roll on a day of the past year."""
    window = VotingWindow(opens_at or now, closes_at, record_date or today)
    if window.closes_at <= max(window.opens_at, now):
        raise ClosesBeforeOpening()
    if window.opens_at < now - OPENING_GRACE:
        raise OpensInThePast()
    if window.closes_at > now + MAX_VOTING:
        raise VotingTooLong()
    if window.record_date > today:
        raise RecordDateInFuture()
    if window.record_date < today - MAX_RECORD_AGE:
        raise RecordDateTooOld()
    return window


def check_initiative_window(window: VotingWindow, *, today: date, min_hours: int) -> None:
    """A member initiative takes its roll on the day it opens and runs at least `min_hours`."""
    if window.record_date != today:
        raise InitiativeRecordDate()
    if window.closes_at - window.opens_at < timedelta(hours=min_hours):
        raise InitiativeTooShort(hours=min_hours)


def check_effective_from(effective_from: datetime, *, now: datetime) -> None:
    """An amendment's drafted effective date: at most a year ago, at most ten years ahead."""
    if not now - MAX_RECORD_AGE <= effective_from <= now + MAX_EFFECTIVE_AHEAD:
        raise EffectiveDateOutOfRange()


def check_takes_effect_after_close(effective_from: datetime, closes_at: datetime) -> None:
    """An amendment never takes effect before its vote closes."""
    if effective_from < closes_at:
        raise EffectiveBeforeClose()


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
    quorum = _quorum(total, classes, rule, reasons)
    threshold = threshold_met(total.yes, total.no, rule)
    if not threshold:
        reasons.append(
            f"fewer than {rule.threshold_numerator}/{rule.threshold_denominator} voted yes"
            if not rule.strictly_greater
            else "no majority voted yes"
        )
    in_classes = _class_majorities(classes, rule, reasons)
    return MajorityResult(
        passed=quorum and threshold and in_classes,
        quorum_met=quorum,
        threshold_met=threshold,
        classes_met=in_classes,
        total=total,
        classes=classes,
        reasons=reasons,
    )


def _quorum(
    total: Count, classes: dict[str, Count], rule: MajorityRule, reasons: list[str]
) -> bool:
    """The quorum overall, and in each class with voters when the rule asks; each miss noted."""
    met = quorum_met(total.cast, total.eligible, rule.quorum_bp)
    if not met:
        reasons.append("quorum not met")
    if rule.quorum_in_each_class:
        for name, count in classes.items():
            if count.eligible and not quorum_met(count.cast, count.eligible, rule.quorum_bp):
                met = False
                reasons.append(f"quorum not met among {name} members")
    return met


def _class_majorities(classes: dict[str, Count], rule: MajorityRule, reasons: list[str]) -> bool:
    """More yes than no in each class with voters, when the rule asks; each miss noted."""
    met = True
    if rule.majority_in_each_class:
        for name, count in classes.items():
            if count.eligible and not count.yes > count.no:
                met = False
                reasons.append(f"no majority among {name} members")
    return met


def tally(published: Mapping[str, Any]) -> dict[str, Any]:
    """The result of a proposal from its published ballot list (what `ballots.json` holds).

    `published` has `proposal` (id, kind, rule, eligible per class, and for elections `races`,
    for priorities `options` and `top_n`) and `ballots` (each with `member_class` and `content`).
    """
    proposal = published["proposal"]
    kind: str = proposal["kind"]
    ballots: list[Mapping[str, Any]] = published["ballots"]
    if kind in MAJORITY_KINDS:
        return _majority(proposal, ballots)
    if kind == ProposalKind.BOARD_ELECTION:
        return _election(proposal, ballots)
    if kind == ProposalKind.PRIORITIES:
        return _priorities(proposal, ballots)
    raise ValueError(f"unknown proposal kind {kind!r}")


def _turnout(proposal: Mapping[str, Any], ballots: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Ballots cast per class against the roll, and whether the overall quorum is met."""
    eligible: Mapping[str, int] = proposal["eligible"]
    quorum_bp = proposal["rule"].get("quorum_bp", 0)
    cast = {name: 0 for name in eligible}
    for ballot in ballots:
        cast[ballot["member_class"]] = cast.get(ballot["member_class"], 0) + 1
    return {
        "eligible": dict(eligible),
        "cast": cast,
        "quorum_bp": quorum_bp,
        "quorum_met": quorum_met(sum(cast.values()), sum(eligible.values()), quorum_bp),
    }


def _majority(proposal: Mapping[str, Any], ballots: list[Mapping[str, Any]]) -> dict[str, Any]:
    result = count_majority(
        ((b["member_class"], b["content"]["vote"]) for b in ballots),
        proposal["eligible"],
        MajorityRule.of(proposal["rule"]),
    )
    return {"kind": proposal["kind"], "passed": result.passed, "majority": result.to_json()}


def _election(proposal: Mapping[str, Any], ballots: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Each class's race counted apart, by instant runoff or STV; valid with every quorum met."""
    turnout = _turnout(proposal, ballots)
    races = {
        name: _race(proposal, name, race, ballots)
        for name, race in sorted(proposal["races"].items())
    }
    valid = turnout["quorum_met"] and all(r["quorum_met"] for r in races.values())
    return {"kind": proposal["kind"], "passed": valid, "turnout": turnout, "races": races}


def _race(
    proposal: Mapping[str, Any],
    name: str,
    race: Mapping[str, Any],
    ballots: list[Mapping[str, Any]],
) -> dict[str, Any]:
    seed = str(proposal["id"])
    rankings = [b["content"]["ranking"] for b in ballots if b["member_class"] == name]
    candidates = [c["id"] for c in race["candidates"]]
    seats = int(race["seats"])
    # a race nobody voted in elects nobody, whatever its quorum
    race_quorum = bool(rankings) and quorum_met(
        len(rankings), proposal["eligible"].get(name, 0), proposal["rule"].get("quorum_bp", 0)
    )
    counted = (
        elections.instant_runoff(rankings, candidates, seed)
        if seats == 1
        else elections.scottish_stv(rankings, candidates, seats, seed)
    )
    return {"quorum_met": race_quorum, **counted.to_json()}


def _priorities(proposal: Mapping[str, Any], ballots: list[Mapping[str, Any]]) -> dict[str, Any]:
    turnout = _turnout(proposal, ballots)
    approved = elections.approval(
        (b["content"]["approve"] for b in ballots),
        [o["id"] for o in proposal["options"]],
        int(proposal["top_n"]),
    )
    return {
        "kind": proposal["kind"],
        "passed": bool(ballots) and turnout["quorum_met"],
        "turnout": turnout,
        "approval": approved.to_json(),
    }
