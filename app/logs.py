"""Structured JSON logs that carry the request id. Never log passwords, tokens or health data."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from cooperative.kernel.context import request_id_var

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(
            {k: v for k, v in record.__dict__.items() if k not in _RESERVED and k[0] != "_"}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# Loggers that print SQL parameters (emails, password hashes, health data) at DEBUG or INFO.
_DATA_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")
# Loggers of the server and libraries around the app, whose lines we do not write ourselves.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "aiortc", "aioice")

_HANDSHAKE = re.compile(r'"WebSocket ')
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:token|access_token|refresh_token|code|receipt|password)=)[^&\s\"']*"
)
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6 = (
    r"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?"
)
_ADDRESS = re.compile(rf"(?<![\w.:])(?:{_IPV4}|\[(?:{_IPV6})\]|{_IPV6})(?::\d{{1,5}})?(?![\w.])")


def scrub(text: str) -> str:
    """`text` with secret query parameters and network addresses replaced."""
    return _ADDRESS.sub("[address]", _SECRET_PARAMETER.sub(r"\1[redacted]", text))


class PrivateLineFilter(logging.Filter):
    """The server's own lines, made safe: uvicorn's WebSocket handshake line (it carries the
    client's address and the query string with the consult token; our access line already
    records the request without them) is dropped, and any other line has secret query
    parameters and network addresses replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name.startswith("uvicorn") and _HANDSHAKE.search(message):
            return False
        if record.name.startswith("uvicorn") and message.startswith("Uvicorn running on"):
            return True  # the server's own listening address, not a client's
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_private_lines = PrivateLineFilter()


def silence_data_loggers() -> None:
    """Keep drivers from logging query parameters, whatever level the root logger is at, and
    keep the server's loggers from writing tokens or client addresses, whatever handler (a
    file, a test's capture) receives their lines."""
    for name in _DATA_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if _private_lines not in logger.filters:
            logger.addFilter(_private_lines)


def configure(level: str = "INFO", *, as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(_private_lines)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    silence_data_loggers()
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # our access log replaces uvicorn's, which would print query strings
    logging.getLogger("uvicorn.access").disabled = True
