"""Every table of every domain, imported in one place so Alembic sees the whole schema."""

from cooperative.accounts.models import Account, AuthSession, LoginThrottle, RefreshToken
from cooperative.kernel.tables import metadata

__all__ = ["Account", "AuthSession", "LoginThrottle", "RefreshToken", "metadata"]
