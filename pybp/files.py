"""Files: the one module that writes them, and reads that name the file.

Every writer in pybp (models, checkpoints, C exports, PNG and SVG images)
saves through save_file, which replaces a file atomically; a file that
arrives in pieces (a download) is written through PartialFile, which puts
it in place just as atomically and can be continued after an interruption.
Reads go through read_bytes.  An OSError from any of them names the file.
"""

import errno
import os
import stat

__all__ = ["PartialFile", "Reader", "check_writable", "directory_error", "make_directory",
           "named_os_error", "read_bytes", "save_file"]


def directory_error(path, what):
    return IsADirectoryError(errno.EISDIR, "is a directory, not %s" % what,
                             path)


def named_os_error(exc, path):
    """exc, naming `path` if it names no file (a failed read() names none)."""
    if exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, path)
    return exc


_CHUNK = 1 << 20


def read_upto(f, n):
    """Up to n bytes from the file object f, as a bytearray grown a chunk at
    a time: what a file declares about itself costs no memory beyond what
    it really holds, and what is read is held once (no join at the end)."""
    data = bytearray()
    while len(data) < n:
        part = f.read(min(_CHUNK, n - len(data)))
        if not part:
            break
        data += part
    return data


class Reader:
    """A file open for reading, bounded by its caller: read(n) returns at
    most n bytes, and an OSError names the file."""

    def __init__(self, path, what):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise directory_error(self.path, what)
        self._f = open(self.path, "rb")
        try:
            st = os.fstat(self._f.fileno())
        except OSError:  # pragma: no cover - fstat of an open file
            st = None
        # The size a regular file has; None for pipes, devices and the like,
        # whose length is only known by reading them.
        self.size = st.st_size if st is not None and stat.S_ISREG(st.st_mode) else None

    def read(self, n):
        try:
            return self._f.read(n)
        except OSError as exc:
            raise named_os_error(exc, self.path) from None

    def read_upto(self, n):
        """Up to n more bytes (see read_upto)."""
        return bytes(read_upto(self, n))

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_bytes(path, limit=None, what="a file to read"):
    """The bytes of a file, at most `limit` of them (None: all); an error
    while reading names the file."""
    with Reader(path, what) as f:
        if limit is None:
            return f.read(-1)
        return f.read(limit)


def _fsync_directory(directory):
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target(path):
    """Where a save to `path` writes: a symbolic link's final target (the
    link itself stays as it is)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _name_max(directory):
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows)
        return 255


def _shortened(name, room):
    """name, cut to at most `room` bytes of the file system's encoding."""
    raw = os.fsencode(name)
    if len(raw) > room:
        name = os.fsdecode(raw[:room]).rstrip("\udcff") or "pybp"
        while len(os.fsencode(name)) > room:  # a multi-byte character cut in two
            name = name[:-1]
    return name


def _temporary_name(directory, name):
    """A temporary file name beside `name` that fits the file system's name
    limit however long `name` is: `.NAME.XXXXXXXX.tmp`, NAME shortened to fit."""
    room = _name_max(directory) - len("." + ".00000000.tmp")
    return ".%s.%s.tmp" % (_shortened(name, room), os.urandom(4).hex())


def check_writable(path, what="a file to save a model to"):
    """Raise the OSError a later save_file(path) would meet, now: a
    directory in the way, no such directory, a name too long for the file
    system, or a directory this process cannot create files in.  Lets a
    long run check its outputs before it starts."""
    path = _target(os.fspath(path))
    if os.path.isdir(path):
        raise directory_error(path, what)
    if os.path.exists(path) and not os.path.isfile(path):
        return  # a device or pipe: written directly
    directory, name = os.path.split(path)
    directory = directory or os.curdir
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "no such directory to save a "
                                "model in", directory)
    if len(os.fsencode(name)) > _name_max(directory):
        raise OSError(errno.ENAMETOOLONG, "file name too long", path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot create files in this "
                              "directory", directory)


