from tests.consult_support import http_to, server

__all__ = ["http_to", "server"]
