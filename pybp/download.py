"""Downloading MNIST (`pybp data mnist`, docs/cli.md), standard library only.

    fetched = download_mnist("data/mnist")           # the four files, verified

Each file comes from the first mirror that delivers it whole and right:
its content is checked against a pinned SHA-256 before it is put in place,
atomically, through pybp.files.PartialFile.  A transfer that stops early
leaves its partial file, and the next attempt asks for the rest (an HTTP
Range request) or, when the server sends the whole file instead, starts
again.  Every network call has a timeout.

No printing: the caller passes callbacks for progress (bytes of a file as
they arrive) and for notices (a mirror that failed, the next one tried),
and gets one Fetched record per file back.

The pins are the SHA-256 of each file's decompressed content (the IDX
bytes), so they hold for any faithful gzip of MNIST: the mirrors' original
.gz files and the recompressed copies in pybp's data/mnist alike.
"""

import gzip
import hashlib
import os
import urllib.parse
import zlib
from collections import namedtuple

from . import __version__, files
from .data import _MNIST_FILES

__all__ = ["DEFAULT_MIRRORS", "DownloadError", "Fetched", "MNIST_PINS", "TIMEOUT",
           "URL_ENV", "download_mnist", "mirrors_from_environment", "verify"]

# Tried in this order when neither --url nor PYBP_MNIST_URL names a mirror.
DEFAULT_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                   "https://storage.googleapis.com/cvdf-datasets/mnist/")
URL_ENV = "PYBP_MNIST_URL"
TIMEOUT = 30.0  # seconds, for connecting and for each read

# File name -> (SHA-256 of its decompressed content, that content's size).
MNIST_PINS = {
    "train-images-idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
    "train-labels-idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
    "t10k-images-idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
    "t10k-labels-idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
}
assert [n[:-3] for n in MNIST_PINS] == list(_MNIST_FILES)

_CHUNK = 1 << 16
# Compressed data is smaller than what it holds; a server that sends more
# than this is sending something else.
_SLACK = 1 << 20
_MAX_REDIRECTS = 10


class DownloadError(OSError):
    """A file could not be downloaded from any mirror, or is in the way."""


Fetched = namedtuple("Fetched", "name path status url size resumed_from replaced")
Fetched.__doc__ = """What download_mnist did with one file.

name: the file's name; path: where it is now; status: "present" (it was
already there and right; url is None) or "downloaded"; url: where it came
from; size: its size in bytes; resumed_from: the bytes a partial file
already held when the transfer resumed (0 for a whole transfer); replaced:
whether a damaged file of that name was there before."""


class _Failed(Exception):
    """One attempt at one mirror failed; the text says why in a phrase."""


def mirrors_from_environment(environ=None):
    """The mirrors $PYBP_MNIST_URL names (several separated by spaces), or
    DEFAULT_MIRRORS when it is unset or empty."""
    environ = os.environ if environ is None else environ
    named = environ.get(URL_ENV, "").split()
    return tuple(named) if named else DEFAULT_MIRRORS


