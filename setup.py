"""Build the compiled decoder.

Environment switches (release flags otherwise):
  FASTLIVE_DEBUG=1      bounds asserts, line tracing and an annotated HTML report
  FASTLIVE_SANITIZE=1   AddressSanitizer + UBSan (gcc/clang), for fuzzing the decoder
"""

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("FASTLIVE_DEBUG") == "1"
sanitize = os.environ.get("FASTLIVE_SANITIZE") == "1"

compile_args: list[str] = []
link_args: list[str] = []
macros: list[tuple[str, str | None]] = []
directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}
if sys.platform != "win32":
    compile_args += ["-O3"] if not debug else ["-O0", "-g"]
if debug:
    directives.update(boundscheck=True, wraparound=True, linetrace=True)
    macros.append(("CYTHON_TRACE_NOGIL", "1"))
if sanitize:
    flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
    compile_args += flags
    link_args += flags

extensions = [
    Extension(
        f"fastlive.{name}",
        [f"src/fastlive/{name}.pyx"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
    for name in ("_decode", "_inflate")
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives, annotate=debug))
