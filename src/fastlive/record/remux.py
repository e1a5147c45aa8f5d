"""Remux recorded FLV segments into one MP4 with ffmpeg (the one step that needs it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from fastlive.exceptions import RemuxError

__all__ = ["remux_to_mp4"]


async def remux_to_mp4(
    paths: Sequence[str | Path], out: str | Path, *, ffmpeg: str | None = None
) -> Path:
    """Join FLV files into one MP4 with ffmpeg (stream copy: no re-encoding).

    The MP4 is written as ``out.part`` and renamed when ffmpeg succeeds.

    Raises:
        RemuxError: ffmpeg is not installed (the message says how to get it),
            or it failed (its last error lines are in the message).
    """
    exe = ffmpeg or shutil.which("ffmpeg")
    if exe is None:
        raise RemuxError(
            "ffmpeg is not installed, so the recording stays FLV (it plays in VLC and mpv). "
            "For MP4, install ffmpeg: apt install ffmpeg, brew install ffmpeg, "
            "winget install ffmpeg, or https://ffmpeg.org/download.html"
        )
    if not paths:
        raise RemuxError("There is nothing to remux: the recording has no files")
    out = Path(out)
    part = out.with_name(out.name + ".part")
    listing = out.with_name(out.name + ".concat.txt")
    if len(paths) == 1:
        source = ["-i", str(paths[0])]
    else:
        lines = ["ffconcat version 1.0"]
        for p in paths:
            quoted = str(Path(p).resolve()).replace("'", "'\\''")
            lines.append(f"file '{quoted}'")
        listing.write_text("\n".join(lines) + "\n")
        source = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    cmd = [
        exe,
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        *source,
        "-map",
        "0",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(part),
    ]
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        listing.unlink(missing_ok=True)
        raise RemuxError(f"Could not run ffmpeg ({exc.strerror or exc})") from None
    try:
        _, err = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        part.unlink(missing_ok=True)
        raise
    finally:
        listing.unlink(missing_ok=True)
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        tail = " / ".join(err.decode(errors="replace").strip().splitlines()[-3:])
        raise RemuxError(f"ffmpeg could not remux to {out} (exit {proc.returncode}): {tail}")
    os.replace(part, out)
    return out
