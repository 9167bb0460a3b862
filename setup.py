"""The optional C kernel, ``bcecli._native._kernel``; everything else is in pyproject.toml.

The kernel is an accelerator, never a requirement: where it cannot be compiled (no C
compiler, an unusual platform) the install still succeeds and bce runs on its
pure-Python path, which gives the same bits; ``bce --version`` says which one runs.

Environment, for development and CI:
  BCE_STRICT_BUILD=1  compile with -Wall -Wextra -Werror and fail the install on error
  BCE_SANITIZE=1      add AddressSanitizer and UndefinedBehaviorSanitizer (implies strict)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NATIVE = Path("bcecli") / "_native"
STRICT = os.environ.get("BCE_STRICT_BUILD") == "1" or os.environ.get("BCE_SANITIZE") == "1"


def _compile_args(compiler_type: str) -> list[str]:
    if compiler_type == "msvc":
        # /fp:precise without /fp:contract: no fused multiply-adds, IEEE results.
        return ["/std:c11", "/O2", "/fp:precise", *(["/W4", "/WX"] if STRICT else [])]
    # Contraction off and no fast-math: every + - * / rounds once, as numpy's do, so the
    # kernel and its pure-Python twin give the same bits on every machine.
    args = ["-std=c11", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fvisibility=hidden"]
    if STRICT:
        args += ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
    if os.environ.get("BCE_SANITIZE") == "1":
        args += [
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
            "-O1",
            "-g",
        ]
    return args


class OptionalBuildExt(build_ext):
    """Builds the kernel with the flags above; a failure leaves bce pure Python."""

    def build_extension(self, ext: Extension) -> None:
        ext.extra_compile_args = _compile_args(self.compiler.compiler_type)
        if os.environ.get("BCE_SANITIZE") == "1":
            ext.extra_link_args = ["-fsanitize=address,undefined"]
        try:
            super().build_extension(ext)
        except Exception as error:  # CompileError, LinkError, a missing compiler
            if STRICT:
                raise
            print(
                f"warning: bce's C kernel was not built ({error}); "
                "bce will run on its pure-Python path.",
                file=sys.stderr,
            )

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler at all: distutils fails before compiling
            if STRICT:
                raise
            print(f"warning: bce's C kernel was not built ({error}).", file=sys.stderr)


setup(
    ext_modules=[
        Extension(
            "bcecli._native._kernel",
            sources=sorted(str(path) for path in NATIVE.glob("*.c")),
            depends=sorted(str(path) for path in NATIVE.glob("*.h")),
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
