"""Run the commands of a Markdown document and check the output it shows.

    python docs/run_examples.py docs/tutorial.md            # check
    python docs/run_examples.py docs/tutorial.md --update   # rewrite the outputs

Every ```sh block is run, line by line, with bash in a scratch directory
(never in the checkout) where data/mnist points at the checkout's MNIST; a
```python block is run with the Python running this script, a ```c block
whose first line names its file (/* name.c: ... */) is written there.  The
indented block (four spaces) right after a ```sh or ```python block is the
output the document promises.  Lines are compared after blanking what
changes from run to run: timings ("0.28 s", "6.0 us", "~3.01 s"), the
directory MNIST was found in, and "left" estimates.  A line "..." stands
for any number of lines.  A block that is shown only as an illustration
(timings in every cell) is preceded by an HTML comment <!-- output varies -->
and is run but not compared; a block preceded by <!-- not run --> is
shown only (an install command, say).

--update writes the outputs that ran back into the document (keeping each
block's "..." elisions where the real output has more lines), so that a
change of numbers is one command and a reviewable diff.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\w*)\s*$")
VARIES = "<!-- output varies -->"
NOT_RUN = "<!-- not run -->"
# What changes between runs of the same commands.
_NOISE = [
    (re.compile(r"~?\d+(?:\.\d+)? (?:s|ms|us|minutes)\b"), "T"),
    (re.compile(r"\d+s left"), "Ts left"),
    (re.compile(r"from \S*data/mnist"), "from .../data/mnist"),
    (re.compile(r"from …/data/mnist"), "from .../data/mnist"),
]


def normalise(line):
    for pattern, repl in _NOISE:
        line = pattern.sub(repl, line)
    return line.rstrip()


class Block:
    """A fenced block (kind, lines, where) and the output block after it."""

    def __init__(self, kind, start, end, lines):
        self.kind, self.start, self.end, self.lines = kind, start, end, lines
        self.output = None        # (start, end) line range of the output block
        self.expected = []
        self.varies = False
        self.skip = False          # shown, never run (e.g. an install)


def parse(text):
    """The fenced blocks of a document, with the output block following each."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        block = Block(m.group(1), i, j, lines[i + 1:j])
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        block.skip = before >= 0 and lines[before].strip() == NOT_RUN
        blocks.append(block)
        k = j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k < len(lines) and lines[k].strip() == VARIES:
            block.varies = True
            k += 1
            while k < len(lines) and not lines[k].strip():
                k += 1
        if k < len(lines) and lines[k].startswith("    "):
            end = k
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            while not lines[end - 1].strip():
                end -= 1
            block.output = (k, end)
            block.expected = [line[4:] for line in lines[k:end]]
        i = j + 1
    return lines, blocks


def matches(expected, got):
    """Whether the output lines fit the expected ones ("..." skips lines)."""
    exp = [normalise(e) for e in expected]
    out = [normalise(g) for g in got]

    def fit(a, b):
        if a == len(exp):
            return b == len(out)
        if exp[a] == "...":
            return any(fit(a + 1, c) for c in range(b, len(out) + 1))
        return b < len(out) and exp[a] == out[b] and fit(a + 1, b + 1)
    return fit(0, 0)


def elide_like(expected, got):
    """The real output, cut where the document's block has "...": the block
    is segments between "..." lines; the first segment takes the first lines
    of the output, the last one the last lines, one in between the lines
    from where its first line's beginning (up to a colon) turns up.  Review
    the diff: numbers in the prose may need a change too."""
    got = [re.sub(r"from \S*data/mnist", "from …/data/mnist", g) for g in got]
    if "..." not in expected:
        return got
    segments, current = [], []
    for e in expected:
        if e == "...":
            segments.append(current)
            current = []
        else:
            current.append(e)
    segments.append(current)
    out, at = list(got[:len(segments[0])]), len(segments[0])
    for seg in segments[1:-1]:
        head = normalise(seg[0]).split(":")[0] if seg else None
        start = next((i for i in range(at, len(got))
                      if normalise(got[i]).split(":")[0] == head), at)
        out += ["..."] + got[start:start + len(seg)]
        at = start + len(seg)
    tail = segments[-1]
    out += ["..."] + (got[len(got) - len(tail):] if tail else [])
    return out


def run_block(block, scratch):
    if block.kind == "sh":
        script = "set -e\n" + "\n".join(block.lines) + "\n"
        proc = subprocess.run(["bash", "-c", script], cwd=scratch, capture_output=True,
                              text=True, timeout=900)
    elif block.kind == "python":
        proc = subprocess.run([sys.executable, "-c", "\n".join(block.lines)], cwd=scratch,
                              capture_output=True, text=True, timeout=900)
    elif block.kind == "c":
        m = re.match(r"/\* (\S+\.c)", block.lines[0]) if block.lines else None
        if m:
            with open(os.path.join(scratch, m.group(1)), "w", encoding="utf-8") as f:
                f.write("\n".join(block.lines) + "\n")
        return None
    else:
        return None
    if proc.returncode != 0:
        raise SystemExit("run_examples: this block failed (exit %d):\n%s\n%s%s"
                         % (proc.returncode, "\n".join(block.lines), proc.stdout,
                            proc.stderr))
    return proc.stdout.rstrip("\n").split("\n") if proc.stdout.strip() else []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("document")
    ap.add_argument("--update", action="store_true",
                    help="write the outputs back into the document")
    args = ap.parse_args(argv)
    doc = os.path.abspath(args.document)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(doc, encoding="utf-8") as f:
        lines, blocks = parse(f.read())
    bad = 0
    replacements = []
    with tempfile.TemporaryDirectory(prefix="pybp-doc-") as scratch:
        os.makedirs(os.path.join(scratch, "data"))
        os.symlink(os.path.join(root, "data", "mnist"), os.path.join(scratch, "data", "mnist"))
        for block in blocks:
            if block.skip:
                continue
            got = run_block(block, scratch)
            if got is None or block.output is None or block.varies:
                continue
            if not matches(block.expected, got):
                bad += 1
                print("--- %s, line %d: output differs" % (args.document, block.output[0] + 1))
                print("expected:\n    " + "\n    ".join(block.expected))
                print("got:\n    " + "\n    ".join(got))
                replacements.append((block.output, elide_like(block.expected, got)))
    if args.update and replacements:
        for (start, end), new in sorted(replacements, reverse=True):
            lines[start:end] = ["    " + g if g else "" for g in new]
        with open(doc, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print("run_examples: rewrote %d output blocks of %s" % (len(replacements),
                                                                  args.document))
        return 0
    print("run_examples: %d blocks, %d outputs differ" % (len(blocks), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
