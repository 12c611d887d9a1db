"""The surplus waterfall: a fiscal year's net surplus to the statutory funds and back to members.

Pure and exact: no I/O, integers only (minor units of the run's currency; basis points, 1% =
100 bp), so the same inputs always give the same allocation to the minor unit. Every figure is the
bylaws' (recorded as `bylaws_version`); the rules, in order:

1. Funds, when the net surplus S > 0, each rounded down:
   - reserve fund = min(⌊S·reserve_bp/10000⌋, gap), where gap = max(0, ⌊paid-in share capital ·
     reserve_cap_bp_of_share_capital/10000⌋ − reserve balance): the fund stops at its cap. Mexico,
     LGSC art. 55: 10–20% of each year's surplus until the fund reaches the cap the bylaws set (not
     below 25% of social capital in producer cooperatives, 10% in consumer cooperatives).
   - education fund = ⌊S·education_bp/10000⌋ (LGSC art. 58: not less than 1% of net surplus).
   - social welfare fund (previsión social) = ⌊S·welfare_bp/10000⌋.
   - distributable D = S − reserve − education − welfare; what the funds round off stays in D.
2. Classes: D is split between member classes by `class_split_bp` (summing to 10000) by the
   largest-remainder method; equal remainders favour the class whose name sorts first.
3. Members: a member whose patronage is below the class's `min_patronage` gets nothing and their
   part stays in the class; a member exactly at it is eligible (absent from `min_patronage`: 0).
   The class pool is divided pro rata to the eligible members' patronage (patients: minor units
   paid; doctors: consult minutes), each getting the floor of their exact quota; the units left
   go one each by largest fractional remainder, equal remainders to the larger patronage, then to
   the member id that sorts first (plain string order, code point by code point).
4. A class with no eligible patronage (no members, all below the threshold, or all zero) allocates
   nothing: its pool goes to the reserve fund as unallocated surplus, reported apart as
   `unallocated_to_reserve_minor` (not limited by the cap: it has nowhere else to go), and the
   class's `note` says why.
5. Each member's share: cash = ⌈share·min_cash_bp/10000⌉ (rounded up, never below the minimum),
   retained in the member's capital account = share − cash, redeemable in fiscal_year +
   redemption_years. US, IRC §1388(c): a written notice of allocation is qualified only when at
   least 20% of the patronage dividend is paid in cash (or by qualified check).
6. A deficit year (S < 0) allocates nothing: the reserve fund absorbs the deficit up to its
   balance (reserve change = −min(−S, balance)); the rest is `uncovered_deficit_minor`. S = 0
   allocates nothing and is not a deficit.
7. Invariants: when S > 0, reserve + education + welfare + unallocated + Σ shares = S exactly;
   Σ cash + Σ retained = Σ shares; each member's cash ≥ min_cash_bp of their share.

`input_digest` is the SHA-256 (hex) of the canonical JSON of every input: keys sorted, no spaces,
ASCII only (`json.dumps(doc, sort_keys=True, separators=(",", ":"))`), with `patronage` a list of
`[member_id, member_class, amount]` sorted by member id, and `"schema": "tequio.surplus.input/1"`.
Anyone can recompute it from the published inputs.
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from operator import attrgetter
from typing import Any, Literal

from cooperative.kernel.vocabulary import Vocabulary

BP = 10_000
DIGEST_SCHEMA = "tequio.surplus.input/1"
_DIGEST_CHUNK = 500  # rows encoded at a time: few enough to die young, unseen by the cyclic GC


class RunStatus(Vocabulary):
    DRAFT = "draft"  # computed, recomputed as often as needed, put to the assembly's vote
    POSTED = "posted"  # approved and posted to the journal, once per fiscal year
    REVERSED = "reversed"  # its posting mirrored by a reversing entry; the year is open again


class JournalKind(Vocabulary):
    ALLOCATION = "allocation"  # a run's posting
    REVERSAL = "reversal"  # the entry mirroring a posting


ClassNote = Literal["no-surplus", "no-members", "all-below-threshold", "no-patronage"]


@dataclass(frozen=True, slots=True)
class Policy:
    """The bylaws' waterfall, as plain numbers (basis points; thresholds per member class)."""

    reserve_bp: int
    reserve_cap_bp_of_share_capital: int
    education_bp: int
    welfare_bp: int
    class_split_bp: Mapping[str, int]
    min_cash_bp: int
    min_patronage: Mapping[str, int]  # per member class, in that class's patronage unit
    redemption_years: int


