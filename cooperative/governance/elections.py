"""Exact tallies for the cooperative's elections: Scottish STV, instant runoff and approval.

Pure functions over plain data: no I/O, no clock, no randomness. The same inputs always give the
same result, whatever the order of the ballots.

Ranked ballots are sequences of candidate ids in order of preference. Ids that are not standing
candidates are ignored, and so is any repeat of an id already ranked (the first mark counts). A
ranked ballot is valid when it names at least one standing candidate. Identical rankings are
counted together, so a count costs per distinct ranking rather than per ballot.

Scottish STV follows Schedule 1, rules 45-52, of the Scottish Local Government Elections Order
2007 (SSI 2007/42), read from the text of the Order:

- Quota (rule 46): valid ballots divided by (seats + 1), fractions ignored, plus one.
- A candidate whose votes equal or exceed the quota at the end of a stage is elected (rule 47).
- Surplus (rules 48-49): every ballot paper of the elected candidate is passed to its next
  continuing preference at the transfer value surplus x (value of the paper when received) /
  (candidate's total votes), "the calculation being made to five decimal places (any remainder
  being ignored)".
  Values are kept as integers in units of 1/100000 of a vote, so the count is exact. The largest
  surplus goes first. Only votes that *exceed* the quota make a surplus: a candidate on exactly the
  quota has nothing to transfer and gets no stage. After the transfer the candidate keeps exactly
  the quota; papers with no further continuing preference are non-transferable at their transfer
  value; what the truncation to five decimals leaves over is lost (less than 1/100000 of a vote
  per paper transferred).
- Exclusion (rule 50): with no surplus left to transfer, the continuing candidate with the fewest
  votes is excluded and each of their papers passes on at the value it had when received.
- Ties (rules 49(2) and 51(2)): the Order settles equal surpluses and equal lowest votes by the
  candidates' votes "at the end of the most recent preceding stage at which they had unequal
  numbers of votes" (more votes transfers first; fewer votes is excluded), and when they were
  equal at every stage, "by lot". So earlier stages are searched from the most recent backwards.
  With three or more tied, a stage that separates only some of them narrows the tie to those with
  the most (surplus) or fewest (exclusion) votes there, and the search goes on further back.
- Last vacancies (rule 52): when the continuing candidates are no more than the seats left, they
  are all elected and "no further transfer shall be made": if that happens on an exclusion, the
  excluded candidate's papers stay where they are (their votes are still shown).

The lot is reproducible by anyone: `lot_order` sorts tied candidates by the SHA-256 hex digest of
the UTF-8 text f"{seed}:{candidate}" (ascending; equal digests, which never happen in practice, by
id) and the lot draws the *first* candidate of that order: the one excluded, or the one whose
surplus is transferred first. The seed should be fixed and published before the ballots are
counted (for example the proposal's id). Every use of the lot is noted in `tie_breaks`.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

SCALE = 100_000
"""One vote, in the units of 1/100000 of a vote that the Scottish rules count in."""

STV_METHOD = "scottish_stv_2007"
IRV_METHOD = "instant_runoff"
APPROVAL_METHOD = "approval"

_Parcel = tuple[int, int, int, int]
"""Papers with one ranking: (ranking index, position of the current preference, value, papers)."""


@dataclass(frozen=True, slots=True)
class Round:
    """One stage of a count: what was done, and where every candidate stood at its end.

    `votes` holds every candidate, as decimal strings with five places for STV ("123.45678") and
    whole numbers for instant runoff. `non_transferable` is the running total, at the end of the
    stage, of papers with no continuing preference left (exhausted ballots for instant runoff).
    `transfer_values` maps the value papers had when the transferring candidate received them to
    the value they were passed on at (surplus stages only).
    """

    number: int
    action: str
    candidate: str | None
    votes: dict[str, str]
    non_transferable: str
    elected: list[str]
    excluded: list[str]
    transfer_values: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "action": self.action,
            "candidate": self.candidate,
            "votes": dict(self.votes),
            "non_transferable": self.non_transferable,
            "elected": list(self.elected),
            "excluded": list(self.excluded),
            "transfer_values": dict(self.transfer_values),
        }


@dataclass(frozen=True, slots=True)
class RaceResult:
    """The outcome of a ranked count, with every stage, ready to store and publish."""

    method: str
    seats: int
    quota: str | None
    valid_ballots: int
    elected: list[str]
    excluded: list[str]
    tie_breaks: list[str]
    rounds: list[Round]

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "seats": self.seats,
            "quota": self.quota,
            "valid_ballots": self.valid_ballots,
            "elected": list(self.elected),
            "excluded": list(self.excluded),
            "tie_breaks": list(self.tie_breaks),
            "rounds": [r.to_json() for r in self.rounds],
        }


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """Approvals per option, highest first, and the winners (see `approval` for the tie rule)."""

    method: str
    top_n: int
    ballots: int
    counts: dict[str, int]
    ranking: list[str]
    winners: list[str]
    tied_at_cutoff: list[str]

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "top_n": self.top_n,
            "ballots": self.ballots,
            "counts": dict(self.counts),
            "ranking": list(self.ranking),
            "winners": list(self.winners),
            "tied_at_cutoff": list(self.tied_at_cutoff),
        }


def lot_order(seed: str, candidates: Iterable[str]) -> list[str]:
    """Candidates in the order the lot draws them: by SHA-256 of f"{seed}:{id}", lowest first."""
    return sorted(candidates, key=lambda c: (_digest(seed, c), c))


def format_votes(units: int) -> str:
    """A value in 1/100000 of a vote as a decimal string with five places: 1234567 -> "12.34567"."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), SCALE)
    return f"{sign}{whole}.{fraction:05d}"


