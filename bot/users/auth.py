"""The one FastAPI dependency that guards every non-public route: bearer token + role."""

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from bot.users.models import User
from bot.users.service import user_for_token

_bearer = HTTPBearer(auto_error=False, description="API token printed by `brobygger users add`")


def require_role(*roles: str) -> Callable:
    """Dependency factory: `Depends(require_role("admin"))` lets only admins through."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> User:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        user = await run_in_threadpool(user_for_token, request.app.state.services.store, credentials.credentials)
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
            )
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role: {' or '.join(roles)}")
        return user

    return dependency
