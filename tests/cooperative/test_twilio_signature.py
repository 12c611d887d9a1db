"""The status callback's signature, checked against the example in the provider's documentation
(a callback's URL with a query, five fields, the token 12345), so Tequio accepts what the real
provider signs and not only what the tests' fake signs; and what each status means."""

from cooperative.notifications.twilio import Status, signature, signed, status_of

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
