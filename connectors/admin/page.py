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
from fastapi.templating import Jinja2Templates

from bot import SUPPORTED_LANGUAGES
from bot.users.auth import SESSION_COOKIE
from bot.users.sessions import signed_in
from connectors.web import SHARED_TEMPLATES, CachedStatic, asset_version, security_headers
from knowledge.topics import TEXT_LANGUAGES

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/admin/static"
ASSET_VERSION = asset_version(STATIC_DIR)
PAGE_PATH = "/admin"
templates = Jinja2Templates(directory=[HERE / "templates", SHARED_TEMPLATES])
static_files = CachedStatic(directory=STATIC_DIR)
router = APIRouter(include_in_schema=False)

ROLE_NAMES = {"counsellor": "rådgiver", "admin": "administrator"}


def _page(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
    response = templates.TemplateResponse(request, name, {"static": STATIC_PATH, "version": ASSET_VERSION,
                                                          "stylesheet": "admin.css",
                                                          **context}, status_code=status_code)
    # Review items are citizens' words: never kept in a shared or back-button cache.
    response.headers["Cache-Control"] = "no-store"
    return security_headers(response)


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
