"""What a thief learns from a copy of the database files: the raw bytes, read without the server.

SQLite: a write-ahead log (`-wal`) is a header and frames, each a page image with a 24-byte
header; a frame whose second field is not zero ends a transaction (it holds the database's size
after the commit). PostgreSQL: a relation file is 8 KiB pages, each with line pointers to the
row versions it holds (live or dead), every version headed by the id of the transaction that
wrote it (`xmin`); the WAL (`pg_wal`) is 8 KiB pages of records, each page with a header.

The attack these helpers replay is the issue's: a voter's roll entry and the ballot written in
the same transaction belong together, and the published list (`ballots.json`) tells what each
receipt hash voted.
"""

import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

WAL_HEADER = 32
FRAME_HEADER = 24
PG_PAGE = 8192
RECEIPT_HASH = re.compile(rb"[0-9a-f]{64}")


def read(path: Path) -> bytes:
    """A copy's bytes (or PostgreSQL's files). Never a live SQLite file of this process: closing
    a file descriptor drops every POSIX lock the process holds on that file, SQLite's too."""
    return path.read_bytes() if path.exists() else b""


def sqlite_transactions(wal: bytes) -> list[bytes]:
    """The page images each transaction in a WAL wrote, in the order they were written; frames
    left over from before the log last restarted are read too, as a thief would."""
    if len(wal) < WAL_HEADER:
        return []
    page_size = int.from_bytes(wal[8:12], "big")
    transactions: list[bytes] = []
    pages: list[bytes] = []
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(wal):
        header = wal[offset : offset + FRAME_HEADER]
        pages.append(wal[offset + FRAME_HEADER : offset + FRAME_HEADER + page_size])
        if int.from_bytes(header[4:8], "big"):
            transactions.append(b"".join(pages))
            pages = []
        offset += FRAME_HEADER + page_size
    return transactions


def sqlite_voted(proposal_id: uuid.UUID, member_id: uuid.UUID) -> re.Pattern[bytes]:
    """A `proposal_voter` record saying this member voted: a record header of six bytes (three
    32-character texts, the class, the integer 1) and then the ids as SQLite stores them."""
    return re.compile(
        rb"\x06\x4d\x4d\x4d[\x0f-\x7f]\x09" + proposal_id.hex.encode() + member_id.hex.encode(),
        re.DOTALL,
    )


def pair_by_transaction(
    transactions: Iterable[bytes], voted: dict[str, re.Pattern[bytes]], published: set[bytes]
) -> dict[str, bytes]:
    """The issue's attack on SQLite: in each transaction, the one voter newly marked as voted and
    the one published receipt hash that appears for the first time belong together."""
    seen_voters: set[str] = set()
    seen_hashes: set[bytes] = set()
    pairs: dict[str, bytes] = {}
    for pages in transactions:
        voters = {member for member, pattern in voted.items() if pattern.search(pages)}
        hashes = set(RECEIPT_HASH.findall(pages)) & published
        new_voters, new_hashes = voters - seen_voters, hashes - seen_hashes
        if len(new_voters) == 1 and len(new_hashes) == 1:
            pairs[new_voters.pop()] = new_hashes.pop()
        seen_voters |= voters
        seen_hashes |= hashes
    return pairs


def pg_row_versions(relation: bytes) -> Iterator[tuple[int, bytes]]:
    """(xmin, bytes) of every row version a heap file's line pointers still reach, live or
    dead: what `pg_filedump` or `pageinspect` would show a thief."""
    for start in range(0, len(relation) - PG_PAGE + 1, PG_PAGE):
        page = relation[start : start + PG_PAGE]
        lower = int.from_bytes(page[12:14], "little")
        for pointer in range(24, min(lower, PG_PAGE), 4):
            word = int.from_bytes(page[pointer : pointer + 4], "little")
            offset, flags, length = word & 0x7FFF, (word >> 15) & 3, word >> 17
            if flags in (1, 3) and length >= 24 and offset + length <= PG_PAGE:
                version = page[offset : offset + length]
                yield int.from_bytes(version[:4], "little"), version


def pair_by_xmin(
    voters: bytes, ballots: bytes, members: dict[str, uuid.UUID], published: set[bytes]
) -> dict[str, bytes]:
    """The issue's attack on PostgreSQL: a roll entry marked voted (its last byte, the boolean)
    and a ballot written by the same transaction belong together, where each is the only one."""
    voted_by: dict[int, set[str]] = {}
    for xmin, version in pg_row_versions(voters):
        for name, member_id in members.items():
            if member_id.bytes in version and version[-1] == 1:
                voted_by.setdefault(xmin, set()).add(name)
    hashes_by: dict[int, set[bytes]] = {}
    for xmin, version in pg_row_versions(ballots):
        found = set(RECEIPT_HASH.findall(version)) & published
        if found:
            hashes_by.setdefault(xmin, set()).update(found)
    pairs: dict[str, bytes] = {}
    for xmin, names in voted_by.items():
        hashes = hashes_by.get(xmin, set())
        if len(names) == 1 and len(hashes) == 1:
            pairs[next(iter(names))] = next(iter(hashes))
    return pairs


def pg_relation(data_directory: Path, file_path: str) -> bytes:
    """A relation's main fork: its first file and any 1 GiB continuations (`.1`, `.2`...)."""
    first = data_directory / file_path
    more = [p for p in first.parent.glob(first.name + ".*") if p.suffix[1:].isdigit()]
    return b"".join(read(p) for p in [first, *sorted(more, key=lambda p: int(p.suffix[1:]))])


def lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def pg_wal_between(
    wal_directory: Path, timeline: str, start: int, end: int, segment_size: int
) -> bytes:
    """The WAL's record bytes from `start` to `end` (two LSNs), with page headers taken out so
    that no record is cut where it crosses a page."""
    per_id = 2**32 // segment_size
    out: list[bytes] = []
    for segment in range(start // segment_size, end // segment_size + 1):
        name = f"{timeline}{segment // per_id:08X}{segment % per_id:08X}"
        data = read(wal_directory / name)
        base = segment * segment_size
        low, high = max(start - base, 0), min(end - base, len(data))
        for page in range(low - low % PG_PAGE, high, PG_PAGE):
            header = 40 if page == 0 else 24
            out.append(data[max(page + header, low) : min(page + PG_PAGE, high)])
    return b"".join(out)
