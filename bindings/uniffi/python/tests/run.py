"""Runs the Python binding's tests (unittest, standard library only) and
ends with one summary line, 'python: N passed, N failed'. Exit status 0
only if every test passed and at least one ran.

Usage: python3 bindings/uniffi/python/tests/run.py   (from anywhere; the
generated module and the shared library must be in python/chatcrypt/;
CHATCRYPT_TESTS=<glob> runs only the matching test files)."""

import os
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# CHATCRYPT_TESTS narrows the files (a glob, e.g. test_vectors.py; ci.sh's
# runs on corrupted vector files need only the vector runner).
pattern = os.environ.get("CHATCRYPT_TESTS", "test_*.py")
suite = unittest.defaultTestLoader.discover(str(HERE), pattern=pattern, top_level_dir=str(HERE))
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - failed - len(result.skipped)
print("python: %d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 and passed > 0 else 1)
