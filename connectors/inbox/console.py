"""The counsellor console: sign in with name and password, then the queue and conversations in one
page (connectors/inbox/static/console.js) that talks to /api/counsellor with the session cookie and
its CSRF token. Staff read Danish, so the console is in Danish."""

import math
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.users.auth import SESSION_COOKIE
from bot.users.sessions import SESSION_LIFETIME, LoginRefused, login, logout, signed_in
from connectors.web import StaffPages

pages = StaffPages(Path(__file__).resolve().parent, "/console/static", "console.css")
STATIC_PATH, static_files, _page = pages.static_path, pages.static_files, pages.render
LOGIN_CSRF_COOKIE = "brobygger_login_csrf"
router = APIRouter(include_in_schema=False)
# Where a signed-in person goes when the login page was not asked for a place (`?next=`).
DEFAULT_NEXT = "/console"


def _secure(request: Request) -> bool:
    return request.app.state.services.settings.app_url.startswith("https://")


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site (the admin console sends people here with ?next=/admin), else
    None: a full URL, `//host` or a backslash would let a crafted link send someone elsewhere after login."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(char) < 0x20 or char.isspace() for char in value):
        return None
    return value


def _login_page(request: Request, error: str | None = None, status_code: int = 200,
                next_path: str | None = None) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = _page(request, "login.html", {"csrf": csrf, "error": error, "next": local_path(next_path)},
                     status_code)
    # Double-submit: the form's hidden field must match this cookie (no session exists yet).
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request),
                        path="/console")
    return response


@router.get("/console/login", response_class=HTMLResponse)
async def login_form(request: Request, next_path: Annotated[str | None, Query(alias="next", max_length=500)] = None
                     ) -> Response:
    return _login_page(request, next_path=next_path)


@router.post("/console/login")
async def login_submit(request: Request, name: Annotated[str, Form(max_length=120)],
                       password: Annotated[str, Form(max_length=1000)],
                       csrf: Annotated[str, Form(max_length=100)],
                       next_path: Annotated[str, Form(alias="next", max_length=500)] = "") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf, expected):
        return _login_page(request, "Siden var for gammel. Prøv igen.", status.HTTP_403_FORBIDDEN, next_path)
    try:
        token, _ = await run_in_threadpool(login, request.app.state.services.store, name.strip(), password)
    except LoginRefused as refused:
        if refused.locked_until is not None:
            minutes = max(1, math.ceil((refused.locked_until - datetime.now(UTC)).total_seconds() / 60))
            return _login_page(request, f"For mange forkerte adgangskoder. Prøv igen om {minutes} minutter.",
                               status.HTTP_429_TOO_MANY_REQUESTS, next_path)
        return _login_page(request, "Forkert navn eller adgangskode.", status.HTTP_401_UNAUTHORIZED, next_path)
    response = RedirectResponse(local_path(next_path) or DEFAULT_NEXT, status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/console/logout")
async def logout_submit(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        session = await run_in_threadpool(signed_in, request.app.state.services.store, token)
        if session is not None and secrets.compare_digest(csrf, session.csrf_token):
            await run_in_threadpool(logout, request.app.state.services.store, token)
    response = RedirectResponse("/console/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/console", response_class=HTMLResponse)
async def console(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(signed_in, request.app.state.services.store, token) if token else None
    if session is None or session.user.role not in ("counsellor", "admin"):
        return RedirectResponse("/console/login", status.HTTP_303_SEE_OTHER)
    return _page(request, "console.html", {"user": session.user, "csrf": session.csrf_token})
