"""The fixtures of tests/ that the tooling's tests use too."""

from tests.conftest import iam_ondb_dir  # noqa: F401  (pytest finds fixtures in a conftest's namespace)
