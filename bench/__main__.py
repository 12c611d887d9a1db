"""Runs every benchmark in this folder and prints its figures."""

import asyncio

from bench import auth, fee_classes


def main() -> None:
    print("== sign-in and authenticated requests")
    asyncio.run(auth.run())
    print("\n== sliding-scale fee classes")
    fee_classes.run()


if __name__ == "__main__":
    main()
