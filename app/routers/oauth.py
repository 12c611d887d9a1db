"""The OAuth2 authorization endpoint: an app sends the member here; they sign in, see in plain
words what the app asks, allow some or all of it, and go back to the app with a code (RFC 6749
§4.1, PKCE S256 required, RFC 7636). The code is exchanged at `POST /v1/auth/token`."""

import html
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pwdlib import PasswordHash

from app.db import SessionDep
from app.fhir import scopes as smart
from app.i18n import negotiate
from app.routers.pages import content_security_policy
from app.settings import Settings
from cooperative.accounts import rules as account_rules
from cooperative.accounts import service as accounts_service
from cooperative.apps import rules
from cooperative.apps import service as apps
from cooperative.apps.consent import PAGE_WORDS, SCOPE_WORDS
from cooperative.kernel.errors import Language, TequioError
from cooperative.kernel.principal import scopes_for

router = APIRouter(include_in_schema=False)

PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


class _Redirect(Exception):
    """Refused, and the redirect URI is the app's: the app hears why (RFC 6749 §4.1.2.1)."""

    def __init__(self, uri: str, error: str, state: str | None, description: str) -> None:
        self.location = rules.with_params(
            uri, {"error": error, "error_description": description, "state": state}
        )


class _Stay(Exception):
    """Refused, and the app cannot be trusted with the answer: a page here says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _language(request: Request, params: Mapping[str, Any]) -> Language:
    asked = str(params.get("lang") or "")
    if asked in ("es", "en"):
        return "es" if asked == "es" else "en"
    settings: Settings = request.app.state.settings
    return negotiate(request.headers.get("accept-language"), settings.default_language)


def _headers(redirect_uri: str | None, request: Request) -> dict[str, str]:
    policy = content_security_policy(request.headers.get("host"))
    if redirect_uri:  # the form's answer redirects there: Chromium checks form-action on it
        origin = rules.redirect_origin(redirect_uri)
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


async def _checked(session: SessionDep, params: Mapping[str, Any]) -> apps.CodeRequest:
    """The request, checked in the order RFC 6749 asks: the app and its redirect URI first
    (else nothing may go back to the app), then what may go back as an error."""
    client = await apps.usable(session, params.get("client_id"))
    if client is None:
        raise _Stay("bad_client")
    uri = str(params.get("redirect_uri") or "")
    if uri not in client.redirect_uris:
        raise _Stay("bad_redirect")
    state = params.get("state") or None
    if params.get("response_type") != "code":
        raise _Redirect(uri, "unsupported_response_type", state, "response_type must be code")
    challenge = str(params.get("code_challenge") or "")
    if params.get("code_challenge_method") != "S256" or not rules.valid_challenge(challenge):
        raise _Redirect(uri, "invalid_request", state, "PKCE with code_challenge_method=S256")
    asked = _as_tequio_scopes(rules.split_scopes(params.get("scope")))
    if asked is None:
        raise _Redirect(uri, "invalid_scope", state, "a SMART scope Tequio does not grant")
    asked = asked or sorted(client.scopes)
    if not set(asked) <= set(client.scopes):
        raise _Redirect(uri, "invalid_scope", state, "scope beyond what the app registered")
    return apps.CodeRequest(client, uri, challenge, asked, state)


def _as_tequio_scopes(asked: list[str]) -> list[str] | None:
    """A SMART app's scopes (`patient/Appointment.rs`, `user/*.rs`) stand for the Tequio
    scopes that read those resources (`app.fhir.scopes`); Tequio's own pass as they are. The
    member consents to, and the token carries, the Tequio scopes (its `scope` says which).
    None when a SMART scope stands for nothing Tequio grants (a write, an unknown resource)."""
    found: set[str] = set()
    for scope in asked:
        if "/" not in scope:
            found.add(scope)
            continue
        mapped = smart.tequio_scopes([scope])
        if not mapped:
            return None
        found |= {str(each) for each in mapped}
    return sorted(found)


def _page(
    request: apps.CodeRequest, language: Language, params: Mapping[str, Any], error: str = ""
) -> str:
    word = {
        key: text.render(language, {"app": request.client.name, "contact": request.client.contact})
        for key, text in PAGE_WORDS.items()
    }
    e = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{e(str(params.get(name) or ""))}">'
        for name in PARAMS
    )
    scopes = "".join(
        f'<label class="scope"><input type="checkbox" name="grant" value="{e(s)}" checked>'
        f"<span>{e(SCOPE_WORDS[s].render(language))}</span></label>"
        for s in request.scopes
        if s in SCOPE_WORDS
    )
    other = "en" if language == "es" else "es"
    query = e(urlencode({n: params[n] for n in PARAMS if params.get(n)} | {"lang": other}))
    problem = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(word["title"])}</title><link rel="stylesheet" href="/static/oauth/authorize.css">
</head><body><main><h1>{e(word["title"])}</h1>
<form method="post" action="/oauth/authorize?lang={language}">{hidden}
<fieldset><legend>{e(word["wants"])}</legend>{scopes}</fieldset>
<p class="who">{e(word["fewer"])} {e(word["contact"])}</p>{problem}
<fieldset><legend>{e(word["sign_in"])}</legend>
<label class="field">{e(word["username"])}<input name="username" autocomplete="username"
 inputmode="email"></label>
<label class="field">{e(word["password"])}<input name="password" type="password"
 autocomplete="current-password"></label></fieldset>
<div class="buttons"><button class="deny" name="decision" value="deny" formnovalidate>
{e(word["deny"])}</button><button class="allow" name="decision" value="allow">
{e(word["allow"])}</button></div></form>
<p class="lang"><a href="/oauth/authorize?{query}">{e(word["other_language"])}</a></p>
</main></body></html>"""


