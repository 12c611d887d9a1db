"""What counting costs: 1,000,000 yes/no ballots as published (through `rules.tally`, what the
API and a recount run), then Scottish STV (3 seats) and instant runoff, each over 100,000
synthetic ballots ranking up to 10 candidates.

The ballots are a deterministic mix (seeded): a few popular candidates and a long tail, rankings
of every length from 1 to 10 (short ones commonest), supporters of a "slate" tending to rank its
other members next, and a sprinkling of write-in ids and repeated marks the count must ignore.
Prints the time of each count (time.perf_counter, without tracing) and its peak Python memory
(tracemalloc, in a second, traced run), with the distinct rankings the count works over. Nothing
here asserts a time.
"""

import random
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, TypeVar

from cooperative.governance import rules
from cooperative.governance.elections import RaceResult, instant_runoff, scottish_stv

T = TypeVar("T")
YES_NO_BALLOTS = 1_000_000

BALLOTS = 100_000
SEATS = 3
SEED = 20260601
CANDIDATES = [
    "ana",
    "beto",
    "carla",
    "dario",
    "eva",
    "fer",
    "gabo",
    "hilda",
    "ines",
    "jose",
]
POPULARITY = (30, 22, 14, 9, 7, 6, 4, 3, 3, 2)
SLATES = (("ana", "dario", "gabo"), ("beto", "eva", "hilda"), ("carla", "fer"))
LENGTHS = (22, 18, 14, 11, 9, 7, 6, 5, 4, 4)


def synthetic_ballots(count: int, seed: int) -> list[list[str]]:
    """`count` ranked ballots, the same for the same seed."""
    rng = random.Random(seed)
    slate_of = {c: slate for slate in SLATES for c in slate}
    ballots: list[list[str]] = []
    for _ in range(count):
        # Weighted order without replacement: each candidate's key is u ** (1 / weight).
        order = sorted(
            CANDIDATES,
            key=lambda c: rng.random() ** (1 / POPULARITY[CANDIDATES.index(c)]),
            reverse=True,
        )
        first = order[0]
        if first in slate_of and rng.random() < 0.6:
            mates = [c for c in slate_of[first] if c != first]
            order = [first, *mates, *(c for c in order[1:] if c not in mates)]
        ranking = order[: rng.choices(range(1, 11), weights=LENGTHS)[0]]
        roll = rng.random()
        if roll < 0.01:
            ranking.insert(rng.randrange(len(ranking) + 1), "write-in")
        elif roll < 0.02:
            ranking.append(ranking[0])
        ballots.append(ranking)
    return ballots


def timed(count: Callable[[], T]) -> tuple[T, float, int]:
    """The result, seconds taken, and peak traced bytes (from a second run under tracemalloc)."""
    started = time.perf_counter()
    result = count()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    count()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, peak


def report(label: str, result: RaceResult, elapsed: float, peak: int) -> None:
    print(f"{label}: {elapsed * 1000:,.0f} ms, peak {peak / 2**20:.1f} MiB (tracemalloc)")
    quota = f", quota {result.quota}" if result.quota else ""
    print(f"  {result.valid_ballots:,} valid ballots{quota}, {len(result.rounds)} stages")
    print(f"  elected: {', '.join(result.elected)}; lots drawn: {len(result.tie_breaks)}")


def published_yes_no(count: int, seed: int) -> dict[str, Any]:
    """A published ballot list of `count` yes/no/abstain ballots from two member classes."""
    rng = random.Random(seed)
    choices = rng.choices(("yes", "no", "abstain"), weights=(55, 40, 5), k=count)
    classes = rng.choices(("patient", "doctor"), weights=(9, 1), k=count)
    return {
        "proposal": {
            "id": "bench",
            "kind": "bylaw_amendment",
            "rule": {
                "method": "majority",
                "threshold_numerator": 2,
                "threshold_denominator": 3,
                "strictly_greater": False,
                "majority_in_each_class": True,
                "quorum_bp": 2000,
                "quorum_in_each_class": True,
            },
            "eligible": {"patient": count * 2, "doctor": count // 4},
        },
        "ballots": [
            {"receipt_hash": f"{i:064x}", "member_class": c, "content": {"vote": v}}
            for i, (c, v) in enumerate(zip(classes, choices, strict=True))
        ],
    }


def run() -> None:
    published = published_yes_no(YES_NO_BALLOTS, SEED)
    outcome, elapsed, peak = timed(lambda: rules.tally(published))
    print(
        f"{YES_NO_BALLOTS:,} yes/no ballots (2/3 and a majority in each class): "
        f"{elapsed * 1000:,.0f} ms, peak {peak / 1024:,.0f} KiB (tracemalloc; the count streams)"
    )
    total = outcome["majority"]["total"]
    print(f"  yes {total['yes']:,}, no {total['no']:,}, passed: {outcome['passed']}")
    ballots = synthetic_ballots(BALLOTS, SEED)
    distinct = len({tuple(b) for b in ballots})
    print(
        f"{BALLOTS:,} ranked ballots, {distinct:,} distinct rankings, {len(CANDIDATES)} candidates"
    )
    stv = timed(lambda: scottish_stv(ballots, CANDIDATES, SEATS, seed="bench"))
    report(f"Scottish STV, {SEATS} seats", *stv)
    irv = timed(lambda: instant_runoff(ballots, CANDIDATES, seed="bench"))
    report("Instant runoff, 1 seat", *irv)


if __name__ == "__main__":
    run()
