"""Decoders: pure functions from log-probs (T, N, C) to ids."""

from scriba.decoding.greedy import Decoded, greedy_decode

__all__ = ["Decoded", "greedy_decode"]
