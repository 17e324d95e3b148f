"""What the app's web pages share: long-cached static files named by content, security headers, and the
staff pages' HTML frame."""

import hashlib
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

# The staff pages' common HTML frame (base.html: the page's stylesheet by the `stylesheet` variable).
SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def asset_version(directory: Path) -> str:
    """Changes whenever a file in the folder does, so browsers may cache the files for a year."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def security_headers(response: Response, frame_ancestors: str = "'none'") -> Response:
    # Only the app's own files may run or load: no CDN, no inline script, no text ever read as HTML.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {frame_ancestors}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


class StaffPages:
    """One staff console's pages (counsellors', administrators'): its templates inside the shared frame,
    its static files (served at `static_path`) and its stylesheet."""

    def __init__(self, package: Path, static_path: str, stylesheet: str) -> None:
        static_dir = package / "static"
        self.static_path, self.stylesheet, self.version = static_path, stylesheet, asset_version(static_dir)
        self.templates = Jinja2Templates(directory=[package / "templates", SHARED_TEMPLATES])
        self.static_files = CachedStatic(directory=static_dir)

    def render(self, request: Request, name: str, context: dict, status_code: int = 200) -> Response:
        response = self.templates.TemplateResponse(
            request, name, {"static": self.static_path, "version": self.version, "stylesheet": self.stylesheet,
                            **context}, status_code=status_code)
        # Staff pages show citizens' words: never kept in a shared or back-button cache.
        response.headers["Cache-Control"] = "no-store"
        return security_headers(response)
