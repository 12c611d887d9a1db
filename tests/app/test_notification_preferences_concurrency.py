"""Two first choices of one member's notification preferences at once (her phone and her
laptop), each in its own transaction on PostgreSQL, where they truly overlap."""

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest

from app.db import create_sessionmaker
from cooperative.accounts import service as accounts_service
from cooperative.notifications import preferences
from cooperative.notifications.schemas import PreferencesUpdate
from tests.app.test_notification_preferences import PREFS
from tests.conftest import Database
from tests.factories import bearer, signed_up, unique_phone

pytestmark = pytest.mark.postgresql_only


async def test_two_first_choices_at_once_are_kept_one_after_the_other(
    live_client_with: Callable[..., httpx.AsyncClient], database: Database
) -> None:
    """The second waits for the first and is then kept over it: no 500 from two rows for
    one member."""
    client = live_client_with()
    account, rosa = await signed_up(client, phone=unique_phone(), email="rosa.dos@example.org")
    sessions = create_sessionmaker(database.engine)
    phone = PreferencesUpdate.model_validate({"channels": ["sms"], "language": "es"})
    laptop = PreferencesUpdate.model_validate({"channels": ["email", "sms"], "language": "en"})
    async with sessions() as first, sessions() as second:
        mine = uuid.UUID(account["id"])
        her_first = await accounts_service.get(first, mine)
        her_second = await accounts_service.get(second, mine)
        assert her_first is not None and her_second is not None
        await preferences.replace(first, her_first, phone)  # her row written, not committed
        waiting = asyncio.create_task(preferences.replace(second, her_second, laptop))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the second waits for the first's row
        await first.commit()
        await waiting
        await second.commit()
    kept = (await client.get(PREFS, headers=bearer(rosa))).json()
    assert (kept["channels"], kept["language"]) == (["email", "sms"], "en")
