"""Object-store URLs (``s3://``, ``gs://``, any scheme pyarrow's filesystems know).

Local paths never come here: they keep Python's own ``open`` and ``os`` calls, so
they behave exactly as before. Credentials come from each cloud's standard
environment and config (``AWS_*`` variables, ``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``),
never from bce options. Every failure becomes one plain ``InputError`` sentence.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bcecli.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Schemes whose first path part is a bucket: the filesystem path is "bucket/key".
_BUCKET_SCHEMES = ("s3", "gs", "gcs")
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
_CREDENTIALS_HINT = {
    "s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws/credentials",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login",
    "gcs": "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login",
}


def is_url(path: str) -> bool:
    """True for ``scheme://...`` (not for local paths, ``-`` or Windows drives)."""
    return bool(_URL.match(path))


def url_path(url: str) -> str:
    """The path part of a URL (no query), for telling formats by extension."""
    return urlsplit(url).path


@dataclass(frozen=True)
class Location:
    """A URL resolved to a filesystem and that filesystem's path."""

    url: str
    filesystem: pafs.FileSystem
    path: str


def locate(url: str) -> Location:
    import pyarrow.fs as pafs

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        if scheme in _BUCKET_SCHEMES:
            endpoint = _env_first(_ENDPOINT_VARIABLES) if scheme == "s3" else None
            filesystem = _bucket_filesystem(scheme, parts.netloc, parts.query, endpoint)
            path = parts.netloc + parts.path
        else:
            filesystem, path = pafs.FileSystem.from_uri(url)
    except _failures() as error:
        raise read_error(url, error) from None
    return Location(url, filesystem, path.rstrip("/") or path)


def url_of(path: str, like: str) -> str:
    """A filesystem path (as a dataset lists it) written as a URL of ``like``'s scheme."""
    parts = urlsplit(like)
    if parts.scheme.lower() in _BUCKET_SCHEMES:
        url = f"{parts.scheme}://{path}"
    else:
        url = f"{parts.scheme}://{parts.netloc}{path if path.startswith('/') else '/' + path}"
    return f"{url}?{parts.query}" if parts.query else url


def file_type(url: str) -> str:
    """``file``, ``directory`` or ``missing``; the bucket is checked so the message can say."""
    import pyarrow.fs as pafs

    location = locate(url)
    try:
        info = location.filesystem.get_file_info(location.path)
    except _failures() as error:
        raise read_error(url, error) from None
    if info.type == pafs.FileType.Directory:
        return "directory"
    if info.type == pafs.FileType.NotFound:
        return "missing"
    return "file"


def stored_size(url: str) -> int | None:
    """The object's size in bytes as stored, or None where the store does not say."""
    location = locate(url)
    try:
        size = location.filesystem.get_file_info(location.path).size
    except _failures() as error:
        raise read_error(url, error) from None
    return None if size is None else int(size)


def missing_error(url: str) -> InputError:
    """What to say when nothing is at ``url``: the bucket or the object is missing."""
    import pyarrow.fs as pafs

    parts = urlsplit(url)
    if parts.scheme.lower() in _BUCKET_SCHEMES and parts.path.strip("/"):
        location = locate(url)
        try:
            bucket = location.filesystem.get_file_info(parts.netloc)
        except _failures():
            bucket = None
        if bucket is not None and bucket.type == pafs.FileType.NotFound:
            return InputError(
                f"{url}: there is no bucket {parts.netloc!r} (or these credentials cannot "
                "see it). Check the URL."
            )
    return InputError(f"{url}: no such object or prefix. Check the URL.")


def open_file(url: str) -> pa.NativeFile:
    """A random-access file (what Parquet needs)."""
    location = locate(url)
    try:
        return location.filesystem.open_input_file(location.path)
    except _failures() as error:
        raise read_error(url, error) from None


def open_stream(url: str, compression: str | None) -> pa.NativeFile:
    """A sequential stream, decompressed on the fly (what CSV needs)."""
    location = locate(url)
    try:
        return location.filesystem.open_input_stream(location.path, compression=compression)
    except _failures() as error:
        raise read_error(url, error) from None