def check_mirror(base):
    """base with a final "/", or ValueError when it is no http(s) URL."""
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{base!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{base!r}: a mirror's base URL has no query or fragment")
    return base if base.endswith("/") else base + "/"


# --- checking ---------------------------------------------------------------


def verify(path, name):
    """Why the file at `path` is not MNIST's `name` (a phrase), or None when
    it is: its content, gunzipped when it is gzip data, must have the pinned
    SHA-256.  Reads at most the pinned size plus one byte of content, so a
    gzip bomb costs nothing.  OSError when the file cannot be read."""
    want, size = MNIST_PINS[name]
    digest = hashlib.sha256()
    seen = 0
    with files.Reader(path, "an MNIST file") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    with files.Reader(path, "an MNIST file") as raw:
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        try:
            while seen <= size:
                part = stream.read(min(_CHUNK << 4, size + 1 - seen))
                if not part:
                    break
                digest.update(part)
                seen += len(part)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            return f"not valid gzip data ({exc or type(exc).__name__})"
    if seen > size:
        return f"digest mismatch: its content is longer than MNIST's {size} bytes"
    if seen < size:
        return f"digest mismatch: its content is {seen} bytes, MNIST's is {size}"
    got = digest.hexdigest()
    if got != want:
        return f"digest mismatch: SHA-256 of its content is {got}, expected {want}"
    return None


# --- one transfer -----------------------------------------------------------


_OPENER = None


def _opener():
    """urllib's opener with pybp's redirect rules, made on first use: the
    network modules cost every other pybp command tens of milliseconds."""
    global _OPENER
    if _OPENER is None:
        import urllib.request

        class Redirects(urllib.request.HTTPRedirectHandler):
            """urllib's redirects, with a loop caught at its first repeat,
            and 308 followed on Pythons before 3.11 too (as 307: the same
            request)."""

            max_redirections = _MAX_REDIRECTS
            max_repeats = 1  # the same URL twice is a loop

            def redirect_request(self, req, fp, code, msg, headers, newurl):
                return super().redirect_request(req, fp, 307 if code == 308 else code,
                                                msg, headers, newurl)

            http_error_308 = urllib.request.HTTPRedirectHandler.http_error_302

        _OPENER = urllib.request.build_opener(Redirects)
    return _OPENER


def _open(url, headers, timeout):
    """The response to a GET of url (redirects followed); urllib's errors."""
    import urllib.request
    request = urllib.request.Request(url, headers=headers)
    return _opener().open(request, timeout=timeout)


def _reason(exc, timeout):
    """A phrase for a network error."""
    import http.client
    import socket
    import urllib.error
    import urllib.request
    if isinstance(exc, urllib.error.HTTPError):
        if 300 <= exc.code < 400 and str(exc.msg).startswith(
                urllib.request.HTTPRedirectHandler.inf_msg[:30]):
            return (f"redirect loop (HTTP {exc.code}; more than "
                    f"{_MAX_REDIRECTS} redirects, or one URL twice)")
        return f"HTTP {exc.code} {exc.reason}".rstrip()
    if isinstance(exc, urllib.error.URLError):
        inner = exc.reason
        if isinstance(inner, OSError):
            return _reason(inner, timeout)
        return f"cannot connect: {inner}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out (no answer within {timeout:g} s)"
    if isinstance(exc, http.client.IncompleteRead):
        return f"transfer cut short: the connection closed {exc.expected} bytes early"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP response ({type(exc).__name__}: {exc})"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        return f"connection error: {exc.strerror or exc}"
    return str(exc)  # pragma: no cover - every kind is named above


def _content_range_start(value):
    """The first byte of a Content-Range "bytes START-END/TOTAL", or None."""
    try:
        unit, _, rest = (value or "").partition(" ")
        if unit.strip().lower() != "bytes":
            return None, None
        span, _, total = rest.partition("/")
        start = int(span.split("-")[0])
        return start, (int(total) if total.strip() not in ("", "*") else None)
    except ValueError:
        return None, None


def _transfer(url, part, limit, timeout, progress, name):
    """Fetch url into the PartialFile `part`, continuing what it holds.

    Returns the bytes it held when this transfer resumed (0 when it started
    from the first byte).  Raises _Failed(reason) for anything the network
    or the server did; the partial file keeps what arrived.
    """
    import http.client
    import urllib.error
    headers = {"User-Agent": f"pybp/{__version__}", "Accept-Encoding": "identity"}
    for _attempt in range(2):
        start = part.size
        if start:
            headers["Range"] = f"bytes={start}-"
        else:
            headers.pop("Range", None)
        try:
            response = _open(url, headers, timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and start:
                # Nothing past what is there: the partial file is whole (or
                # wrong); start again, to check one whole transfer.
                part.restart()
                continue
            raise _Failed(_reason(exc, timeout)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise _Failed(_reason(exc, timeout)) from None
        with response:
            resumed = 0
            length = response.headers.get("Content-Length")
            try:
                length = int(length) if length is not None else None
            except ValueError:
                length = None
            if response.status == 206:
                first, total = _content_range_start(response.headers.get("Content-Range"))
                if first != start:
                    # Not the part asked for: fetch the whole file instead.
                    part.restart()
                    continue
                resumed = start
                if total is None and length is not None:
                    total = start + length
            else:
                if start:
                    part.restart()  # the server ignores Range: start again
                total = length
            if total is not None and total > limit:
                raise _Failed(f"the server offers {total} bytes, more than "
                              "MNIST's file can be")
            if progress is not None:
                progress(name, part.size, total)
            _copy(response, part, limit, timeout, progress, name, total)
            if total is not None and part.size < total:
                raise _Failed(f"transfer cut short: {part.size} of {total} bytes "
                              "arrived before the connection closed")
            return resumed
    raise _Failed("the server does not answer range requests consistently")


def _copy(response, part, limit, timeout, progress, name, total):
    import http.client
    while True:
        try:
            chunk = response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise _Failed(_reason(exc, timeout)) from None
        if not chunk:
            return
        part.write(chunk)  # a local OSError (disk full) is not the mirror's
        if part.size > limit:
            raise _Failed(f"the server sends more than {limit} bytes, more "
                          "than MNIST's file can be")
        if progress is not None:
            progress(name, part.size, total)


# --- the four files -----------------------------------------------------------


def _present(directory, name):
    """(path, whether it is right) of the file of `name` pybp would read
    from `directory`: the plain file before the .gz, as find_mnist does."""
    for candidate in (name[:-3], name):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path, verify(path, name)
    return None, None


def download_mnist(directory, mirrors=None, *, names=None, timeout=TIMEOUT,
                   progress=None, notice=None, done=None):
    """Download MNIST's four .gz files into `directory` (created if missing).

    mirrors: base URLs, tried in order (default: mirrors_from_environment());
    after the first file, the mirror that delivered the last one is tried
    first.  names: the files to fetch (default: all four, MNIST_PINS).  A
    file already there with the right content is kept; a damaged one is
    replaced.  A download whose content does not
    match its pin is deleted and the next mirror is tried; so is a mirror
    that fails (an HTTP error, no connection, a timeout, a redirect loop, a
    transfer cut short, whose partial file the next attempt continues).

    Callbacks: progress(name, bytes_so_far, total_or_None) while a file
    arrives; notice(text) for each failure that leads to another try;
    done(fetched) when a file is in place.  Returns the Fetched records,
    one per file.  Raises DownloadError when a file came from no mirror,
    ValueError for a mirror that is no http(s) URL, and OSError (naming
    the file) when a file cannot be written.
    """
    directory = os.fspath(directory)
    mirrors = [check_mirror(m) for m in (mirrors_from_environment()
                                         if mirrors is None else mirrors)]
    if not mirrors:
        raise ValueError("no mirror to download from")
    names = list(MNIST_PINS) if names is None else list(names)
    for name in names:
        if name not in MNIST_PINS:
            raise ValueError(f"{name!r} is not one of MNIST's files")
    files.make_directory(directory)
    results = []
    for name in names:
        fetched = _one_file(directory, name, mirrors, timeout, progress, notice)
        results.append(fetched)
        if fetched.url is not None:
            # The next file starts at the mirror that worked: a dead first
            # mirror costs its timeout once, not once per file.
            good = fetched.url[:-len(name)]
            mirrors = [good] + [m for m in mirrors if m != good]
        if done is not None:
            done(fetched)
    return results


def _one_file(directory, name, mirrors, timeout, progress, notice):
    target = os.path.join(directory, name)
    found, problem = _present(directory, name)
    if found is not None and problem is None:
        return Fetched(name, found, "present", None, os.path.getsize(found), 0, False)
    if found is not None and found != target:
        # A plain file that is wrong would be read before any download.
        raise DownloadError(f"{found}: {problem}; pybp reads it before "
                            f"{name}, so move it away first")
    replaced = found is not None
    if replaced and notice is not None:
        notice(f"{found}: {problem}; downloading it again")
    limit = MNIST_PINS[name][1] + _SLACK
    last = len(mirrors) - 1
    for i, base in enumerate(mirrors):
        url = base + name
        try:
            resumed = _from_mirror(url, target, name, limit, timeout, progress, notice)
        except _Failed as exc:
            if i == last:
                tried = f" (every mirror failed: {len(mirrors)} tried)" if last else ""
                raise DownloadError(f"{name} from {url}: {exc}{tried}") from None
            if notice is not None:
                notice(f"{name} from {url}: {exc}; trying the next mirror")
            continue
        return Fetched(name, target, "downloaded", url, os.path.getsize(target),
                       resumed, replaced)
    raise AssertionError("unreachable")  # pragma: no cover


def _from_mirror(url, target, name, limit, timeout, progress, notice):
    """Download url to target, checked; the bytes resumed from.  A resumed
    file that fails its check is fetched once more from its first byte (the
    part from before may have come from another mirror's gzip)."""
    for whole in (False, True):
        with files.PartialFile(target, resume=not whole) as part:
            try:
                resumed = _transfer(url, part, limit, timeout, progress, name)
            except _Failed:
                if part.size == 0:
                    part.discard()  # nothing worth keeping for a resume
                raise
            part.flush()
            problem = verify(part.partial, name)
            if problem is None:
                part.commit()
                return resumed
            part.discard()
        if not resumed:
            raise _Failed(f"{problem}; deleted the download")
        if notice is not None:
            notice(f"{name} from {url}: the resumed download failed its check "
                   f"({problem}); deleted it, downloading it whole")
    raise _Failed(f"{problem}; deleted the download")