@dataclass(frozen=True, slots=True)
class Patronage:
    """One member's patronage total for the year, in their class's unit (minor units, minutes)."""

    member_id: str
    member_class: str
    amount: int


@dataclass(frozen=True, slots=True)
class RunInput:
    fiscal_year: int
    currency: str
    net_surplus_minor: int  # zero or negative in a year without surplus
    reserve_balance_minor: int
    paid_in_share_capital_minor: int
    bylaws_version: int
    policy: Policy
    patronage: Sequence[Patronage]


@dataclass(frozen=True, slots=True)
class ClassAllocation:
    pool_minor: int  # the class's part of the distributable surplus
    patronage_total: int
    eligible_patronage: int
    members: int
    eligible_members: int
    note: ClassNote | None  # why nothing was allocated; None when the pool went to members


@dataclass(frozen=True, slots=True)
class MemberAllocation:
    member_id: str
    member_class: str
    patronage: int
    eligible: bool
    share_minor: int
    cash_minor: int
    retained_minor: int
    redemption_year: int


@dataclass(frozen=True, slots=True)
class Allocation:
    fiscal_year: int
    currency: str
    bylaws_version: int
    input_digest: str
    deficit: bool
    net_surplus_minor: int
    reserve_minor: int  # the change to the reserve fund, negative in a deficit
    education_minor: int
    welfare_minor: int
    distributable_minor: int  # what the classes share: pools of classes that allocated nothing too
    unallocated_to_reserve_minor: int
    uncovered_deficit_minor: int
    classes: dict[str, ClassAllocation]
    members: list[MemberAllocation]  # sorted by member id

    def to_json(self) -> dict[str, Any]:
        """The allocation as plain JSON types (dicts, lists, str, int, bool, None)."""
        head = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("classes", "members")
        }
        return {
            **head,
            "classes": {name: asdict(c) for name, c in self.classes.items()},
            "members": [
                {
                    "member_id": m.member_id,
                    "member_class": m.member_class,
                    "patronage": m.patronage,
                    "eligible": m.eligible,
                    "share_minor": m.share_minor,
                    "cash_minor": m.cash_minor,
                    "retained_minor": m.retained_minor,
                    "redemption_year": m.redemption_year,
                }
                for m in self.members
            ],
        }


def largest_remainder(total: int, weights: Sequence[int], tiebreak: Sequence[Any]) -> list[int]:
    """`total` split exactly in proportion to `weights` (Hamilton's largest-remainder method).

    Each part is the floor of its exact quota total·wᵢ/Σw, or that plus one: the units the floors
    leave go to the largest fractional remainders, equal remainders to the smaller `tiebreak`
    value (any mutually comparable keys, one per weight). All-zero weights take a zero total only.
    """
    if len(tiebreak) != len(weights):
        raise ValueError("one tie-break key per weight")
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("largest_remainder needs a total and weights that are not negative")
    return _apportion(total, weights, lambda tied: sorted(tied, key=tiebreak.__getitem__))


