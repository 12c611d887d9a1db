"""Pure rules of the clinical record: the shipped code list and consent texts, the canonical
form and digest a signature covers, what a note needs before it is signed, the encounter read
from the room's events, and how long NOM-004 keeps a record."""

import csv
import hashlib
import io
import json
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from typing import Any

RETENTION_YEARS = 5  # NOM-004-SSA3-2012, 5.4: at least five years from the last act


@cache
def cie10() -> dict[str, str]:
    """The CIE-10 codes a note may carry, with their Spanish descriptions (data/cie10.tsv)."""
    text = files("telehealth.records").joinpath("data/cie10.tsv").read_text("utf-8")
    return {
        row["code"]: row["description"] for row in csv.DictReader(io.StringIO(text), delimiter="\t")
    }


def search_codes(query: str) -> list[tuple[str, str]]:
    """Codes whose code starts with, or whose description contains, every word of `query`
    (accents and case ignored)."""
    words = [_folded(w) for w in query.split()]
    return [
        (code, description)
        for code, description in sorted(cie10().items())
        if all(_folded(code).startswith(w) or w in _folded(description) for w in words)
    ]


def _folded(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )


@cache
def consent_texts() -> dict[int, dict[str, str]]:
    """The versions of the consent to be seen remotely: version → {"es": …, "en": …}."""
    data = json.loads(files("telehealth.records").joinpath("data/consent.json").read_text("utf-8"))
    return {v["version"]: {"es": v["es"], "en": v["en"]} for v in data["versions"]}


def current_consent_version() -> int:
    return max(consent_texts())


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the fields as JSON with sorted keys, no spaces, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def missing_for_signing(content: Mapping[str, Any], summary: Mapping[str, Any]) -> list[str]:
    """What a note lacks to be signed: a reason, a diagnosis, a plan, and a summary for the
    patient saying what was found and what to do."""
    missing = []
    if not content["subjective"]["reason"].strip():
        missing.append("content.subjective.reason")
    if not content["assessment"]["diagnoses"] and not content["assessment"]["impression"].strip():
        missing.append("content.assessment")
    plan = content["plan"]
    if not (plan["treatment"].strip() or plan["indications"].strip()):
        missing.append("content.plan")
    for part in ("found", "to_do"):
        if not summary[part].strip():
            missing.append(f"summary.{part}")
    return missing


def kept_until(last_act: date) -> date:
    """The first day a record whose last act was `last_act` may be destroyed."""
    try:
        return last_act.replace(year=last_act.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return last_act.replace(year=last_act.year + RETENTION_YEARS, day=28)


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # joined, left, mode, media
    account_id: uuid.UUID | None = None
    value: str | None = None


@dataclass
class Encounter:
    stays: dict[uuid.UUID, list[tuple[datetime, datetime | None]]] = field(default_factory=dict)
    modalities: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)

    def seconds(self, account_id: uuid.UUID, now: datetime) -> int:
        return int(
            sum(((end or now) - start).total_seconds() for start, end in self.stays[account_id])
        )

    @property
    def modality(self) -> str | None:
        kinds = {kind for kind, _, _ in self.modalities}
        if not kinds:
            return None
        return kinds.pop() if len(kinds) == 1 else "switched"


def encounter(events: Iterable[Event]) -> Encounter:
    """Who was in the room when, and the modality while anyone was: `relayed` while the media
    went through the server, else `audio_only` while someone present was on audio only, else
    `video`. Consecutive stretches of one modality are one."""
    result = Encounter()
    present: set[uuid.UUID] = set()
    audio_only: set[uuid.UUID] = set()
    mode = "p2p"

    def now_modality() -> str | None:
        if len(present) < 2:  # one person alone in the room is no consult yet
            return None
        if mode == "relay":
            return "relayed"
        return "audio_only" if present & audio_only else "video"

    for event in sorted(events, key=lambda e: e.at):
        who = event.account_id
        if event.kind == "joined" and who is not None and who not in present:
            present.add(who)
            result.stays.setdefault(who, []).append((event.at, None))
        elif event.kind == "left" and who is not None and who in present:
            present.discard(who)
            start, _ = result.stays[who][-1]
            result.stays[who][-1] = (start, event.at)
        elif event.kind == "mode" and event.value in ("p2p", "relay"):
            mode = event.value
        elif event.kind == "media" and who is not None:
            (audio_only.add if event.value == "audio_only" else audio_only.discard)(who)
        _step(result.modalities, now_modality(), event.at)
    return result


def _step(
    modalities: list[tuple[str, datetime, datetime | None]], current: str | None, at: datetime
) -> None:
    last = modalities[-1] if modalities else None
    open_kind = last[0] if last is not None and last[2] is None else None
    if current == open_kind:
        return
    if last is not None and open_kind is not None:
        modalities[-1] = (last[0], last[1], at)
    if current is not None:
        modalities.append((current, at, None))
