"""Governance's part of a person's ARCO rights: what they proposed, co-signed and wrote, and the
votes they took part in. Never what they voted: nothing links a ballot to its voter, so nobody,
they included, can look it up."""

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.governance.models import (
    Proposal,
    ProposalComment,
    ProposalCosigner,
    ProposalVoter,
)
from cooperative.kernel.arco import ERASED_NAME, exported, rows, rows_of


async def export_of(
    session: AsyncSession, account_id: uuid.UUID, member_id: uuid.UUID | None
) -> dict[str, Any]:
    proposed = select(col(Proposal.id)).where(col(Proposal.proposed_by) == account_id)
    cosigned = select(ProposalCosigner)
    comments = select(ProposalComment).where(col(ProposalComment.account_id) == account_id)
    rolls = select(ProposalVoter).where(col(ProposalVoter.account_id) == account_id)
    return {
        "proposed": [str(p) for p in await rows(session, proposed)],
        "cosigned": [
            exported(c)
            for c in await rows_of(session, cosigned, ProposalCosigner.member_id, member_id)
        ],
        "comments": [exported(c) for c in await rows(session, comments)],
        "rolls": [exported(v) for v in await rows(session, rolls)],
    }


async def erase_of(session: AsyncSession, account_id: uuid.UUID) -> list[str]:
    """The comments keep their place in a proposal's discussion, without author or text. That
    the person was on a vote's roll and took part stays: turnout must stay exact."""
    comments = await session.execute(
        update(ProposalComment)
        .where(col(ProposalComment.account_id) == account_id)
        .values(author=ERASED_NAME, body="(erased)")
    )
    return ["your comments on proposals"] if comments.rowcount else []  # type: ignore[attr-defined]
