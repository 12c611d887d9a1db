"""What crosses the API about attachments (the upload itself is a multipart form: see the
router)."""

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from cooperative.kernel.moments import Moment
from telehealth.attachments.rules import Kind

UploaderRole = Literal["patient", "guardian", "doctor", "clinic"]


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    appointment_id: uuid.UUID | None = Field(
        description="The consult it belongs to (null for a referral's)."
    )
    referral_id: uuid.UUID | None = Field(
        description="The referral it belongs to (null for a consult's)."
    )
    kind: Kind
    title: str | None
    file_name: str = Field(description="As uploaded, with the extension of what it really is.")
    media_type: str = Field(description="Read from the file's contents, never from its name.")
    size_bytes: int
    sha256: str = Field(description="Of the stored bytes (a photo without its metadata).")
    uploader_role: UploaderRole = Field(
        description="Who added it, by their part in the consult or referral."
    )
    uploaded_by_you: bool
    created_at: Moment
    withdrawable_until: Moment | None = Field(
        description="Until when you may withdraw it (you uploaded it); null otherwise."
    )


class AttachmentLink(BaseModel):
    url: str = Field(
        description="Opens the file without a token until `expires_at`; give it to no one."
    )
    expires_at: Moment
