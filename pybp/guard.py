"""One Network, one training thread: the guard that refuses concurrent use
which would lose updates or read half-written parameters."""

import threading


class Guard:
    """Refuses the concurrent use of one network that would lose updates or
    read half-written parameters: while one thread trains (writes), no other
    may use it; any number may read at once.  A thread may read during its
    own training (sgd evaluates between epochs)."""

    __slots__ = ("_lock", "_readers", "_writer", "_depth")

    def __init__(self):
        self._lock = threading.Lock()
        self._readers = 0
        self._writer = None  # the training thread's id
        self._depth = 0

    def enter(self, write):
        me = threading.get_ident()
        with self._lock:
            if self._writer is not None and self._writer != me \
                    or write and self._writer is None and self._readers:
                raise RuntimeError(
                    "this Network is in use by another thread; one Network "
                    "trains in one thread at a time (give each thread its own "
                    "net.copy())")
            if write:
                self._writer = me
                self._depth += 1
            else:
                self._readers += 1

    def leave(self, write):
        with self._lock:
            if write:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
            else:
                self._readers -= 1


class Use:
    """with _Use(guard, write): ... holds the guard for a block."""

    __slots__ = ("guard", "write")

    def __init__(self, guard, write):
        self.guard, self.write = guard, write

    def __enter__(self):
        self.guard.enter(self.write)

    def __exit__(self, *exc):
        self.guard.leave(self.write)
