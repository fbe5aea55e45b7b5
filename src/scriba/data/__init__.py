"""Datasets: readers, cleaning, image preprocessing, ink rendering, torch datasets."""

from scriba.data.records import Ink, Record

__all__ = ["Ink", "Record"]