def scottish_stv(
    ballots: Iterable[Sequence[str]], candidates: Sequence[str], seats: int, seed: str
) -> RaceResult:
    """Count a multi-seat race under the Scottish STV rules of 2007 (see the module docstring).

    Exactly min(seats, number of candidates) candidates are elected: candidates left standing when
    the continuing candidates no longer outnumber the seats are elected even without a quota.
    """
    names = _standing(candidates)
    if seats < 1:
        raise ValueError("a race needs at least one seat")
    rankings, papers = _group(ballots, names)
    return _StvCount(names, rankings, papers, seats, seed).run()


def instant_runoff(
    ballots: Iterable[Sequence[str]], candidates: Sequence[str], seed: str
) -> RaceResult:
    """Count a single-seat race by instant runoff.

    Each round counts every ballot for its highest-ranked continuing candidate. A candidate with
    more than half of the ballots still counting (those not exhausted) wins, and so does the last
    candidate standing; otherwise the candidate with the fewest votes is excluded. Ties for fewest
    are settled as in the Scottish rules: fewer votes at the most recent earlier round where the
    tied candidates differed, else the seeded lot (`lot_order`, first drawn is excluded). With no
    valid ballot at all, the lot excludes candidates until one is left, and `tie_breaks` says so.
    """
    names = _standing(candidates)
    rankings, papers = _group(ballots, names)
    return _IrvCount(names, rankings, papers, seed).run()


def approval(
    ballots: Iterable[Collection[str]], options: Sequence[str], top_n: int
) -> ApprovalResult:
    """Count approval ballots: one approval per option per ballot, unknown ids ignored.

    The ranking is by approvals, highest first (equal counts keep the order of `options`). The
    winners are the top `top_n`, and every option tied with the `top_n`-th at the cut-off wins
    too, so there can be more than `top_n` winners; `tied_at_cutoff` then lists the whole tied
    group (those above the cut-off and those it let in), and is empty otherwise. An option with
    no approval never wins, so there can also be fewer winners than `top_n`.
    """
    names = _standing(options)
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    known = frozenset(names)
    counts: Counter[str] = Counter()
    total = 0
    for ballot in ballots:
        total += 1
        counts.update(known.intersection(ballot))
    position = {name: i for i, name in enumerate(names)}
    ranking = sorted(names, key=lambda o: (-counts[o], position[o]))
    approved = [o for o in ranking if counts[o] > 0]
    winners, tied = approved, []
    if len(approved) > top_n:
        cutoff = counts[approved[top_n - 1]]
        winners = [o for o in approved if counts[o] >= cutoff]
        if len(winners) > top_n:
            tied = [o for o in winners if counts[o] == cutoff]
    return ApprovalResult(
        method=APPROVAL_METHOD,
        top_n=top_n,
        ballots=total,
        counts={o: counts[o] for o in ranking},
        ranking=ranking,
        winners=winners,
        tied_at_cutoff=tied,
    )


