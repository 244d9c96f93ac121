"""Files: the one module that writes them, and reads that name the file.

Every writer in pybp (models, checkpoints, C exports, PNG and SVG images)
saves through save_file, which replaces a file atomically; reads go
through read_bytes.  An OSError from either names the file.
"""

import errno
import os

__all__ = ["directory_error", "named_os_error", "read_bytes", "save_file"]


def directory_error(path, what):
    return IsADirectoryError(errno.EISDIR, "is a directory, not %s" % what,
                             path)


def named_os_error(exc, path):
    """exc, naming `path` if it names no file (a failed read() names none)."""
    if exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, path)
    return exc


def read_bytes(path):
    """All the bytes of a file; an error while reading names the file."""
    with open(path, "rb") as f:
        try:
            return f.read()
        except OSError as exc:
            raise named_os_error(exc, path) from None


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


def save_file(path, data):
    """Write `data` to `path` atomically: readers see the old file or the new.

    The bytes go to a temporary file in the same directory (a rename is only
    atomic within one file system), are flushed to disk, and then replace
    `path` in one step.  If anything fails, `path` is untouched and the
    temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise directory_error(path, "a file to save a model to")
    directory, name = os.path.split(path)
    directory = directory or os.curdir
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "no such directory to save a "
                                "model in", directory)
    for _ in range(100):
        tmp = os.path.join(directory, ".%s.%s.tmp" % (name, os.urandom(4).hex()))
        try:
            # 0o666 before the umask: the permissions a plain open() gives.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, "no free temporary name", path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
