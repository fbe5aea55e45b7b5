"""Contributor tooling, not part of scriba: a package only so that pytest imports its tests from the repository."""