def _digest(seed: str, candidate: str) -> str:
    return hashlib.sha256(f"{seed}:{candidate}".encode()).hexdigest()


def _standing(candidates: Sequence[str]) -> list[str]:
    names = list(candidates)
    if not names:
        raise ValueError("a race needs at least one candidate")
    if len(set(names)) != len(names):
        raise ValueError("candidate ids must be unique")
    return names


def _group(
    ballots: Iterable[Sequence[str]], names: list[str]
) -> tuple[list[tuple[int, ...]], list[int]]:
    """Distinct cleaned rankings (as candidate indexes, sorted) and how many ballots gave each."""
    index = {name: i for i, name in enumerate(names)}
    raw = Counter(tuple(ballot) for ballot in ballots)
    cleaned: Counter[tuple[int, ...]] = Counter()
    for ranking, count in raw.items():
        marks: dict[int, None] = {}
        for cid in ranking:
            i = index.get(cid)
            if i is not None:
                marks.setdefault(i)
        if marks:
            cleaned[tuple(marks)] += count
    grouped = sorted(cleaned.items())
    return [r for r, _ in grouped], [n for _, n in grouped]


@dataclass(frozen=True, slots=True)
class _Tie:
    """How a choice among candidates on equal votes was made."""

    chosen: int
    tied: list[int]
    stage: int | None
    """The earlier stage that decided it, or None when the lot did."""


def _break_tie(
    pool: Iterable[int], history: list[list[int]], *, most: bool, names: list[str], seed: str
) -> _Tie:
    """The candidate of `pool` with the most (or fewest) votes now, ties settled as in rules
    49(2)/51(2): by the most recent earlier stage that separates them, then by lot."""
    now = history[-1]
    pick = max if most else min
    members = list(pool)
    target = pick(now[c] for c in members)
    tied = [c for c in members if now[c] == target]
    remaining, stage = tied, None
    for earlier in range(len(history) - 2, -1, -1):
        if len(remaining) == 1:
            break
        values = history[earlier]
        best = pick(values[c] for c in remaining)
        narrowed = [c for c in remaining if values[c] == best]
        if len(narrowed) < len(remaining):
            remaining, stage = narrowed, earlier + 1
    if len(remaining) == 1:
        return _Tie(remaining[0], tied, stage)
    drawn = lot_order(seed, (names[c] for c in remaining))[0]
    return _Tie(names.index(drawn), remaining, None)


def _lot_note(tie: _Tie, names: list[str], seed: str, where: str, outcome: str) -> str:
    order = lot_order(seed, (names[c] for c in tie.tied))
    digests = ", ".join(f"{n} ({_digest(seed, n)[:16]}…)" for n in order)
    return (
        f"{where}: {', '.join(order)} were tied at this and every earlier stage; by lot "
        f'(SHA-256 of "{seed}:<candidate>", lowest digest drawn first: {digests}) '
        f"{names[tie.chosen]} {outcome}."
    )


def _stage_note(tie: _Tie, names: list[str], label: str, fewer: bool) -> str:
    others = ", ".join(names[c] for c in tie.tied if c != tie.chosen)
    compare = "fewer" if fewer else "more"
    return f" (tied with {others}; {compare} votes at {label} {tie.stage})"


