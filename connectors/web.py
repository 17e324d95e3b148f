"""What the app's web pages share: long-cached static files named by content, security headers, and the
staff pages' HTML frame."""

import hashlib
from pathlib import Path

from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

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
