"""The network rules and the flat parameter layout, owned here once.

A network is its layer sizes n_0 .. n_L, one activation per layer 1 .. L and
a cost (docs/math.md).  Its parameters live in one flat array, layer by
layer: W^l row by row (w^l_jk at w_off + j*n_(l-1) + k), then b^l, so
layer l takes n_l (n_(l-1) + 1) places.  Everything in pybp that needs an
offset asks this module; the C core checks the same rules again on its
side (it never trusts its caller).

The codes and limits below are csrc/pybp.h's PYBP_* constants; a test
compares them with the header.
"""

from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

ACTIVATION_CODES = {"sigmoid": 1, "tanh": 2, "relu": 3, "identity": 4,
                    "softmax": 5}
COST_CODES = {"quadratic": 1, "cross-entropy": 2, "log-likelihood": 3}
ACTIVATIONS = tuple(ACTIVATION_CODES)
COSTS = tuple(COST_CODES)

MAX_LAYERS = 64   # PYBP_MAX_LAYERS
MAX_THREADS = 64  # PYBP_MAX_THREADS

_ALIASES = {"crossentropy": "cross-entropy", "loglikelihood": "log-likelihood",
            "linear": "identity", "mse": "quadratic"}


# --- the flat layout ---------------------------------------------------------


def nparams(sizes: Sequence[int]) -> int:
    """P = sum_l n_l (n_(l-1) + 1)."""
    return sum(n * (m + 1) for m, n in zip(sizes, sizes[1:]))


def layer_offsets(sizes: Sequence[int]) -> List[Tuple[int, int]]:
    """(offset of W^l, offset of b^l) for l = 1 .. L."""
    out = []
    off = 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        out.append((off, off + n_out * n_in))
        off += n_out * (n_in + 1)
    return out


class Layer(NamedTuple):
    """Where layer l lies in the flat array: W^l at w .. b-1 (row j from
    w + j*n_in), b^l at b .. end-1."""

    w: int
    b: int
    end: int
    n_in: int
    n_out: int


def layers(sizes: Sequence[int]) -> List[Layer]:
    """The Layer of each l = 1 .. L."""
    return [Layer(w, b, b + n_out, n_in, n_out) for (w, b), n_in, n_out
            in zip(layer_offsets(sizes), sizes, sizes[1:])]


# --- the rules ----------------------------------------------------------------


def canonical(name: object, choices: Sequence[str], what: str) -> str:
    """The canonical activation or cost name for `name` (aliases, case and
    _/- folded); TypeError or ValueError naming `what` otherwise."""
    if not isinstance(name, str):
        raise TypeError("%s must be a string, got %r" % (what, name))
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in choices:
        raise ValueError("unknown %s %r (choose from %s)"
                         % (what, name, ", ".join(choices)))
    return key


def combination_problem(activations: Sequence[str], cost: str) -> Optional[str]:
    """Why these (canonical) activations and cost cannot form a network, or None.

    Softmax belongs on the output layer only; cross-entropy needs sigmoid
    outputs, log-likelihood softmax outputs, and softmax outputs need the
    log-likelihood cost.
    """
    L = len(activations)
    for l, a in enumerate(activations[:-1], start=1):
        if a == "softmax":
            return ("softmax is only allowed on the output layer, not layer "
                    "%d of %d" % (l, L))
    out = activations[-1]
    if cost == "cross-entropy" and out != "sigmoid":
        return ("the cross-entropy cost needs sigmoid outputs, the output "
                "layer is %s" % out)
    if cost == "log-likelihood" and out != "softmax":
        return ("the log-likelihood cost needs softmax outputs, the output "
                "layer is %s" % out)
    if cost == "quadratic" and out == "softmax":
        return "softmax outputs go with the log-likelihood cost, not quadratic"
    return None


def _check_sizes(sizes: Any) -> Tuple[int, ...]:
    if isinstance(sizes, (str, bytes)):
        raise TypeError("sizes must be a sequence of integers, e.g. [784, 30, 10]")
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError("sizes must be a sequence of integers, got %r"
                        % (sizes,)) from None
    if len(sizes) < 2:
        raise ValueError("a network needs at least 2 layers (input and "
                         "output), got sizes %r" % (sizes,))
    if len(sizes) > MAX_LAYERS:
        raise ValueError("at most %d layers are supported, got %d"
                         % (MAX_LAYERS, len(sizes)))
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("layer size %d must be an integer, got %r" % (i, n))
        if n < 1:
            raise ValueError("layer size %d must be at least 1, got %d" % (i, n))
    return sizes


def _check_activations(activation: Any, L: int) -> Tuple[str, ...]:
    if isinstance(activation, str):
        acts = [activation] * L
    else:
        try:
            acts = list(activation)
        except TypeError:
            raise TypeError("activation must be a name or a list of names") from None
        if len(acts) != L:
            raise ValueError("need %d activations (one per non-input layer), "
                             "got %d" % (L, len(acts)))
    return tuple(canonical(a, ACTIVATIONS, "activation") for a in acts)


class NetSpec:
    """Layer sizes n_0 .. n_L, one activation per layer 1 .. L, and the cost,
    validated once; with the parameter count and the layer offsets."""

    __slots__ = ("sizes", "activations", "cost", "nparams", "offsets", "_c")

    def __init__(self, sizes: Sequence[int], activation: object = "sigmoid",
                 cost: str = "quadratic") -> None:
        self.sizes = _check_sizes(sizes)
        self.activations = _check_activations(activation, len(self.sizes) - 1)
        self.cost = canonical(cost, COSTS, "cost")
        problem = combination_problem(self.activations, self.cost)
        if problem:
            raise ValueError(problem)
        self.nparams = nparams(self.sizes)
        self.offsets = layer_offsets(self.sizes)
        self._c: object = None  # the C core's descriptor, built on first use

    def layers(self) -> List[Layer]:
        """The Layer (offsets and shape) of each l = 1 .. L."""
        return layers(self.sizes)

    def weight_views(self, params: object) -> List[memoryview]:
        """W^1 .. W^L as 2-D memoryviews (w[j, k]) into a flat buffer."""
        mv = memoryview(params)  # type: ignore[arg-type]
        code, size = mv.format, mv.itemsize
        raw: Any = mv.cast("B")
        return [raw[size * ly.w:size * ly.b].cast(code, (ly.n_out, ly.n_in))
                for ly in self.layers()]

    def bias_views(self, params: object) -> List[memoryview]:
        """b^1 .. b^L as memoryviews into a flat buffer."""
        mv = memoryview(params)  # type: ignore[arg-type]
        return [mv[ly.b:ly.end] for ly in self.layers()]

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, NetSpec) and self.sizes == other.sizes
                and self.activations == other.activations
                and self.cost == other.cost)

    def __hash__(self) -> int:
        return hash((self.sizes, self.activations, self.cost))

    def __repr__(self) -> str:
        return "NetSpec(%r, %r, %r)" % (list(self.sizes), list(self.activations),
                                        self.cost)
