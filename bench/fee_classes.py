"""What computing sliding-scale fee classes costs: `assess()` over a million synthetic households.

The households are a deterministic mix (seeded) of Mexican ones (urban and rural, monthly income)
and US ones (48 states + DC, Alaska, Hawaii, annual or monthly income), sizes 1 to 10, with some
lacking an attestation or holding an expired one. Prints the total time, households assessed per
second, the classes they fell into, and peak memory two ways: tracemalloc's peak over a
100,000-household sample (Python allocations only), and the process's peak resident set size
(ru_maxrss) after the full run. Nothing here asserts a time.
"""

import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import date, timedelta

from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.schema import UsRegion
from cooperative.dues.rules import Area, HouseholdIncome, assess

HOUSEHOLDS = 1_000_000
SAMPLE = 100_000
SEED = 20260601
ON = date(2026, 6, 1)

Attested = tuple[HouseholdIncome | None, date | None]
AREAS: tuple[Area, Area] = ("rural", "urban")
REGIONS: tuple[UsRegion, ...] = ("48", "AK", "HI")


def synthetic_households(count: int, seed: int) -> list[Attested]:
    """`count` households with their attestation's expiry, the same for the same seed."""
    rng = random.Random(seed)
    households: list[Attested] = []
    for _ in range(count):
        size = min(rng.choice((1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8)) + rng.choice((0, 0, 0, 2)), 10)
        if rng.random() < 0.6:
            area = AREAS[0] if rng.random() < 0.4 else AREAS[1]
            monthly_per_person = rng.randint(0, 1_500_000)  # MXN 0 – 15,000 a person a month
            income = HouseholdIncome("MX", size, monthly_per_person * size, "monthly", area=area)
        else:
            region = rng.choices(REGIONS, weights=(90, 5, 5))[0]
            annual = rng.randint(0, 15_000_000)  # USD 0 – 150,000 a year
            if rng.random() < 0.3:
                income = HouseholdIncome("US", size, annual // 12, "monthly", us_region=region)
            else:
                income = HouseholdIncome("US", size, annual, "annual", us_region=region)
        roll = rng.random()
        if roll < 0.05:
            households.append((None, None))  # never attested
        elif roll < 0.10:
            households.append((income, ON - timedelta(days=rng.randint(0, 365))))  # expired
        else:
            households.append((income, ON + timedelta(days=rng.randint(1, 365))))
    return households


def assess_all(households: list[Attested]) -> Counter[str]:
    bylaws = default_bylaws()
    scale, lines = bylaws.sliding_scale, bylaws.poverty_lines
    classes: Counter[str] = Counter()
    for income, expires_on in households:
        assessment = assess(income, expires_on=expires_on, scale=scale, lines=lines, on=ON)
        classes[f"{assessment.fee_class.code} ({assessment.basis})"] += 1
    return classes


def _max_rss_mib() -> float:
    """Peak resident set size of this process so far (KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run() -> None:
    default_bylaws()
    rss_before = _max_rss_mib()

    started = time.perf_counter()
    households = synthetic_households(HOUSEHOLDS, SEED)
    generated = time.perf_counter()
    classes = assess_all(households)
    finished = time.perf_counter()
    rss_after = _max_rss_mib()
    del households

    assess_seconds = finished - generated
    print(f"fee classes for {HOUSEHOLDS:,} synthetic households (seed {SEED}, on {ON})")
    print(f"  generate households:          {generated - started:7.2f} s")
    print(f"  assess (fee class):           {assess_seconds:7.2f} s")
    print(f"  total time:                   {finished - started:7.2f} s")
    print(
        f"  households per second:        {HOUSEHOLDS / assess_seconds:,.0f} "
        f"({assess_seconds / HOUSEHOLDS * 1e6:.2f} µs each, assessment only)"
    )
    print("  classes:")
    for label, count in sorted(classes.items()):
        print(f"    {label:<16} {count:>9,} ({count / HOUSEHOLDS:6.2%})")
    print(f"  peak RSS, ru_maxrss before:   {rss_before:7.1f} MiB (interpreter + imports)")
    print(f"  peak RSS, ru_maxrss full run: {rss_after:7.1f} MiB")

    tracemalloc.start()
    sample = synthetic_households(SAMPLE, SEED)
    assess_all(sample)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  tracemalloc peak, {SAMPLE:,} sample: {traced_peak / 2**20:7.1f} MiB "
        f"({traced_peak / SAMPLE:.0f} bytes a household, generate + assess)"
    )


if __name__ == "__main__":
    run()
