"""What messaging providers report back: the delivery receipts of SMS and WhatsApp."""

from fastapi import APIRouter, Request, Response

from app.db import SessionDep
from app.errors import problem_responses
from app.settings import Settings
from cooperative.notifications import twilio
from cooperative.notifications.errors import ReceiptNotSigned

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.post(
    "/receipts/twilio",
    summary="A delivery receipt from the SMS and WhatsApp provider",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, problems=(ReceiptNotSigned,)),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "maxLength": 1600}
                            for name in ("MessageSid", "MessageStatus", "ErrorCode", "ErrorMessage")
                        },
                    }
                }
            }
        }
    },
)
async def twilio_receipt(request: Request, session: SessionDep) -> Response:
    """The Twilio-style provider's status callback (register
    `{TEQUIO_PUBLIC_BASE_URL}/v1/notifications/receipts/twilio`; Tequio sends it with every
    message): form fields `MessageSid`, `MessageStatus`, `ErrorCode`, `ErrorMessage`, signed in
    `X-Twilio-Signature` with the account's auth token over this exact URL and the fields. An
    unsigned or badly signed call is refused (403) and changes nothing. `delivered` or `read`
    makes the message delivered (nothing else does); `failed` or `undelivered` records the
    provider's code and words, and a WhatsApp message goes by SMS instead; other statuses, and
    a message Tequio does not know, are acknowledged and change nothing."""
    settings: Settings = request.app.state.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise ReceiptNotSigned()
    form = await request.form()
    parameters = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    await twilio.receive(
        session,
        url=settings.twilio_status_callback,
        parameters=parameters,
        given_signature=request.headers.get("x-twilio-signature"),
        auth_token=token,
    )
    return Response(status_code=204)
