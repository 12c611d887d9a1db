"""Runs every benchmark in this folder and prints its figures."""

import asyncio

from bench import auth


def main() -> None:
    asyncio.run(auth.run())


if __name__ == "__main__":
    main()
