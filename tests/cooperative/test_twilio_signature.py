"""The Twilio-style provider's pure parts: the status callback's signature, checked against the
example in the provider's documentation (a callback's URL with a query, five fields, the token
12345), so Tequio accepts what the real provider signs and not only what the tests' fake signs;
what each status means; the form a WhatsApp template goes as."""

import uuid

from cooperative.notifications.providers import Outgoing
from cooperative.notifications.twilio import (
    Status,
    TwilioConfig,
    TwilioProvider,
    signature,
    signed,
    status_of,
)

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FIELDS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCUMENTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_documented_example_is_signed_alike_and_nothing_else_passes() -> None:
    assert signature(URL, FIELDS.items(), "12345") == DOCUMENTED
    assert signed(URL, list(reversed(FIELDS.items())), "12345", DOCUMENTED)  # any order
    assert not signed(URL, FIELDS.items(), "54321", DOCUMENTED)  # another token
    assert not signed(URL.replace("foo=1", "foo=2"), FIELDS.items(), "12345", DOCUMENTED)
    assert not signed(URL, {**FIELDS, "Digits": "1235"}.items(), "12345", DOCUMENTED)
    assert not signed(URL, FIELDS.items(), "12345", None)
    assert not signed(URL, FIELDS.items(), "", signature(URL, FIELDS.items(), ""))  # no token


def test_only_delivered_and_read_are_receipts() -> None:
    assert {s: status_of(s) for s in ("delivered", "read", "failed", "undelivered")} == {
        "delivered": Status.DELIVERED,
        "read": Status.DELIVERED,
        "failed": Status.FAILED,
        "undelivered": Status.FAILED,
    }
    for pending in ("queued", "accepted", "sending", "sent", "scheduled", None, "bogus"):
        assert status_of(pending) is Status.PENDING


def test_whatsapp_goes_as_its_kinds_approved_template_when_one_is_set() -> None:
    provider = TwilioProvider(
        TwilioConfig(
            account_sid="AC1",
            auth_token="t",
            status_callback="https://tequio.coop/v1/notifications/receipts/twilio",
            whatsapp_from="+525500000002",
            whatsapp_content_sids={"consult.reminder": "HX1"},
        )
    )
    assert provider.channels == {"whatsapp"}

    def message(template: str) -> Outgoing:
        return Outgoing(uuid.uuid4(), "k", "whatsapp", "+529511234567", "", "Hola", "", template)

    assert provider.form(message("consult.reminder")) == {
        "To": "whatsapp:+529511234567",
        "From": "whatsapp:+525500000002",
        "ContentSid": "HX1",
        "ContentVariables": '{"1": "Hola"}',
        "StatusCallback": "https://tequio.coop/v1/notifications/receipts/twilio",
    }
    assert provider.form(message("consult.booked"))["Body"] == "Hola"  # no template: plain text
