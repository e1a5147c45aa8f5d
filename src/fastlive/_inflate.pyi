"""Gzip inflation for the decoder: libdeflate when it is installed, zlib otherwise."""

from typing import Final, Literal, TypeAlias

__all__ = [
    "INFLATERS",
    "MAX_RATIO",
    "available",
    "handed_to_zlib",
    "inflate",
    "inflate_zlib",
    "inflater",
    "use",
]

Inflater: TypeAlias = Literal["libdeflate", "zlib"]

INFLATERS: Final[tuple[Inflater, ...]]
MAX_RATIO: Final[int]
inflater: Inflater

def inflate(payload: bytes, limit: int) -> bytes: ...
def inflate_zlib(payload: bytes, limit: int) -> bytes: ...
def handed_to_zlib(reset: bool = False) -> int: ...
def available() -> tuple[Inflater, ...]: ...
def use(name: str | None = None) -> Inflater: ...
