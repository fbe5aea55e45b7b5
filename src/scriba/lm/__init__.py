"""Character n-gram language models for decoding: estimate (modified Kneser-Ney), save/load, query."""

from scriba.lm.estimate import NgramTables, estimate, tidy_sentence
from scriba.lm.ngram import LM_SUFFIX, NgramLM, available_lms, load_lm, resolve_lm

__all__ = ["LM_SUFFIX", "NgramLM", "NgramTables", "available_lms", "estimate", "load_lm", "resolve_lm", "tidy_sentence"]
