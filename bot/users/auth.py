"""The one FastAPI dependency that guards every non-public route: a bearer token (scripts, the API)
or a console session cookie (people, with a CSRF token on every state-changing request) + the role."""

import secrets
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from bot.users.models import User
from bot.users.service import user_for_token
from bot.users.sessions import signed_in

_bearer = HTTPBearer(auto_error=False, description="API token printed by `brobygger users add`")
SESSION_COOKIE = "brobygger_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    store = request.app.state.services.store
    if credentials is not None:
        if credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise _unauthorized("missing bearer token")
        user = await run_in_threadpool(user_for_token, store, credentials.credentials)
        if user is None:
            raise _unauthorized("invalid token")
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _unauthorized("missing bearer token or console session")
    session = await run_in_threadpool(signed_in, store, cookie)
    if session is None:
        raise _unauthorized("the console session has ended; sign in again")
    if request.method not in SAFE_METHODS and not secrets.compare_digest(
            request.headers.get(CSRF_HEADER, ""), session.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")
    return session.user


def require_role(*roles: str) -> Callable:
    """Dependency factory: `Depends(require_role("admin"))` lets only admins through."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> User:
        user = await current_user(request, credentials)
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role: {' or '.join(roles)}")
        return user

    return dependency