def _stay_page(reason: str, language: Language) -> str:
    title = PAGE_WORDS["error_title"].render(language)
    detail = PAGE_WORDS[reason].render(language)
    return f"""<!doctype html><html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="/static/oauth/authorize.css"></head><body><main>
<h1>{html.escape(title)}</h1><p class="error" role="alert">{html.escape(detail)}</p>
</main></body></html>"""


async def _answer(
    request: Request, session: SessionDep, params: Mapping[str, Any], work: Any
) -> Response:
    language = _language(request, params)
    try:
        checked = await _checked(session, params)
        answer: Response = await work(checked, language)
        return answer
    except _Stay as stay:
        return HTMLResponse(
            _stay_page(stay.reason, language), status_code=400, headers=_headers(None, request)
        )
    except _Redirect as redirect:
        return RedirectResponse(redirect.location, status_code=303)


@router.get("/oauth/authorize", response_class=HTMLResponse)
async def authorize(request: Request, session: SessionDep) -> Response:
    """The consent page, in the member's language (`Accept-Language` or `?lang=es|en`)."""
    params = dict(request.query_params)

    async def show(checked: apps.CodeRequest, language: Language) -> Response:
        return HTMLResponse(
            _page(checked, language, params), headers=_headers(checked.redirect_uri, request)
        )

    return await _answer(request, session, params, show)


async def _signed_in(
    request: Request, session: SessionDep, username: str, password: str
) -> accounts_service.Account:
    """The member whose credentials these are, throttled like `POST /v1/auth/token`."""
    settings: Settings = request.app.state.settings
    hasher: PasswordHash = request.app.state.password_hasher
    address = request.client.host if request.client else "unknown"
    identifier = account_rules.canonical_identifier(username)
    attempt = await accounts_service.begin_attempt(
        session, username, settings.login_throttles(identifier, address)
    )
    await session.commit()
    valid, new_hash = await accounts_service.check_password(attempt, password, hasher=hasher)
    return await accounts_service.finish_attempt(session, attempt, valid=valid, new_hash=new_hash)


@router.post("/oauth/authorize", response_class=HTMLResponse)
async def decide(request: Request, session: SessionDep) -> Response:
    """Allow (with the member's credentials and the scopes left ticked) or deny."""
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)} | {
        "lang": request.query_params.get("lang")
    }
    grants = {str(v) for v in form.getlist("grant")}

    async def act(checked: apps.CodeRequest, language: Language) -> Response:
        if params.get("decision") != "allow":
            raise _Redirect(checked.redirect_uri, "access_denied", checked.state, "denied")
        try:
            account = await _signed_in(
                request, session, params.get("username") or "", params.get("password") or ""
            )
        except TequioError as refused:
            page = _page(checked, language, params, refused.detail_in(language))
            return HTMLResponse(
                page, status_code=refused.status, headers=_headers(checked.redirect_uri, request)
            )
        granted = grants & set(checked.scopes) & scopes_for(account.roles)
        if not granted:
            raise _Redirect(checked.redirect_uri, "access_denied", checked.state, "nothing allowed")
        settings: Settings = request.app.state.settings
        code = await apps.issue_code(
            session,
            checked,
            account.id,
            sorted(granted),
            ttl=timedelta(seconds=settings.oauth_code_seconds),
        )
        location = rules.with_params(checked.redirect_uri, {"code": code, "state": checked.state})
        return RedirectResponse(location, status_code=303)

    return await _answer(request, session, params, act)
