"""Who is asking, and may they: sessions, API tokens, CSRF, the login page and its errors.

A request is authenticated by ``Authorization: Bearer <token>`` (integrations, gateways) or by the
``duress_session`` cookie (browsers). Cookie-authenticated requests that change state must carry the
session's CSRF token (``X-CSRF-Token`` header, or a ``csrf`` form field); token requests need none.
Routes declare what they need with :func:`require` (API, answers 401/403 problem+json) or
:func:`require_page` (HTML, sends the browser to ``/login``).
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from duress.domain.accounts import (
    AccountConflict,
    AccountError,
    Forbidden,
    Permission,
    Principal,
    Session,
    Throttled,
    Unauthenticated,
)
from duress.service.accounts import Accounts
from duress.web.problems import problem

SESSION_COOKIE = "duress_session"
CSRF_COOKIE = "duress_csrf"
"""Readable by the page's script, which sends it back as ``X-CSRF-Token``."""
LOGIN_CSRF_COOKIE = "duress_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 8192
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=True, tags=["accounts"])


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    secure: str = "auto"
    """``auto`` (https requests, or an https public URL), ``always`` or ``never``."""
    public_url: str | None = None

    def secure_for(self, request: Request) -> bool:
        if self.secure == "always":
            return True
        if self.secure == "never":
            return False
        return request.url.scheme == "https" or (self.public_url or "").startswith("https://")


class LoginRedirect(Exception):
    """A page needs a signed-in user (or a changed password): send the browser there."""

    def __init__(self, location: str) -> None:
        self.location = location


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    session: Session | None


def accounts_of(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def caller(request: Request) -> Caller:
    """The authenticated caller (cached on the request); Unauthenticated when there is none."""
    cached: Caller | None = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    accounts = accounts_of(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("send the API token as: Authorization: Bearer <token>")
        found = Caller(await accounts.token_principal(secret), None)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Unauthenticated(
                "sign in at /login, or send an API token: Authorization: Bearer <token>"
            )
        session, user = await accounts.session(cookie)
        found = Caller(accounts.user_principal(user), session)
    request.state.caller = found
    return found


async def check_csrf(request: Request, found: Caller, form_value: str | None = None) -> None:
    """Refuse a cookie-authenticated state change without the session's CSRF token."""
    if found.session is None or request.method in SAFE_METHODS:
        return
    sent = form_value if form_value is not None else request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), found.session.csrf.encode()):
        await accounts_of(request).denied(
            found.principal, method=request.method, path=request.url.path, reason="csrf"
        )
        raise Forbidden(
            f"missing or wrong CSRF token: send the {CSRF_HEADER} header with the value of the "
            f"{CSRF_COOKIE} cookie (or the csrf form field); reload the page if it is old"
        )


async def authorize(request: Request, permission: Permission) -> Principal:
    found = await caller(request)
    await check_csrf(request, found)
    principal = found.principal
    if principal.must_change_password:
        raise Forbidden("change your one-time password first, at /password")
    if not principal.can(permission):
        await accounts_of(request).denied(
            principal, method=request.method, path=request.url.path, reason=permission.value
        )
        what = f"role {principal.role.value}" if principal.role else "this token's scopes"
        if principal.token and principal.role:
            what = f"this token's scopes with role {principal.role.value}"
        raise Forbidden(f"{what} does not allow {permission.value}", permission=permission.value)
    return principal


def require(permission: Permission) -> Any:
    """A dependency: the caller, who must hold ``permission`` (401/403 problem+json otherwise)."""

    async def dependency(request: Request) -> Principal:
        return await authorize(request, permission)

    return Depends(dependency)


def require_page(permission: Permission) -> Any:
    """Like :func:`require` for HTML pages: an anonymous browser is sent to ``/login``."""

    async def dependency(request: Request) -> Principal:
        try:
            found = await caller(request)
        except Unauthenticated:
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            raise LoginRedirect(f"/login?next={quote(target, safe='')}") from None
        if found.principal.must_change_password:
            raise LoginRedirect("/password")
        return await authorize(request, permission)

    return Depends(dependency)


# --- errors ------------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """The handlers for account errors and the login redirect, and the login routes."""

    @app.exception_handler(AccountError)
    async def _account_error(_request: Request, error: AccountError) -> Response:
        headers: dict[str, str] = {}
        if isinstance(error, Unauthenticated):
            status, title = 401, "Not signed in"
            headers["WWW-Authenticate"] = 'Bearer realm="duress"'
        elif isinstance(error, Throttled):
            status, title = 429, "Too many attempts"
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
        elif isinstance(error, AccountConflict):
            status, title = 409, "Conflict"
        else:
            status, title = 403, "Forbidden"
        response = problem(status, title, error.detail)
        response.headers.update(headers)
        return response

    @app.exception_handler(LoginRedirect)
    async def _login_redirect(_request: Request, error: LoginRedirect) -> Response:
        return RedirectResponse(error.location, status_code=303)

    app.include_router(router)


# --- the login page ------------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded or JSON body as a flat dict (413/400 problem when too big or unreadable)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise _BadForm(413, "Body too large", f"send at most {MAX_FORM_BYTES} bytes")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise _BadForm(400, "Invalid request", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise _BadForm(400, "Invalid request", "send a JSON object")
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str | int)}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _BadForm(400, "Invalid request", "the form is not readable") from None
    return {k: v[0] for k, v in parsed.items()}


