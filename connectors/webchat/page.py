"""The citizen's web chat page at `/`, the embeddable widget script, and their static files.

The page is one HTML document, one stylesheet and one script, all served by the app (no fonts or
scripts from elsewhere), with every interface text for every language embedded, so switching
language needs no request. Texts come from the gettext catalogues (`web_*` keys).
"""

from pathlib import Path

from babel import Locale, negotiate_locale
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from bot import SUPPORTED_LANGUAGES
from bot.i18n.bidi import RTL_LANGUAGES
from bot.i18n.render import Renderer
from connectors.web import CachedStatic, asset_version, security_headers

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/webchat/static"
templates = Jinja2Templates(directory=HERE / "templates")

# Interface texts the page's script needs, by the name the script uses.
PAGE_TEXTS = ("title", "intro", "language_label", "conversation_label", "input_label", "placeholder", "send",
              "talk_to_person", "typing", "you", "counsellor", "call", "map", "website", "email", "copy", "copied",
              "error_send", "retry", "too_long", "close")
WIDGET_TEXTS = ("open_chat", "close", "title")


ASSET_VERSION = asset_version(STATIC_DIR)


router = APIRouter(include_in_schema=False)


def page_language(requested: str | None, accept_language: str | None, default: str) -> tuple[str, bool]:
    """The page's language and whether the citizen chose it (`?lang=`) rather than the browser."""
    if requested in SUPPORTED_LANGUAGES:
        return requested, True
    preferred = [part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")]
    negotiated = negotiate_locale([p for p in preferred if p], list(SUPPORTED_LANGUAGES), sep="_")
    return (negotiated or default), False


def texts_by_language(renderer: Renderer, names: tuple[str, ...], **args) -> dict[str, dict[str, str]]:
    return {lang: {name: renderer.text(f"web_{name}", lang, **args) for name in names}
            for lang in SUPPORTED_LANGUAGES}


def language_choices() -> list[dict[str, str]]:
    """Each language named in its own script, as a citizen looks for it."""
    choices = []
    for code in SUPPORTED_LANGUAGES:
        name = Locale.parse(code).get_language_name(code)
        choices.append({"code": code, "name": name[:1].upper() + name[1:],
                        "dir": "rtl" if code in RTL_LANGUAGES else "ltr"})
    return choices


@router.get("/", response_class=HTMLResponse)
async def chat_page(request: Request, lang: str | None = Query(default=None),
                    embed: bool = Query(default=False)) -> Response:
    services = request.app.state.services
    settings = services.settings
    language, chosen = page_language(lang, request.headers.get("accept-language"), settings.default_language)
    config = {
        "language": language,
        "chosen": chosen,
        "embed": embed,
        "maxChars": settings.max_text_chars,
        "languages": language_choices(),
        "rtl": sorted(RTL_LANGUAGES),
        "texts": texts_by_language(services.renderer, PAGE_TEXTS, limit=settings.max_text_chars),
        "privacy": {lang_: services.renderer.text("privacy_notice", lang_) for lang_ in SUPPORTED_LANGUAGES},
    }
    response = templates.TemplateResponse(request, "chat.html", {
        "language": language,
        "dir": "rtl" if language in RTL_LANGUAGES else "ltr",
        "texts": config["texts"][language],
        "privacy": config["privacy"][language],
        "languages": config["languages"],
        "embed": embed,
        "config": config,
        "static": STATIC_PATH,
        "version": ASSET_VERSION,
    })
    response.headers["Cache-Control"] = "no-cache"
    return security_headers(response, settings.widget_frame_ancestors)


@router.get("/widget.js")
async def widget_script(request: Request) -> Response:
    """`<script src="https://…/widget.js" data-lang="so" defer></script>` on any page adds a chat button."""
    services = request.app.state.services
    response = templates.TemplateResponse(request, "widget.js", {
        "texts": texts_by_language(services.renderer, WIDGET_TEXTS),
        "rtl": sorted(RTL_LANGUAGES),
        "default_language": services.settings.default_language,
    }, media_type="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    # Host pages load this from another origin.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


static_files = CachedStatic(directory=STATIC_DIR)
