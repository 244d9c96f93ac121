"""`pybp bench gradient`: backpropagation against finite differences.

Timings are not asserted (machines differ); the structure of the results
and the agreement of the two gradients are.
"""

import json

import pytest

from pybp import gradbench

from helpers import run


def test_full_finite_differences(backend):
    rec = gradbench.bench_gradient([4, 3, 2], backend=backend, batch=3,
                                   budget=60.0)
    assert rec["params"] == 4 * 3 + 3 + 3 * 2 + 2
    assert rec["fd_params"] == rec["params"] and not rec["fd_estimated"]
    assert rec["backend"] == backend and rec["batch"] == 3
    assert rec["backprop_seconds"] > 0 and rec["fd_seconds"] > 0
    assert rec["ratio"] == pytest.approx(rec["fd_seconds"]
                                         / rec["backprop_seconds"])
    assert rec["max_rel_error"] < 1e-5


def test_budget_extrapolates(backend):
    rec = gradbench.bench_gradient([6, 5, 3], backend=backend, batch=2,
                                   budget=0.0)
    assert rec["fd_params"] == 1 and rec["fd_estimated"]
    assert rec["max_rel_error"] < 1e-5
    table = gradbench.format_table([rec])
    assert "~" in table.splitlines()[1]
    assert "6-5-3: 1 of 53 parameters" in table


@pytest.mark.parametrize("activation,cost", [("tanh", "quadratic"),
                                             ("sigmoid", "cross-entropy")])
def test_other_networks_agree(activation, cost):
    rec = gradbench.bench_gradient([3, 4, 2], backend="python", batch=4,
                                   activation=activation, cost=cost, budget=60)
    assert rec["max_rel_error"] < 1e-5


def test_relative_error():
    assert gradbench.relative_error(1.0, 1.0) == 0.0
    assert gradbench.relative_error(2.0, 1.0) == 0.5
    assert gradbench.relative_error(0.0, 1e-9) == pytest.approx(1e-5)  # floor


def test_cli_table(backend):
    status, out, err = run(["bench", "gradient", "--backend", backend,
                            "--sizes-list", "4,3,2", "5,4,3", "--batch", 2,
                            "--budget", 30])
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("backprop vs finite differences: backend %s"
                               % backend)
    assert lines[1].split() == ["sizes", "P", "backprop", "finite", "diff",
                                "ratio", "max", "rel", "err"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["4-3-2", "5-4-3"]
    assert [int(r[1]) for r in rows] == [23, 39]
    for r in rows:
        assert float(r[-2]) > 0          # the ratio
        assert float(r[-1]) < 1e-5       # the agreement
        assert not r[4].startswith("~")  # the budget sufficed: no estimate
    assert len(rows) == 2                # and hence no notes


def test_cli_json(backend):
    status, out, err = run(["bench", "gradient", "--backend", backend,
                            "--sizes-list", "3,2,2", "--batch", 1,
                            "--budget", 0, "--json"])
    assert status == 0, err
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert rec["sizes"] == [3, 2, 2] and rec["params"] == 14
    assert rec["fd_estimated"] and rec["fd_params"] == 1


def test_cli_errors():
    status, _, err = run(["bench", "gradient", "--sizes-list", "4"])
    assert status == 2 and "--sizes-list" in err
    status, _, err = run(["bench"])
    assert status == 2
    status, _, err = run(["bench", "gradient", "--batch", 0])
    assert status == 2 and "--batch" in err
