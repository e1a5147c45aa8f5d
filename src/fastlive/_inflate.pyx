# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Gzip inflation for the decoder: libdeflate when it is installed, zlib otherwise.

Each websocket frame's payload is one small gzip member, inflated whole. libdeflate (the
``deflate`` package) does that in one call, 2.3 to 2.9 times as fast as zlib's streaming
``decompressobj`` (``benchmarks/bench_inflate.py``); zlib stays as the fallback and as the
reference that defines what is accepted and what each error says.

``inflate(payload, limit)`` (``inflate_gzip`` for ``cimport``) is a drop-in for the decoder's
zlib inflate: the same bytes for every stream zlib accepts; for every stream it refuses,
``DecodeError`` with zlib's reason and offset, because whatever the fast path does not accept
outright goes to zlib; and never more than ``limit`` bytes out. The fast path:

- reads the gzip trailer's ISIZE (the last 4 bytes, little-endian: the inflated size mod 2**32).
  Past ``limit`` the payload is refused at once as a bomb, with zlib's message and without
  inflating it. ISIZE is at most the real size, so a stream within the limit is never refused,
  and a larger valid one is refused by zlib too. (A corrupt stream whose trailer claims more
  than the limit is refused as a bomb, where zlib would have said "bad gzip payload" or
  "truncated gzip payload": the same exception, another reason.)
- lets libdeflate inflate into a buffer of exactly ISIZE bytes (it checks the CRC-32 and the
  member's own ISIZE) and keeps the result only if it is exactly ISIZE bytes long. A trailer
  that lies, low or high, ends in zlib's error: never an over-read, never a truncation.
- leaves to zlib what libdeflate would judge otherwise: optional header fields (FLG not 0: zlib
  checks the header CRC, libdeflate skips it), the empty member (ISIZE 0: the package returns
  b"" without reading the stream; heartbeats are 20-byte empty members, cheap for zlib), an
  ISIZE that no deflate stream of this length reaches (past 1032 bytes out per byte in), and a
  payload whose four ISIZE bytes occur earlier in it. libdeflate ignores what follows the
  first member; if it succeeds with ISIZE bytes and something does follow, that member's own
  trailer holds the same four bytes before the end, so this search (a memchr scan) sends
  every such payload (concatenated members, bytes after the end) to zlib, which refuses it.
  A chance match in a valid payload (about one in 2**32 per position) costs the slow path only.

What zlib refuses but libdeflate decodes, on the fast path: streams that RFC 1951 forbids and
no encoder writes (literal/length symbols 286-287, distance symbols 30-31, more than 286
literal/length or 30 distance code lengths). Their output is still bounded by ``limit`` and
checked against the CRC-32 and ISIZE of the trailer.

``FASTLIVE_INFLATER=zlib`` in the environment (read at import) or ``use("zlib")`` forces the
fallback; ``inflater`` names the inflater in use.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

import os
import warnings
import zlib

from fastlive.exceptions import DecodeError

try:
    from deflate import DeflateError as _DeflateError
    from deflate import gzip_decompress as _libdeflate_gzip
except ImportError:  # the dependency has a wheel for every target; a source build may lack it
    _libdeflate_gzip = None
    _DeflateError = None

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

INFLATERS = ("libdeflate", "zlib")
"""Every inflater by name, fastest first."""

MAX_RATIO = 1032
"""Deflate's largest expansion: a 258-byte match in 2 bits, 1032 bytes out per byte in."""

cdef enum:
    _MIN_MEMBER = 20  # header (10), the shortest deflate stream (2), trailer (8)
    _RATIO = 1032

inflater = "zlib"
"""The inflater in use: ``"libdeflate"`` or ``"zlib"``."""

cdef object _fast = None  # libdeflate's gzip_decompress while it is in use
cdef unsigned long long _handed_over = 0  # payloads the fast path left to zlib
cdef object _fast_error = None
cdef object _zlib_error = zlib.error
cdef object _decompressobj = zlib.decompressobj


cdef object _too_large(Py_ssize_t limit):
    return DecodeError(
        f"inflated payload larger than max_inflated_size={limit} bytes "
        "(raise the limit if the peer is trusted)", 0)


cdef bytes _inflate_zlib(bytes payload, Py_ssize_t limit):
    if limit < 0:
        raise ValueError("max_inflated_size must be zero or more")
    d = _decompressobj(31)  # gzip container
    try:
        # one byte past the limit tells "too large" from "exactly the limit"
        out = d.decompress(payload, limit + 1 if limit < PY_SSIZE_T_MAX else limit)
    except _zlib_error as exc:
        raise DecodeError(f"bad gzip payload ({exc})", 0) from None
    if len(out) > limit:
        raise _too_large(limit)
    if not d.eof:
        raise DecodeError("truncated gzip payload", len(payload))
    if d.unused_data:
        raise DecodeError("bytes after the end of the gzip payload",
                          len(payload) - len(d.unused_data))
    return out


cdef bint _isize_earlier(const uint8_t* p, Py_ssize_t n):
    """Whether the last 4 bytes of ``p[:n]`` also start at an offset in [10, n - 5]."""
    cdef const uint8_t* tail = p + n - 4
    cdef const uint8_t* q = p + 10
    cdef const uint8_t* stop = p + n - 4  # starts before this; a match ends by n - 1
    while q < stop:
        q = <const uint8_t*>memchr(q, tail[0], stop - q)
        if q == NULL:
            return False
        if memcmp(q, tail, 4) == 0:
            return True
        q += 1
    return False


cdef bytes inflate_gzip(bytes payload, Py_ssize_t limit):
    """Inflate one gzip member, at most ``limit`` bytes out, with the inflater in use."""
    global _handed_over
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(payload)
    cdef uint64_t size
    if _fast is not None and limit >= 0 and n >= _MIN_MEMBER and p[3] == 0:
        size = (<uint32_t>p[n - 4] | (<uint32_t>p[n - 3] << 8) | (<uint32_t>p[n - 2] << 16)
                | (<uint32_t>p[n - 1] << 24))
        if size != 0 and (size + (_RATIO - 1)) // _RATIO <= <uint64_t>n:
            if size > <uint64_t>limit:
                raise _too_large(limit)
            if not _isize_earlier(p, n):
                try:
                    out = _fast(payload, size)
                except _fast_error:
                    pass
                else:
                    if PyByteArray_CheckExact(out):
                        if <uint64_t>PyByteArray_GET_SIZE(out) == size:
                            return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(out),
                                                             <Py_ssize_t>size)
                    elif PyBytes_CheckExact(out) and <uint64_t>PyBytes_GET_SIZE(out) == size:
                        return <bytes>out
    if _fast is not None:
        _handed_over += 1
    return _inflate_zlib(payload, limit)