def save_file(path, data, what="a file to save a model to"):
    """Write `data` to `path` atomically: readers see the old file or the new.

    The bytes go to a temporary file in the same directory (a rename is only
    atomic within one file system), are flushed to disk, and then replace
    `path` in one step.  If anything fails, `path` is untouched and the
    temporary file is removed; the OSError names `path`.

    A symbolic link is written through: its target gets the new bytes and
    the link stays.  A file that is neither a regular file nor a directory
    (a terminal, /dev/stdout, a pipe) is written directly, without the
    atomic replace, which it has no use for.
    """
    path = _target(os.fspath(path))
    if os.path.isdir(path):
        raise directory_error(path, what)
    if os.path.exists(path) and not os.path.isfile(path):
        _write_special(path, data)
        return
    directory, name = os.path.split(path)
    directory = directory or os.curdir
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "no such directory to save a "
                                "model in", directory)
    if len(os.fsencode(name)) > _name_max(directory):
        raise OSError(errno.ENAMETOOLONG, "file name too long", path)
    for _ in range(100):
        tmp = os.path.join(directory, _temporary_name(directory, name))
        try:
            # 0o666 before the umask: the permissions a plain open() gives.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise _naming(exc, path) from None
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, "no free temporary name", path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.remove(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    _fsync_directory(directory)


def _write_special(path, data):
    """Write to a device or pipe as it is: no temporary file, no rename."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise _naming(exc, path) from None


def _naming(exc, path):
    """An OSError met while saving `path`, naming `path` (not the temporary
    file, or no file at all) when it has an error number to keep."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, path)


def make_directory(path):
    """Create directory `path` and any missing parents (an existing
    directory is fine); the OSError of a failure names the directory."""
    path = os.fspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists and is not a directory",
                              path) from None
    except OSError as exc:
        raise _naming(exc, path) from None


def _partial_name(directory, name):
    """The fixed name of `name`'s partial file, `.NAME.part`, NAME shortened
    to fit the file system's name limit.  Fixed, so that a later writer
    finds what an interrupted one left."""
    room = _name_max(directory) - len("." + ".part")
    return ".%s.part" % _shortened(name, room)


class PartialFile:
    """A file written in pieces, then put in place atomically.

    The bytes go to a partial file beside `path` (``.NAME.part``, in the
    same directory, so the final rename stays on one file system).
    commit() flushes them to disk and renames the partial file onto `path`
    in one step: readers of `path` see the old file or the whole new one,
    never a part.  discard() removes the partial file; close() without
    commit() leaves it, so that a later PartialFile(path, resume=True)
    continues where this one stopped (``size`` bytes are already there).
    A symbolic link at `path` is written through, as by save_file.  Every
    OSError names `path`; `path` itself is untouched until commit().

    Meant for regular files: a directory, device or pipe at `path` is
    refused.
    """

    def __init__(self, path, resume=False, what="a file to download to"):
        self.path = _target(os.fspath(path))
        if os.path.isdir(self.path):
            raise directory_error(self.path, what)
        if os.path.exists(self.path) and not os.path.isfile(self.path):
            raise OSError(errno.EINVAL, "is not a regular file", self.path)
        directory, name = os.path.split(self.path)
        directory = directory or os.curdir
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, "no such directory to write "
                                    "a file in", directory)
        if len(os.fsencode(name)) > _name_max(directory):
            raise OSError(errno.ENAMETOOLONG, "file name too long", self.path)
        self._directory = directory
        self.partial = os.path.join(directory, _partial_name(directory, name))
        flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_NOFOLLOW", 0))  # never write through a planted link
        try:
            # 0o666 before the umask: the permissions a plain open() gives.
            fd = os.open(self.partial, flags, 0o666)
        except OSError as exc:
            raise _naming(exc, self.path) from None
        self._f = os.fdopen(fd, "r+b")
        try:
            if resume:
                self.size = self._f.seek(0, os.SEEK_END)
            else:
                self._f.truncate(0)
                self.size = 0
        except BaseException as exc:
            self._f.close()
            if isinstance(exc, OSError):
                raise _naming(exc, self.path) from None
            raise

    @property
    def closed(self):
        return self._f.closed

    def write(self, data):
        """Append `data` to the partial file."""
        try:
            self._f.write(data)
        except OSError as exc:
            raise _naming(exc, self.path) from None
        self.size += len(data)

    def restart(self):
        """Empty the partial file, to write it again from its first byte."""
        try:
            self._f.seek(0)
            self._f.truncate(0)
        except OSError as exc:
            raise _naming(exc, self.path) from None
        self.size = 0

    def flush(self):
        """Push what was written to disk, so that the partial file can be
        read back (e.g. checked) before commit()."""
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as exc:
            raise _naming(exc, self.path) from None

    def commit(self):
        """Flush, close and rename the partial file onto `path`."""
        try:
            self.flush()
            self._f.close()
            os.replace(self.partial, self.path)
        except OSError as exc:
            raise _naming(exc, self.path) from None
        _fsync_directory(self._directory)

    def discard(self):
        """Close and remove the partial file (a no-op for one committed)."""
        self._f.close()
        try:
            os.remove(self.partial)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _naming(exc, self.partial) from None

    def close(self):
        """Close, keeping the partial file for a later resume."""
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
