"""Runs every benchmark in this folder and prints its figures."""

import asyncio

from bench import (
    auth,
    booking_load,
    consults,
    db_outage,
    fee_classes,
    slot_search,
    surplus,
    tallies,
)


def main() -> None:
    print("== sign-in and authenticated requests")
    asyncio.run(auth.run())
    print("\n== sliding-scale fee classes")
    fee_classes.run()
    print("\n== slot search, 500 practitioners x 14 days")
    slot_search.run()
    print("\n== booking under 64 concurrent clients (PostgreSQL)")
    booking_load.run()
    print("\n== booking through database restarts and stops (a PostgreSQL cluster of its own)")
    db_outage.run()
    print("\n== consults: signaling latency, peers connecting, CPU per relayed consult")
    consults.run()
    print("\n== governance tallies: 1,000,000 yes/no ballots; STV and IRV over 100,000 ranked")
    tallies.run()
    print("\n== surplus allocation for 1,000,000 members, beside PostgreSQL summing the patronage")
    surplus.run()


if __name__ == "__main__":
    main()