class _StvCount:
    """The mutable state of one Scottish STV count, stage by stage."""

    def __init__(
        self,
        names: list[str],
        rankings: list[tuple[int, ...]],
        papers: list[int],
        seats: int,
        seed: str,
    ) -> None:
        self.names, self.rankings, self.seats, self.seed = names, rankings, seats, seed
        self.valid = sum(papers)
        self.quota = (self.valid // (seats + 1) + 1) * SCALE
        self.votes = [0] * len(names)
        self.piles: list[list[_Parcel]] = [[] for _ in names]
        self.continuing = [True] * len(names)
        self.elected: list[int] = []
        self.excluded: list[int] = []
        self.non_transferable = 0
        self.history: list[list[int]] = []
        self.rounds: list[Round] = []
        self.tie_breaks: list[str] = []
        self.done = False
        for rid, (ranking, count) in enumerate(zip(rankings, papers, strict=True)):
            self.piles[ranking[0]].append((rid, 0, SCALE, count))
            self.votes[ranking[0]] += count * SCALE

    def run(self) -> RaceResult:
        self._close_stage("first preferences", None, [])
        while not self.done:
            pending = [c for c in self.elected if self.votes[c] > self.quota]
            if pending:
                self._transfer_surplus(pending)
            else:
                self._exclude()
        return RaceResult(
            method=STV_METHOD,
            seats=self.seats,
            quota=format_votes(self.quota),
            valid_ballots=self.valid,
            elected=[self.names[c] for c in self.elected],
            excluded=[self.names[c] for c in self.excluded],
            tie_breaks=self.tie_breaks,
            rounds=self.rounds,
        )

    def _transfer_surplus(self, pending: list[int]) -> None:
        stage = len(self.rounds) + 1
        tie = self._choose(pending, most=True)
        source = tie.chosen
        note = self._explain(tie, stage, "has its surplus transferred first")
        total = self.votes[source]
        surplus = total - self.quota
        values: dict[int, int] = {}

        def transfer_value(received: int) -> int:
            if received not in values:
                values[received] = surplus * received // total
            return values[received]

        self._move(source, transfer_value)
        self.votes[source] = self.quota
        name = self.names[source]
        shown = {format_votes(v): format_votes(values[v]) for v in sorted(values, reverse=True)}
        self._close_stage(f"surplus of {name} transferred{note}", name, [], shown)

    def _exclude(self) -> None:
        stage = len(self.rounds) + 1
        pool = [c for c, on in enumerate(self.continuing) if on]
        tie = self._choose(pool, most=False)
        loser = tie.chosen
        note = self._explain(tie, stage, "excluded")
        self.continuing[loser] = False
        self.excluded.append(loser)
        name = self.names[loser]
        if sum(self.continuing) <= self.seats - len(self.elected):
            note += "; no transfer, the continuing candidates fill the seats left (rule 52)"
        else:
            self._move(loser, None)
            self.votes[loser] = 0
        self._close_stage(f"{name} excluded{note}", name, [name])

    def _choose(self, pool: list[int], *, most: bool) -> _Tie:
        return _break_tie(pool, self.history, most=most, names=self.names, seed=self.seed)

    def _explain(self, tie: _Tie, stage: int, outcome: str) -> str:
        if len(tie.tied) < 2:
            return ""
        if tie.stage is not None:
            return _stage_note(tie, self.names, "stage", fewer=outcome == "excluded")
        where = f"Stage {stage}"
        self.tie_breaks.append(_lot_note(tie, self.names, self.seed, where, outcome))
        return " (by lot)"

    def _move(self, source: int, transfer_value: Callable[[int], int] | None) -> None:
        """Pass each of `source`'s papers to its next continuing preference."""
        rankings, continuing, piles, votes = self.rankings, self.continuing, self.piles, self.votes
        parcels, piles[source] = piles[source], []
        for rid, position, received, count in parcels:
            value = received if transfer_value is None else transfer_value(received)
            ranking = rankings[rid]
            for next_position in range(position + 1, len(ranking)):
                target = ranking[next_position]
                if continuing[target]:
                    piles[target].append((rid, next_position, value, count))
                    votes[target] += value * count
                    break
            else:
                self.non_transferable += value * count

    def _close_stage(
        self,
        action: str,
        candidate: str | None,
        excluded: list[str],
        transfer_values: dict[str, str] | None = None,
    ) -> None:
        """Record the stage's totals, elect who reached the quota, and apply rule 52."""
        self.history.append(list(self.votes))
        reached = [c for c, on in enumerate(self.continuing) if on and self.votes[c] >= self.quota]
        newly = self._by_votes(reached)
        left = self.seats - len(self.elected) - len(newly)
        for c in newly:
            self.continuing[c] = False
        rest = [c for c, on in enumerate(self.continuing) if on]
        if left <= 0 or len(rest) <= left:
            if left > 0:
                newly += self._by_votes(rest)
                for c in rest:
                    self.continuing[c] = False
            self.done = True
        self.elected += newly
        self.rounds.append(
            Round(
                number=len(self.rounds) + 1,
                action=action,
                candidate=candidate,
                votes={n: format_votes(v) for n, v in zip(self.names, self.votes, strict=True)},
                non_transferable=format_votes(self.non_transferable),
                elected=[self.names[c] for c in newly],
                excluded=excluded,
                transfer_values=transfer_values or {},
            )
        )

    def _by_votes(self, members: list[int]) -> list[int]:
        """Most votes first; equal votes in lot order (the order of election is only shown)."""
        lot = {n: i for i, n in enumerate(lot_order(self.seed, (self.names[c] for c in members)))}
        return sorted(members, key=lambda c: (-self.votes[c], lot[self.names[c]]))


class _IrvCount:
    """The mutable state of one instant-runoff count, round by round."""

    def __init__(
        self, names: list[str], rankings: list[tuple[int, ...]], papers: list[int], seed: str
    ) -> None:
        self.names, self.rankings, self.seed = names, rankings, seed
        self.valid = sum(papers)
        self.votes = [0] * len(names)
        self.piles: list[list[tuple[int, int, int]]] = [[] for _ in names]
        self.continuing = [True] * len(names)
        self.exhausted = 0
        self.history: list[list[int]] = []
        self.rounds: list[Round] = []
        self.excluded: list[int] = []
        self.tie_breaks: list[str] = []
        for rid, (ranking, count) in enumerate(zip(rankings, papers, strict=True)):
            self.piles[ranking[0]].append((rid, 0, count))
            self.votes[ranking[0]] += count

    def run(self) -> RaceResult:
        winner = self._close_round("first preferences", None, [])
        while winner is None:
            pool = [c for c, on in enumerate(self.continuing) if on]
            tie = _break_tie(pool, self.history, most=False, names=self.names, seed=self.seed)
            note = self._explain(tie)
            loser = tie.chosen
            self.continuing[loser] = False
            self.excluded.append(loser)
            self._move(loser)
            name = self.names[loser]
            winner = self._close_round(f"{name} excluded{note}", name, [name])
        return RaceResult(
            method=IRV_METHOD,
            seats=1,
            quota=None,
            valid_ballots=self.valid,
            elected=[self.names[winner]],
            excluded=[self.names[c] for c in self.excluded],
            tie_breaks=self.tie_breaks,
            rounds=self.rounds,
        )

    def _explain(self, tie: _Tie) -> str:
        if len(tie.tied) < 2:
            return ""
        if tie.stage is not None:
            return _stage_note(tie, self.names, "round", fewer=True)
        where = f"Round {len(self.rounds) + 1}"
        if self.valid == 0:
            where += " (no valid ballots)"
        self.tie_breaks.append(_lot_note(tie, self.names, self.seed, where, "excluded"))
        return " (by lot)"

    def _move(self, source: int) -> None:
        rankings, continuing, piles, votes = self.rankings, self.continuing, self.piles, self.votes
        parcels, piles[source] = piles[source], []
        votes[source] = 0
        for rid, position, count in parcels:
            ranking = rankings[rid]
            for next_position in range(position + 1, len(ranking)):
                target = ranking[next_position]
                if continuing[target]:
                    piles[target].append((rid, next_position, count))
                    votes[target] += count
                    break
            else:
                self.exhausted += count

    def _close_round(self, action: str, candidate: str | None, excluded: list[str]) -> int | None:
        self.history.append(list(self.votes))
        active = self.valid - self.exhausted
        standing = [c for c, on in enumerate(self.continuing) if on]
        winners = [c for c in standing if 2 * self.votes[c] > active]
        if not winners and len(standing) == 1:
            winners = standing
        self.rounds.append(
            Round(
                number=len(self.rounds) + 1,
                action=action,
                candidate=candidate,
                votes={n: str(v) for n, v in zip(self.names, self.votes, strict=True)},
                non_transferable=str(self.exhausted),
                elected=[self.names[c] for c in winners],
                excluded=excluded,
            )
        )
        return winners[0] if winners else None
