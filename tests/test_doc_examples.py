"""docs/run_examples.py, which CI runs on the tutorial: it must see a
promised output that a command no longer prints."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "run_examples.py"
if not SCRIPT.exists():  # pragma: no cover - an installed copy of the tests
    pytest.skip("needs the source tree", allow_module_level=True)
spec = importlib.util.spec_from_file_location("run_examples", SCRIPT)
run_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_examples)

DOC = """# A document

<!-- not run -->
```sh
pip install .
```

```sh
echo "epoch 1/3: 10 correct, 0.28 s"
echo "epoch 2/3: 11 correct, 0.31 s"
echo "epoch 3/3: 12 correct, 0.25 s"
```

    epoch 1/3: 10 correct, 0.12 s
    ...
    epoch 3/3: 12 correct, 9.99 s

```sh
echo "bench: 6.0 us"
```
<!-- output varies -->

    anything at all

```python
print("from python")
```

    from python
"""


def test_a_document_whose_outputs_hold(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    assert run_examples.main([str(doc)]) == 0


def test_a_changed_output_is_found_and_can_be_rewritten(tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text(DOC.replace("epoch 3/3: 12 correct, 9.99 s", "epoch 3/3: 13 correct, 1 s"))
    assert run_examples.main([str(doc)]) == 1
    assert "output differs" in capsys.readouterr().out
    assert run_examples.main([str(doc), "--update"]) == 0
    text = doc.read_text()
    assert "epoch 3/3: 12 correct" in text and "13 correct" not in text
    assert run_examples.main([str(doc)]) == 0


def test_matching_rules():
    m = run_examples.matches
    assert m(["a", "...", "z"], ["a", "b", "c", "z"])
    assert m(["a", "...", "z"], ["a", "z"])
    assert not m(["a", "z"], ["a", "b", "z"])
    assert m(["took 0.5 s", "~3.01 s left"], ["took 12.25 s", "4 s left"])
    assert not m(["12 correct"], ["13 correct"])
    assert m(["from …/data/mnist"], ["from /some/where/data/mnist"])
