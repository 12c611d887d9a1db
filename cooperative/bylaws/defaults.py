"""The shipped default bylaws."""

from functools import cache
from importlib.resources import files

from cooperative.bylaws.schema import Bylaws, parse_toml


def default_text() -> str:
    return files("cooperative.bylaws").joinpath("default.toml").read_text("utf-8")


@cache
def default_bylaws() -> Bylaws:
    return parse_toml(default_text())