def inflate(bytes payload not None, Py_ssize_t limit):
    """Inflate one gzip member, at most ``limit`` bytes out, with the inflater in use.

    The same bytes as ``inflate_zlib`` for every payload zlib accepts; see the module docstring
    for how the fast path keeps the limit and zlib's errors.

    Raises:
        ValueError: ``limit`` is negative.
        DecodeError: the payload is not one whole, valid gzip member of at most ``limit`` bytes.
    """
    return inflate_gzip(payload, limit)


def inflate_zlib(bytes payload not None, Py_ssize_t limit):
    """Inflate one gzip member with zlib's ``decompressobj``, at most ``limit`` bytes out.

    The reference: what the decoder did before libdeflate, and the fallback.

    Raises:
        ValueError: ``limit`` is negative.
        DecodeError: the payload is not one whole, valid gzip member of at most ``limit`` bytes.
    """
    return _inflate_zlib(payload, limit)


def handed_to_zlib(bint reset=False):
    """How many payloads the libdeflate path handed to zlib (and ``reset`` the count to 0).

    Every malformed payload is, and a valid one only in the rare cases of the module docstring
    (an empty member, optional header fields, a chance match of its ISIZE bytes).
    """
    global _handed_over
    n = _handed_over
    if reset:
        _handed_over = 0
    return n


def available():
    """The inflaters that can run here, fastest first."""
    return tuple(name for name in INFLATERS if name != "libdeflate" or _libdeflate_gzip)


def use(name=None):
    """Switch the inflater: ``"libdeflate"``, ``"zlib"``, or None (``"auto"``) for the fastest.

    Returns the name now in use (also ``inflater``).

    Raises:
        ValueError: an unknown name, or ``"libdeflate"`` while ``deflate`` is not installed.
    """
    global _fast, _fast_error, inflater
    if name is None or name == "" or name == "auto":
        name = available()[0]
    if name not in INFLATERS:
        raise ValueError(f"unknown inflater {name!r}: choose from {', '.join(INFLATERS)}, auto")
    if name not in available():
        raise ValueError(f"inflater {name!r} is not installed (pip install deflate)")
    if name == "libdeflate":
        _fast, _fast_error = _libdeflate_gzip, _DeflateError
    else:
        _fast, _fast_error = None, None
    inflater = name
    return name


def _from_env():
    try:
        use(os.environ.get("FASTLIVE_INFLATER") or None)
    except ValueError as exc:  # a typo must not break the decoder's import
        warnings.warn(f"FASTLIVE_INFLATER ignored: {exc}", RuntimeWarning, stacklevel=2)
        use(None)


_from_env()
