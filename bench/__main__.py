"""Runs every benchmark in this folder and prints its figures."""

import asyncio

from bench import auth, booking_load, consults, fee_classes, slot_search, surplus, tallies


def main() -> None:
    print("== sign-in and authenticated requests")
    asyncio.run(auth.run())
    print("\n== sliding-scale fee classes")
    fee_classes.run()
    print("\n== slot search through tequio serve: 20 to 20,000 doctors, PostgreSQL and SQLite")
    slot_search.run()
    print("\n== booking under 64 concurrent clients (PostgreSQL)")
    booking_load.run()
    print("\n== consults: signaling latency, peers connecting, CPU per relayed consult")
    consults.run()
    print("\n== governance tallies: 1,000,000 yes/no ballots; STV and IRV over 100,000 ranked")
    tallies.run()
    print("\n== surplus allocation for 1,000,000 members, beside PostgreSQL summing the patronage")
    surplus.run()


if __name__ == "__main__":
    main()