def dataset_error(url: str, error: BaseException | None) -> InputError:
    """Why a prefix is not a Parquet dataset, naming an object that is in the way."""
    import pyarrow.fs as pafs

    location = locate(url)
    try:
        listed = location.filesystem.get_file_info(pafs.FileSelector(location.path, recursive=True))
    except _failures() as cause:
        return read_error(url, cause)
    # pyarrow skips hidden and underscore objects too (_SUCCESS, .crc).
    names = sorted(
        info.path
        for info in listed
        if info.type == pafs.FileType.File and not info.base_name.startswith((".", "_"))
    )
    others = []
    for name in names[:1000]:  # enough to say why
        try:
            with location.filesystem.open_input_file(name) as stream:
                if stream.read(4) != b"PAR1":
                    others.append(name)
        except _failures() as cause:
            return read_error(url_of(name, like=url), cause)
    prefix = location.path.rstrip("/") + "/"
    if others:
        shown = others[0][len(prefix) :] if others[0].startswith(prefix) else others[0]
        if len(others) == len(names):
            return InputError(
                f"{url} holds no Parquet files (it holds {shown}); bce reads a prefix as a "
                "Parquet dataset, so pass CSV files by URL."
            )
        return InputError(
            f"{url}: {shown} is not a Parquet file. bce reads a prefix as a Parquet dataset: "
            "move other objects out, or pass files by URL."
        )
    if not names:
        return InputError(f"{url} holds no Parquet files; bce reads a prefix as a dataset.")
    if error is None:
        return InputError(f"{url}: cannot read the Parquet dataset (no readable files).")
    return read_error(url, error)


def read_error(url: str, error: BaseException) -> InputError:
    """One sentence for a failed object-store call, saying what to check."""
    if isinstance(error, FileNotFoundError):
        return missing_error(url)
    text = str(error)
    upper = text.upper()
    scheme = urlsplit(url).scheme.lower()
    if any(
        sign in upper
        for sign in (
            "ACCESS_DENIED",
            "ACCESSDENIED",
            "INVALIDACCESSKEYID",
            "SIGNATUREDOESNOTMATCH",
            "INVALID_ACCESS_KEY_ID",
            "SIGNATURE_DOES_NOT_MATCH",
            "NO CREDENTIALS",
            "UNAUTHENTICATED",
            "PERMISSION_DENIED",
            "FORBIDDEN",
        )
    ):
        hint = _CREDENTIALS_HINT.get(scheme, "the credentials in your environment")
        return InputError(f"{url}: access denied; check the credentials ({hint}).")
    if "NO_SUCH_BUCKET" in upper or "NOSUCHBUCKET" in upper:
        return InputError(f"{url}: there is no such bucket. Check the URL.")
    if "NETWORK_CONNECTION" in upper or "COULD NOT CONNECT" in upper or "RESOLVE HOST" in upper:
        where = " and AWS_ENDPOINT_URL" if scheme == "s3" else ""
        return InputError(
            f"{url}: cannot reach the object store ({_first_line(text)}). Check the network{where}."
        )
    if "UNRECOGNIZED FILESYSTEM TYPE" in upper:
        return InputError(f"{url}: pyarrow has no filesystem for this URL scheme.")
    return InputError(f"{url}: cannot read it ({_first_line(text)}).")


@functools.lru_cache(maxsize=32)
def _bucket_filesystem(
    scheme: str, bucket: str, query: str, endpoint: str | None
) -> pafs.FileSystem:
    """One filesystem per bucket, options and endpoint: ``from_uri`` may ask S3 for the
    bucket's region, which is worth doing once, not once per file or row group."""
    import pyarrow.fs as pafs

    if scheme == "s3" and endpoint and "endpoint_override" not in query:
        # A custom endpoint (MinIO, moto, another cloud's S3 API), named by the standard
        # variable, which not every pyarrow version reads itself.
        target = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        region = _env_first(_REGION_VARIABLES)
        options = {"region": region} if region else {}
        return pafs.S3FileSystem(
            endpoint_override=target.netloc, scheme=target.scheme or "https", **options
        )
    query_part = f"?{query}" if query else ""
    filesystem, _ = pafs.FileSystem.from_uri(f"{scheme}://{bucket}/{query_part}")
    return filesystem


def _failures() -> tuple[type[BaseException], ...]:
    """What a filesystem call raises: pyarrow's errors are OSError or ValueError, or
    another ArrowException (not implemented, for one)."""
    import pyarrow as pa

    return (OSError, ValueError, pa.ArrowException)


def _env_first(names: tuple[str, ...]) -> str | None:
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown error"
