"""The ASGI application uvicorn imports (`app.asgi:app`), configured from the environment.

With several workers uvicorn imports this module in each worker process, after `tequio serve`
configured logging in the parent only: each worker configures its own logging here, or its
lines (the access log among them) would go nowhere."""

from app import logs
from app.main import create_app
from app.settings import Settings

settings = Settings()
logs.configure(settings.log_level, as_json=settings.log_json)
app = create_app(settings)
