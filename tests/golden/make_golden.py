"""Regenerate this directory's golden cases (pybp.golden writes them):

    python tests/golden/make_golden.py [DIR]

A deliberate act: run it when the numbers change on purpose (CONTRIBUTING.md)
and commit the files with the change that made them.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    from pybp import golden
    directory = argv[1] if len(argv) > 1 else HERE
    count = golden.write(directory)
    print("wrote %d cases and MANIFEST to %s" % (count, directory))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    main(sys.argv)
