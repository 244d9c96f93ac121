"""The other implementations bench/grid.py times pybp against.

Each trainer holds its own parameters, starting from the same numbers as
pybp's network (given as weights W^l, n_out x n_in, and biases), and trains
on, epoch after epoch, like a real run.  `runner(n)` gives a callable that
trains one epoch on the first n examples, shuffled anew, and does nothing
else: the caller times it from outside.  The inputs are float arrays of the
network's precision, made once before timing (pybp reads MNIST's bytes and
divides by 255 as it goes).
"""

from functools import partial

ETA = 3.0


class NumpyTrainer:
    """Fully matrix-based mini-batch backpropagation in numpy: a mini-batch
    is one matrix, an example a row; the math of docs/math.md."""

    name = "numpy"

    def __init__(self, np, weights, biases, x, labels, m):
        self.np = np
        self.ws = [np.array(w, dtype=x.dtype) for w in weights]
        self.bs = [np.array(b, dtype=x.dtype) for b in biases]
        self.x, self.labels, self.m = x, labels, m
        self.eye = np.eye(len(self.bs[-1]), dtype=x.dtype)
        self.eta = x.dtype.type(ETA)
        self.rng = np.random.default_rng(1)

    def runner(self, n):
        return partial(self._epoch, self.x[:n], self.labels[:n])

    def _epoch(self, x, labels):
        np, ws, bs, m, eye = self.np, self.ws, self.bs, self.m, self.eye
        perm = self.rng.permutation(len(x))
        with np.errstate(over="ignore"):  # exp(-z) is inf for very negative z: a = 0
            for lo in range(0, len(x), m):
                idx = perm[lo:lo + m]
                a = x[idx]
                acts = [a]
                for w, b in zip(ws, bs):                             # feedforward
                    a = 1.0 / (1.0 + np.exp(-(a @ w.T + b)))
                    acts.append(a)
                d = (a - eye[labels[idx]]) * a * (1.0 - a)           # BP1
                step = self.eta / len(idx)
                for l in range(len(ws) - 1, -1, -1):
                    gw = d.T @ acts[l]                                # BP4
                    gb = d.sum(axis=0)                                # BP3
                    if l:
                        d = (d @ ws[l]) * acts[l] * (1.0 - acts[l])   # BP2
                    ws[l] -= step * gw
                    bs[l] -= step * gb


def numpy_forward(np, ws, bs, x):
    """a^L for one input vector or a matrix of input rows."""
    a = x
    with np.errstate(over="ignore"):
        for w, b in zip(ws, bs):
            a = 1.0 / (1.0 + np.exp(-(a @ w.T + b)))
    return a


def torch_model(torch, weights, biases, dtype):
    """nn.Sequential of Linear + Sigmoid with the given parameters."""
    layers = []
    for w in weights:
        layers += [torch.nn.Linear(w.shape[1], w.shape[0]), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers).to(dtype)
    with torch.no_grad():
        for layer, w, b in zip(model[::2], weights, biases):
            layer.weight.copy_(torch.as_tensor(w))
            layer.bias.copy_(torch.as_tensor(b))
    return model


class TorchTrainer:
    """Idiomatic PyTorch: autograd and optim.SGD on nn.Linear + Sigmoid, the
    cost 0.5 * sum (a - y)^2 averaged over the mini-batch (pybp's quadratic
    cost)."""

    name = "torch"

    def __init__(self, torch, weights, biases, x, labels, m):
        dtype = torch.float64 if x.dtype.itemsize == 8 else torch.float32
        self.torch, self.m = torch, m
        self.model = torch_model(torch, weights, biases, dtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=ETA)
        self.x = torch.from_numpy(x)
        self.y = torch.nn.functional.one_hot(torch.from_numpy(labels).long(),
                                             len(biases[-1])).to(dtype)
        self.gen = torch.Generator().manual_seed(1)

    def runner(self, n):
        return partial(self._epoch, self.x[:n], self.y[:n])

    def _epoch(self, x, y):
        torch, model, opt, m = self.torch, self.model, self.opt, self.m
        perm = torch.randperm(len(x), generator=self.gen)
        for lo in range(0, len(x), m):
            idx = perm[lo:lo + m]
            opt.zero_grad()
            out = model(x[idx])
            loss = 0.5 * ((out - y[idx]) ** 2).sum() / len(idx)
            loss.backward()
            opt.step()


class SklearnTrainer:
    """scikit-learn's MLPClassifier, plain SGD, one epoch per partial_fit.

    Not the same math: its output layer is softmax with the log-loss (it
    has no sigmoid output with a quadratic cost); the hidden layers are
    sigmoid ("logistic"), the parameters start from pybp's, and with
    momentum 0, alpha 0 and a constant rate eta it is otherwise plain
    mini-batch SGD.
    """

    name = "sklearn"

    def __init__(self, np, MLPClassifier, weights, biases, x, labels, m):
        self.x, self.labels = x, labels
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(len(b) for b in biases[:-1]), solver="sgd",
            activation="logistic", momentum=0, alpha=0, learning_rate="constant",
            learning_rate_init=ETA, batch_size=m, nesterovs_momentum=False,
            shuffle=True, random_state=1)
        # A first call on one mini-batch builds the layers; then pybp's numbers.
        self.clf.partial_fit(x[:m], labels[:m], classes=np.arange(len(biases[-1])))
        for c, w in zip(self.clf.coefs_, weights):
            c[...] = np.asarray(w).T
        for c, b in zip(self.clf.intercepts_, biases):
            c[...] = b

    def runner(self, n):
        return partial(self.clf.partial_fit, self.x[:n], self.labels[:n])
