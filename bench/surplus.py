"""What allocating a year's surplus costs: `rules.allocate` over 1,000,000 members, beside the time
PostgreSQL takes merely to sum the same patronage rows.

The membership is a deterministic mix (seeded): 90% patients whose patronage is MXN centavos paid
(months of dues at a fee class's price plus a few consults, some below the MXN 100.00 threshold),
10% doctors whose patronage is consult minutes (threshold 60). The waterfall is the default
bylaws'; the surplus is MXN 25,000,000.00. Prints the allocation's time (time.perf_counter,
without tracing: sorting, the input digest, the waterfall, the member lines) and its peak Python
memory (tracemalloc, in a second, traced run; the inputs exist before it starts).

Then, if PostgreSQL answers on 127.0.0.1:5432 (user root, trust auth, database `test`), the same
rows are COPYed into a temporary table and two sums are timed, best of three: by member class (one
row per class back) and by member (1,000,000 rows back to Python, decoded by asyncpg). Without
PostgreSQL it says it was skipped. Nothing here asserts a time.
"""

import asyncio
import random
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from cooperative.bylaws.defaults import default_bylaws
from cooperative.surplus.rules import Allocation, Patronage, Policy, RunInput, allocate

MEMBERS = 1_000_000
DOCTOR_SHARE = 0.10
SEED = 20260601
FISCAL_YEAR = 2026
SURPLUS_MINOR = 2_500_000_000  # MXN 25,000,000.00
DOCTOR_MIN_MINUTES = 60
MONTHLY_DUES = (2_000, 5_000, 10_000, 15_000, 20_000)  # the default fee classes, MXN centavos
CONSULT_FEES = (3_000, 10_000, 20_000, 30_000, 40_000)
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "root", "database": "test"}
REPEATS = 3


def synthetic_patronage(count: int, seed: int) -> list[Patronage]:
    """`count` members' patronage totals, the same for the same seed."""
    rng = random.Random(seed)
    members: list[Patronage] = []
    for _ in range(count):
        member_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if rng.random() < DOCTOR_SHARE:
            members.append(Patronage(member_id, "doctor", rng.randint(0, 2_000) * 20))
        else:
            fee_class = rng.randrange(len(MONTHLY_DUES))
            paid = rng.randint(0, 12) * MONTHLY_DUES[fee_class]
            paid += rng.choice((0, 0, 1, 1, 2, 3, 5)) * CONSULT_FEES[fee_class]
            members.append(Patronage(member_id, "patient", paid))
    return members


def the_run(patronage: list[Patronage]) -> RunInput:
    waterfall = default_bylaws().surplus
    policy = Policy(
        reserve_bp=waterfall.reserve_bp,
        reserve_cap_bp_of_share_capital=waterfall.reserve_cap_bp_of_share_capital,
        education_bp=waterfall.education_bp,
        welfare_bp=waterfall.welfare_bp,
        class_split_bp=dict(waterfall.class_split_bp),
        min_cash_bp=waterfall.min_cash_bp,
        min_patronage={
            "patient": waterfall.min_patronage_minor["MXN"],
            "doctor": DOCTOR_MIN_MINUTES,
        },
        redemption_years=waterfall.redemption_years,
    )
    patients = sum(1 for p in patronage if p.member_class == "patient")
    return RunInput(
        fiscal_year=FISCAL_YEAR,
        currency="MXN",
        net_surplus_minor=SURPLUS_MINOR,
        reserve_balance_minor=20_000_000_000,
        # One share each: MXN 500.00 a patient, MXN 5,000.00 a doctor.
        paid_in_share_capital_minor=patients * 50_000 + (len(patronage) - patients) * 500_000,
        bylaws_version=1,
        policy=policy,
        patronage=patronage,
    )


def timed(run: RunInput) -> tuple[Allocation, float, int]:
    """The allocation, its seconds, and peak traced bytes (from a second run under tracemalloc)."""
    started = time.perf_counter()
    allocation = allocate(run)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    allocate(run)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return allocation, elapsed, peak


def report(allocation: Allocation, elapsed: float, peak: int) -> None:
    eligible = sum(c.eligible_members for c in allocation.classes.values())
    print(
        f"allocate(), {len(allocation.members):,} members ({eligible:,} eligible): "
        f"{elapsed:,.2f} s, peak {peak / 2**20:,.0f} MiB (tracemalloc)"
    )
    funds = (
        f"reserve {allocation.reserve_minor:,}, education {allocation.education_minor:,}, "
        f"welfare {allocation.welfare_minor:,}"
    )
    print(f"  {funds}, unallocated {allocation.unallocated_to_reserve_minor:,} (MXN centavos)")
    for name, split in allocation.classes.items():
        print(
            f"  {name}: pool {split.pool_minor:,} over {split.eligible_members:,} of "
            f"{split.members:,} members, patronage {split.eligible_patronage:,}"
        )
    cash = sum(m.cash_minor for m in allocation.members)
    retained = sum(m.retained_minor for m in allocation.members)
    print(f"  cash {cash:,}, retained {retained:,}; input digest {allocation.input_digest[:16]}…")


async def best_of(repeats: int, query: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await query()
        times.append(time.perf_counter() - started)
    return min(times)


async def postgres_sums(patronage: list[Patronage]) -> tuple[float, float, float] | None:
    """Seconds to COPY the rows, to sum them by class and by member; None without PostgreSQL."""
    try:
        connection = await asyncpg.connect(**POSTGRES, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        print(f"PostgreSQL sums skipped: no PostgreSQL on 127.0.0.1:5432 ({error})")
        return None
    try:
        await connection.execute(
            "CREATE TEMP TABLE t"
            " (member_id uuid, member_class text, fiscal_year int, amount bigint)"
        )
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "t",
            records=((p.member_id, p.member_class, FISCAL_YEAR, p.amount) for p in patronage),
            columns=("member_id", "member_class", "fiscal_year", "amount"),
        )
        copied = time.perf_counter() - started
        await connection.execute("ANALYZE t")
        by_class = await best_of(
            REPEATS,
            lambda: connection.fetch(
                "SELECT member_class, sum(amount) FROM t GROUP BY member_class"
            ),
        )
        by_member = await best_of(
            REPEATS,
            lambda: connection.fetch("SELECT member_id, sum(amount) FROM t GROUP BY member_id"),
        )
    finally:
        await connection.close()
    return copied, by_class, by_member


def run() -> None:
    patronage = synthetic_patronage(MEMBERS, SEED)
    allocation, elapsed, peak = timed(the_run(patronage))
    report(allocation, elapsed, peak)
    sums = asyncio.run(postgres_sums(patronage))
    if sums is None:
        return
    copied, by_class, by_member = sums
    print(f"PostgreSQL, the same {MEMBERS:,} rows (COPY {copied:,.2f} s), best of {REPEATS}:")
    print(
        f"  sum by member class: {by_class * 1000:,.0f} ms; "
        f"allocate() takes {elapsed / by_class:,.1f}× as long"
    )
    print(
        f"  sum by member (1,000,000 rows back): {by_member * 1000:,.0f} ms; "
        f"allocate() takes {elapsed / by_member:,.1f}× as long"
    )


if __name__ == "__main__":
    run()
