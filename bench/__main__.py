"""Runs every benchmark in this folder and prints its figures."""

from bench import (
    auth,
    booking_floor,
    consults,
    db_outage,
    fee_classes,
    http_load,
    outbox,
    ratelimits,
    slot_search,
    surplus,
    tallies,
)


def main() -> None:
    print("== sign-in: password hashes and token checks")
    auth.run()
    print("\n== rate limits: counting a request, in memory and on Redis")
    ratelimits.run()
    print("\n== GET /v1/me and booking under wrk, beside /healthz/live (PostgreSQL, 2 workers)")
    http_load.run()
    print(
        "\n== the floor of a booking on this stack: FastAPI, asyncpg, PostgreSQL and nothing else,"
        " beside /healthz/live"
    )
    booking_floor.run()
    print("\n== sliding-scale fee classes")
    fee_classes.run()
    print("\n== slot search through tequio serve: 20 to 20,000 doctors, PostgreSQL and SQLite")
    slot_search.run()
    print("\n== booking through database restarts and stops (a PostgreSQL cluster of its own)")
    db_outage.run()
    print("\n== consults: signaling latency, peers connecting, CPU per relayed consult")
    consults.run()
    print("\n== the outbox: messages dispatched per second, 1 and 2 dispatchers (PostgreSQL)")
    outbox.run()
    print("\n== governance tallies: 1,000,000 yes/no ballots; STV and IRV over 100,000 ranked")
    tallies.run()
    print("\n== surplus allocation for 1,000,000 members, beside PostgreSQL summing the patronage")
    surplus.run()


if __name__ == "__main__":
    main()
