"""The `?reason=` an admin gives to read a patient's clinical data (a note, an encounter, a
prescription, an attachment): one parameter, described once, for every such read. The domain
decides with `cooperative.audit.service.admin_reason` and keeps the reason in the patient's
access log."""

from typing import Annotated

from fastapi import Query

ReasonParam = Annotated[
    str | None,
    Query(
        min_length=3,
        max_length=500,
        description="An admin's reason to read a patient's record; kept in the patient's "
        "access log. Without one, an admin is answered as anyone else (404).",
    ),
]
