"""NetSpec: a network's shape, activations and cost, validated once."""

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "softmax")
COSTS = ("quadratic", "cross-entropy", "log-likelihood")

# The C core's codes (csrc/pybp.h).
ACTIVATION_CODES = {name: i for i, name in enumerate(ACTIVATIONS, start=1)}
COST_CODES = {name: i for i, name in enumerate(COSTS, start=1)}

MAX_LAYERS = 64


def _canonical(name, choices, what):
    if not isinstance(name, str):
        raise TypeError("%s must be a string, got %r" % (what, name))
    key = name.strip().lower().replace("_", "-")
    aliases = {"crossentropy": "cross-entropy", "loglikelihood": "log-likelihood",
               "linear": "identity", "mse": "quadratic"}
    key = aliases.get(key, key)
    if key not in choices:
        raise ValueError("unknown %s %r (choose from %s)"
                         % (what, name, ", ".join(choices)))
    return key


class NetSpec:
    """Layer sizes n_0 .. n_L, one activation per layer 1 .. L, and the cost."""

    __slots__ = ("sizes", "activations", "cost", "nparams", "_c")

    def __init__(self, sizes, activation="sigmoid", cost="quadratic"):
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
        L = len(sizes) - 1
        if isinstance(activation, str):
            acts = [activation] * L
        else:
            try:
                acts = list(activation)
            except TypeError:
                raise TypeError("activation must be a name or a list of names")
            if len(acts) != L:
                raise ValueError("need %d activations (one per non-input layer), "
                                 "got %d" % (L, len(acts)))
        acts = tuple(_canonical(a, ACTIVATIONS, "activation") for a in acts)
        for l, a in enumerate(acts[:-1], start=1):
            if a == "softmax":
                raise ValueError("softmax is only allowed on the output layer, "
                                 "not layer %d of %d" % (l, L))
        cost = _canonical(cost, COSTS, "cost")
        out = acts[-1]
        if cost == "cross-entropy" and out != "sigmoid":
            raise ValueError("the cross-entropy cost needs sigmoid outputs, "
                             "the output layer is %s" % out)
        if cost == "log-likelihood" and out != "softmax":
            raise ValueError("the log-likelihood cost needs softmax outputs, "
                             "the output layer is %s" % out)
        if cost == "quadratic" and out == "softmax":
            raise ValueError("softmax outputs go with the log-likelihood cost, "
                             "not quadratic")
        self.sizes = sizes
        self.activations = acts
        self.cost = cost
        self.nparams = sum(n * (m + 1) for m, n in zip(sizes, sizes[1:]))
        self._c = None  # the C core's descriptor, built on first use

    def __eq__(self, other):
        return (isinstance(other, NetSpec) and self.sizes == other.sizes
                and self.activations == other.activations
                and self.cost == other.cost)

    def __hash__(self):
        return hash((self.sizes, self.activations, self.cost))

    def __repr__(self):
        return "NetSpec(%r, %r, %r)" % (list(self.sizes), list(self.activations),
                                        self.cost)
