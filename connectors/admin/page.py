"""The admin console page at /admin: one page with three tabs (review queue, models, catalogue) whose
script (static/admin.js) calls the admin APIs (/api/admin/review, /api/admin/models, /api/admin/catalogue,
/api/admin/index) with the console session cookie and the session's CSRF token.

People sign in once, on the counsellor console's login page, which sends them back here (`?next=/admin`).
The page itself holds no data: everything comes from the JSON APIs, so the strict CSP (no inline script
or style) holds. Staff read Danish, so the console is in Danish.
"""

from pathlib import Path

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot import SUPPORTED_LANGUAGES
from bot.users.auth import SESSION_COOKIE
from bot.users.sessions import signed_in
from connectors.web import StaffPages
from knowledge.topics import TEXT_LANGUAGES

pages = StaffPages(Path(__file__).resolve().parent, "/admin/static", "admin.css")
STATIC_PATH, static_files, _page = pages.static_path, pages.static_files, pages.render
PAGE_PATH = "/admin"
router = APIRouter(include_in_schema=False)

ROLE_NAMES = {"counsellor": "rådgiver", "admin": "administrator"}


@router.get(PAGE_PATH, response_class=HTMLResponse)
async def admin_console(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(signed_in, request.app.state.services.store, token) if token else None
    if session is None:
        return RedirectResponse(f"/console/login?next={PAGE_PATH}", status.HTTP_303_SEE_OTHER)
    if session.user.role != "admin":
        # Signed in but not allowed: say so (a redirect to the login page would look like a broken session).
        return _page(request, "forbidden.html", {"user": session.user,
                                                 "role": ROLE_NAMES.get(session.user.role, session.user.role)},
                     status.HTTP_403_FORBIDDEN)
    return _page(request, "admin.html", {"user": session.user, "csrf": session.csrf_token,
                                         "languages": SUPPORTED_LANGUAGES, "text_languages": TEXT_LANGUAGES})
