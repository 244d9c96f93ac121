"""The checks every Network method makes of its arguments before a kernel
runs, the same for both backends: numbers, counts, the dtype, finiteness."""

import math

DTYPES = {"float64": "d", "float32": "f"}  # dtype -> array typecode


def check_dtype(dtype, backend):
    """The dtype name, after checking that the backend computes in it."""
    if dtype not in DTYPES:
        raise ValueError("dtype must be 'float64' or 'float32', got %r" % (dtype,))
    if dtype == "float32" and backend != "c":
        raise ValueError("dtype='float32' runs on the C backend only (the "
                         "Python backend is the float64 reference); this "
                         "network's backend is %r" % backend)
    return dtype


def all_finite(values):
    """True if no value is NaN or infinite.

    The sum is a cheap first test: it is finite whenever every value is,
    unless finite values overflow it, which the exact check then settles.
    """
    if math.isfinite(sum(values)):
        return True
    return all(map(math.isfinite, values))


def check_number(value, name, *, positive=False, nonnegative=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number, got %r" % (name, value))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("%s must be finite, got %r" % (name, value))
    if positive and value <= 0.0:
        raise ValueError("%s must be > 0, got %r" % (name, value))
    if nonnegative and value < 0.0:
        raise ValueError("%s must be >= 0, got %r" % (name, value))
    return value


def check_inputs(data, indices):
    """A Dataset's inputs are checked when it is made; one whose buffer was
    written to since (a numpy array, say) is caught here, when training
    diverges on it, instead of blaming the learning rate."""
    for i in indices:
        if not all_finite(data.input(i)):
            raise ValueError("training_data: example %d holds a value that is "
                             "not finite (was its buffer changed after the "
                             "Dataset was made?)" % i)


def check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an integer, got %r" % (name, value))
    if value < 1:
        raise ValueError("%s must be at least 1, got %d" % (name, value))
    return value


# Dense log-likelihood targets must sum to 1 within this much per output
# (|sum_j y_j - 1| <= SUM_TOLERANCE * n_out, the sum from 0.0 in ascending
# j); the C core checks the same.
SUM_TOLERANCE = 1e-9


def check_target_domain(data, cost, what):
    """Dense targets inside the cost's domain: cross-entropy's in [0, 1],
    log-likelihood's non-negative and summing to 1 per example.  Labels and
    the quadratic cost take anything (finite, checked by Dataset)."""
    y = data.y
    if y is None or cost == "quadratic":
        return
    n = data.n_outputs
    if cost == "cross-entropy":
        if min(y) >= 0.0 and max(y) <= 1.0:
            return
        for i, v in enumerate(y):
            if not 0.0 <= v <= 1.0:
                raise ValueError("%s: example %d has target %r, outside [0, 1] "
                                 "(the cross-entropy cost's domain)"
                                 % (what, i // n, v))
        return
    if min(y) < 0.0:
        for i, v in enumerate(y):
            if v < 0.0:
                raise ValueError("%s: example %d has target %r < 0; the "
                                 "log-likelihood cost needs targets that are "
                                 "probabilities (or labels)" % (what, i // n, v))
    tolerance = SUM_TOLERANCE * n
    rows = y.tolist()
    for i in range(data.count):
        total = 0.0
        for v in rows[i * n:(i + 1) * n]:
            total += v
        if not abs(total - 1.0) <= tolerance:
            raise ValueError("%s: the targets of example %d sum to %r; the "
                             "log-likelihood cost needs them to sum to 1 (within "
                             "%g)" % (what, i, total, tolerance))