class _BadForm(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        self.response = problem(status, title, detail)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(
    request: Request, *, message: str = "", status: int = 200, next_url: str = "/"
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"message": message, "csrf": token, "next": next_url, "mode": "login"},
        status_code=status,
    )
    policy: CookiePolicy = request.app.state.cookie_policy
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=policy.secure_for(request),
        path="/login",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def set_session_cookies(request: Request, response: Response, secret: str, csrf: str) -> None:
    accounts = accounts_of(request)
    policy: CookiePolicy = request.app.state.cookie_policy
    secure = policy.secure_for(request)
    max_age = int(accounts.policy.max_age.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=max_age, httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure
    )


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


@router.get("/login", response_class=HTMLResponse, summary="The sign-in page")
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_url=_safe_next(next))


@router.post(
    "/login",
    summary="Sign in with a user name and password (form or JSON); sets the session cookie",
    responses={
        401: {"description": "Wrong user name or password"},
        403: {"description": "Account disabled, or the form's CSRF token is missing"},
        429: {"description": "Too many failed attempts; see Retry-After"},
    },
)
async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
    except _BadForm as bad:
        return bad.response
    is_json = request.headers.get("content-type", "").startswith("application/json")
    next_url = _safe_next(form.get("next"))
    if not is_json:
        sent, cookie = form.get("csrf", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            return _login_page(
                request,
                message="The sign-in form expired; please try again.",
                status=403,
                next_url=next_url,
            )
    accounts = accounts_of(request)
    try:
        signed = await accounts.sign_in(
            form.get("username", ""), form.get("password", ""), address=client_address(request)
        )
    except AccountError as error:
        if is_json:
            raise
        status = 429 if isinstance(error, Throttled) else 401
        status = 403 if isinstance(error, Forbidden) else status
        page = _login_page(request, message=error.detail, status=status, next_url=next_url)
        if isinstance(error, Throttled):
            page.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
        return page
    response: Response
    if is_json:
        response = JSONResponse(
            {
                "user": signed.user.name,
                "role": signed.user.role.value,
                "csrf": signed.session.csrf,
                "must_change_password": signed.user.must_change_password,
            }
        )
    else:
        target = "/password" if signed.user.must_change_password else next_url
        response = RedirectResponse(target, status_code=303)
    set_session_cookies(request, response, signed.secret, signed.session.csrf)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.get(
    "/login/link",
    response_class=HTMLResponse,
    summary="Sign in with a one-time link (printed by duress demo)",
)
async def login_link(request: Request, code: str = "") -> Response:
    accounts = accounts_of(request)
    try:
        signed = await accounts.redeem_link(code, address=client_address(request))
    except AccountError as error:
        return _login_page(request, message=error.detail, status=401)
    # A page, not a redirect: a SameSite=Strict cookie set during a navigation that started
    # elsewhere (a terminal, another site) is only sent on the next same-site navigation.
    response = templates.TemplateResponse(
        request, "login.html", {"mode": "signed_in", "user": signed.user.name}
    )
    set_session_cookies(request, response, signed.secret, signed.session.csrf)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout", summary="Sign out: end the session and clear its cookies")
async def logout(request: Request) -> Response:
    try:
        form = await read_form(request)
    except _BadForm as bad:
        return bad.response
    found = await caller(request)
    await check_csrf(request, found, form.get("csrf") if "csrf" in form else None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if found.session is not None and cookie:
        await accounts_of(request).sign_out(cookie)
    response = RedirectResponse("/login", status_code=303)
    _clear_cookies(response)
    return response


@router.get("/password", response_class=HTMLResponse, summary="The change-password page")
async def password_page(request: Request) -> Response:
    try:
        found = await caller(request)
    except Unauthenticated:
        return RedirectResponse("/login?next=%2Fpassword", status_code=303)
    return _password_page(request, found)


def _password_page(
    request: Request, found: Caller, *, message: str = "", status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "mode": "password",
            "user": found.principal.name,
            "must_change": found.principal.must_change_password,
            "csrf": found.session.csrf if found.session else "",
            "message": message,
        },
        status_code=status,
    )


@router.post("/password", summary="Change your password (form or JSON); signs every session out")
async def change_password(request: Request) -> Response:
    try:
        form = await read_form(request)
    except _BadForm as bad:
        return bad.response
    found = await caller(request)
    if found.session is None:
        raise Forbidden("change a password from a signed-in browser session, not with a token")
    await check_csrf(request, found, form.get("csrf") if "csrf" in form else None)
    new = form.get("new_password", "")
    if "confirm" in form and form["confirm"] != new:
        return _password_page(request, found, message="The new passwords differ.", status=400)
    try:
        await accounts_of(request).set_password(
            found.principal.name, new, by=found.principal.name, current=form.get("password", "")
        )
    except ValueError as error:
        return _password_page(request, found, message=f"{str(error).capitalize()}.", status=400)
    except Unauthenticated:
        return _password_page(request, found, message="The current password is wrong.", status=401)
    response = RedirectResponse("/login", status_code=303)
    _clear_cookies(response)
    return response


@router.get("/api/v1/me", summary="Who you are: user or token, role, permissions, CSRF token")
async def me(request: Request) -> dict[str, Any]:
    found = await caller(request)
    p = found.principal
    return {
        "name": p.name,
        "kind": p.kind.value,
        "role": p.role.value if p.role else None,
        "units": sorted(p.units),
        "staff": p.staff,
        "permissions": sorted(x.value for x in p.permissions),
        "must_change_password": p.must_change_password,
        "csrf": found.session.csrf if found.session else None,
    }
