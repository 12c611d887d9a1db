"""Pages the API serves itself: the browser consult client, the reference client of the signaling
protocol in telehealth/consults/schemas.py (HTML, one script and one style sheet in app/static)."""

import hashlib
import re
import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CONSULT = Path(__file__).resolve().parents[1] / "static" / "consult"
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")


def _versioned(html: str) -> str:
    """Asset links carry a digest of their content, so a phone never runs an old script with a
    new page (static files are served without a Cache-Control of their own)."""
    for name in ("consult.js", "consult.css"):
        digest = hashlib.sha256((CONSULT / name).read_bytes()).hexdigest()[:12]
        html = html.replace(f"/static/consult/{name}", f"/static/consult/{name}?v={digest}")
    return html


PAGE = _versioned((CONSULT / "index.html").read_text(encoding="utf-8"))


def content_security_policy(host: str | None) -> str:
    """Everything from this server only. CSP Level 3 browsers let `'self'` cover ws: and wss: to
    the same host; the explicit socket sources are for older ones (checked Host only)."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self'{sockets}",
            "media-src 'self' blob: mediastream:",
            "img-src 'self' data:",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@router.get("/consult/{appointment_id}", response_class=HTMLResponse)
async def consult_page(request: Request, appointment_id: uuid.UUID) -> HTMLResponse:
    """The video consult page: sign in (or `#access_token=…`), the pre-call check, the waiting
    room, peer-to-peer or relayed video, chat and recording consent, in English or Spanish."""
    return HTMLResponse(
        PAGE,
        headers={
            "Content-Security-Policy": content_security_policy(request.headers.get("host")),
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
        },
    )