def _apportion(
    total: int, weights: Sequence[int], rank_ties: Callable[[list[int]], list[int]]
) -> list[int]:
    """Largest remainder; `rank_ties` orders the positions whose remainders tie at the cut."""
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot split a nonzero total by weights that are all zero")
        return [0] * len(weights)
    # Plain ints, not divmod pairs: a million surviving tuples would wake the cyclic GC.
    parts = [total * w // whole for w in weights]
    left = total - sum(parts)
    if left:
        remainders = [total * w % whole for w in weights]
        cut = sorted(remainders, reverse=True)[left - 1]
        above = [i for i, r in enumerate(remainders) if r > cut]
        tied = rank_ties([i for i, r in enumerate(remainders) if r == cut])
        for i in above + tied[: left - len(above)]:
            parts[i] += 1
    return parts


@dataclass(frozen=True, slots=True)
class _Columns:
    """The patronage sorted by member id, one list per field: fast to scan, light on the GC."""

    ids: list[str]
    classes: list[str]
    amounts: list[int]

    @classmethod
    def of(cls, patronage: Sequence[Patronage]) -> "_Columns":
        members = sorted(patronage, key=attrgetter("member_id"))
        return cls(
            ids=list(map(attrgetter("member_id"), members)),
            classes=list(map(attrgetter("member_class"), members)),
            amounts=list(map(attrgetter("amount"), members)),
        )


def input_digest(run: RunInput) -> str:
    """SHA-256 (hex) of the canonical JSON of every input; the order of `patronage` is immaterial.

    The canonical form is described in the module docstring.
    """
    return _digest(run, _Columns.of(run.patronage))


def allocate(run: RunInput) -> Allocation:
    """The year's allocation under the rules in the module docstring."""
    _check(run)
    members = _Columns.of(run.patronage)
    by_class = _group(members, run.policy)
    digest = _digest(run, members)
    s = run.net_surplus_minor
    if s <= 0:
        return _without_surplus(run, members, by_class, digest)
    policy = run.policy
    cap = run.paid_in_share_capital_minor * policy.reserve_cap_bp_of_share_capital // BP
    reserve = min(s * policy.reserve_bp // BP, max(0, cap - run.reserve_balance_minor))
    education = s * policy.education_bp // BP
    welfare = s * policy.welfare_bp // BP
    distributable = s - reserve - education - welfare
    names = sorted(policy.class_split_bp)
    pools = largest_remainder(distributable, [policy.class_split_bp[n] for n in names], names)
    shares = [0] * len(members.ids)
    classes = {
        name: _share_class(pool, members.amounts, by_class[name], _threshold(policy, name), shares)
        for name, pool in zip(names, pools, strict=True)
    }
    return Allocation(
        fiscal_year=run.fiscal_year,
        currency=run.currency,
        bylaws_version=run.bylaws_version,
        input_digest=digest,
        deficit=False,
        net_surplus_minor=s,
        reserve_minor=reserve,
        education_minor=education,
        welfare_minor=welfare,
        distributable_minor=distributable,
        unallocated_to_reserve_minor=sum(c.pool_minor for c in classes.values() if c.note),
        uncovered_deficit_minor=0,
        classes=classes,
        members=_member_lines(run, members, shares),
    )


def _threshold(policy: Policy, member_class: str) -> int:
    return policy.min_patronage.get(member_class, 0)


def _share_class(
    pool: int, amounts: list[int], indexes: list[int], threshold: int, shares: list[int]
) -> ClassAllocation:
    """Divides `pool` among the class's eligible members, writing their shares into `shares`.

    `amounts` and `shares` are by position in member-id order; `indexes` are the class's positions.
    """
    eligible = [i for i in indexes if amounts[i] >= threshold]
    weights = [amounts[i] for i in eligible]
    eligible_patronage = sum(weights)
    note: ClassNote | None = None
    if not indexes:
        note = "no-members"
    elif not eligible:
        note = "all-below-threshold"
    elif eligible_patronage == 0:
        note = "no-patronage"
    else:
        # Equal remainders: larger patronage first; `sorted` is stable and `eligible` is in
        # member-id order, so equal patronage keeps the smaller member id first.
        parts = _apportion(
            pool, weights, lambda tied: sorted(tied, key=weights.__getitem__, reverse=True)
        )
        for i, part in zip(eligible, parts, strict=True):
            shares[i] = part
    return ClassAllocation(
        pool_minor=pool,
        patronage_total=sum(map(amounts.__getitem__, indexes)),
        eligible_patronage=eligible_patronage,
        members=len(indexes),
        eligible_members=len(eligible),
        note=note,
    )


def _member_lines(run: RunInput, members: _Columns, shares: list[int]) -> list[MemberAllocation]:
    policy = run.policy
    thresholds = {name: _threshold(policy, name) for name in policy.class_split_bp}
    cash_bp = policy.min_cash_bp
    year = run.fiscal_year + policy.redemption_years
    lines = []
    for member_id, member_class, amount, share in zip(
        members.ids, members.classes, members.amounts, shares, strict=True
    ):
        cash = -(-share * cash_bp // BP)
        lines.append(
            MemberAllocation(
                member_id,
                member_class,
                amount,
                amount >= thresholds[member_class],
                share,
                cash,
                share - cash,
                year,
            )
        )
    return lines


def _without_surplus(
    run: RunInput, members: _Columns, by_class: dict[str, list[int]], digest: str
) -> Allocation:
    """Nothing to allocate; the reserve absorbs a deficit up to its balance; the rest is uncovered.

    Members are still listed (patronage, eligibility) with zero shares.
    """
    deficit = -run.net_surplus_minor
    absorbed = min(deficit, run.reserve_balance_minor)
    classes: dict[str, ClassAllocation] = {}
    for name in sorted(by_class):
        threshold = _threshold(run.policy, name)
        amounts = [members.amounts[i] for i in by_class[name]]
        eligible = [a for a in amounts if a >= threshold]
        classes[name] = ClassAllocation(
            0, sum(amounts), sum(eligible), len(amounts), len(eligible), "no-surplus"
        )
    return Allocation(
        fiscal_year=run.fiscal_year,
        currency=run.currency,
        bylaws_version=run.bylaws_version,
        input_digest=digest,
        deficit=deficit > 0,
        net_surplus_minor=run.net_surplus_minor,
        reserve_minor=-absorbed,
        education_minor=0,
        welfare_minor=0,
        distributable_minor=0,
        unallocated_to_reserve_minor=0,
        uncovered_deficit_minor=deficit - absorbed,
        classes=classes,
        members=_member_lines(run, members, [0] * len(members.ids)),
    )


def _check(run: RunInput) -> None:
    policy = run.policy
    basis_points = {
        "reserve_bp": policy.reserve_bp,
        "education_bp": policy.education_bp,
        "welfare_bp": policy.welfare_bp,
        "min_cash_bp": policy.min_cash_bp,
        **{f"class_split_bp[{k}]": v for k, v in policy.class_split_bp.items()},
    }
    for name, value in basis_points.items():
        if not 0 <= value <= BP:
            raise ValueError(f"{name} must be between 0 and {BP}, not {value}")
    if sum(policy.class_split_bp.values()) != BP:
        raise ValueError(f"class_split_bp must sum to {BP}")
    if policy.reserve_bp + policy.education_bp + policy.welfare_bp > BP:
        raise ValueError("the funds cannot take more than the whole surplus")
    unknown = set(policy.min_patronage) - set(policy.class_split_bp)
    if unknown:
        raise ValueError(f"min_patronage names unknown member classes: {sorted(unknown)}")
    negative = {
        "reserve_cap_bp_of_share_capital": policy.reserve_cap_bp_of_share_capital,
        "redemption_years": policy.redemption_years,
        "reserve_balance_minor": run.reserve_balance_minor,
        "paid_in_share_capital_minor": run.paid_in_share_capital_minor,
        **{f"min_patronage[{k}]": v for k, v in policy.min_patronage.items()},
    }
    for name, value in negative.items():
        if value < 0:
            raise ValueError(f"{name} cannot be negative")


def _group(members: _Columns, policy: Policy) -> dict[str, list[int]]:
    """Each class's positions in member-id order; refuses repeats and impossible patronage."""
    repeated = next((a for a, b in pairwise(members.ids) if a == b), None)
    if repeated is not None:
        raise ValueError(f"member {repeated} has more than one patronage total")
    negative = next((i for i, a in enumerate(members.amounts) if a < 0), None)
    if negative is not None:
        raise ValueError(f"member {members.ids[negative]} has negative patronage")
    unknown = set(members.classes) - set(policy.class_split_bp)
    if unknown:
        raise ValueError(f"member classes {sorted(unknown)} are not in class_split_bp")
    return {
        name: [i for i, c in enumerate(members.classes) if c == name]
        for name in policy.class_split_bp
    }


def _digest(run: RunInput, members: _Columns) -> str:
    policy = run.policy
    document = {
        "schema": DIGEST_SCHEMA,
        "fiscal_year": run.fiscal_year,
        "currency": run.currency,
        "net_surplus_minor": run.net_surplus_minor,
        "reserve_balance_minor": run.reserve_balance_minor,
        "paid_in_share_capital_minor": run.paid_in_share_capital_minor,
        "bylaws_version": run.bylaws_version,
        "policy": {
            "reserve_bp": policy.reserve_bp,
            "reserve_cap_bp_of_share_capital": policy.reserve_cap_bp_of_share_capital,
            "education_bp": policy.education_bp,
            "welfare_bp": policy.welfare_bp,
            "class_split_bp": dict(policy.class_split_bp),
            "min_cash_bp": policy.min_cash_bp,
            "min_patronage": dict(policy.min_patronage),
            "redemption_years": policy.redemption_years,
        },
        "patronage": [],
    }
    head, opening, tail = _canonical(document).partition('"patronage":[')
    sha = hashlib.sha256((head + opening).encode())
    for piece in _patronage_json(members):
        sha.update(piece.encode())
    sha.update(tail.encode())
    return sha.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _patronage_json(members: _Columns) -> Iterator[str]:
    """The items of the patronage list, comma-separated, a chunk at a time."""
    for start in range(0, len(members.ids), _DIGEST_CHUNK):
        end = start + _DIGEST_CHUNK
        rows = list(
            zip(
                members.ids[start:end],
                members.classes[start:end],
                members.amounts[start:end],
                strict=True,
            )
        )
        text = _canonical(rows)[1:-1]  # tuples are JSON arrays
        yield "," + text if start else text
