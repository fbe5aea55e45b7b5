"""Ensembles: each model proposes its reading, the summed CTC likelihood of all models picks one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scriba.charset import Charset
from scriba.data.images import Preprocessing
from scriba.decoding.greedy import greedy_decode_one
from scriba.ensemble import Ensemble
from scriba.errors import ConfigError
from scriba.model_file import ModelFile
from scriba.models import build_model
from scriba.recognizer import Recognizer
from tests.conftest import REPO


def _recognizer(characters: str) -> Recognizer:
    charset = Charset(characters)
    model = build_model("resnet_crnn", charset.num_classes, 32, {"channels": [8, 8, 8, 8], "hidden": 8, "layers": 1})
    return Recognizer(ModelFile(model, "resnet_crnn", charset, Preprocessing()))


def _frames(charset: Charset, rows: list[dict[str, float]]) -> torch.Tensor:
    """(T, C) log-probabilities: per frame the given characters' probabilities ("" the blank), the rest
    spread thinly."""
    probs = torch.full((len(rows), charset.num_classes), 1e-4)
    for t, row in enumerate(rows):
        for char, p in row.items():
            probs[t, charset.encode(char)[0] if char else 0] = p
    return (probs / probs.sum(1, keepdim=True)).log()


def test_the_reading_both_models_find_likeliest_wins_and_weights_shift_it() -> None:
    a, b = _recognizer("acot"), _recognizer("acot")
    # A reads "cat" (a 0.6 / o 0.4), B reads "cot" (o 0.55 / a 0.45): summed, "cat" is likelier (0.27 > 0.22).
    lp_a = _frames(a.charset, [{"c": 1}, {"a": 0.6, "o": 0.4}, {"t": 1}])
    lp_b = _frames(b.charset, [{"c": 1}, {"o": 0.55, "a": 0.45}, {"t": 1}])
    assert Ensemble([a, b])._combine([[lp_a], [lp_b]]).text == "cat"
    assert Ensemble([b, a])._combine([[lp_b], [lp_a]]).text == "cat"
    # Weighted 1:3, B's view wins: 0.6 * 0.45^3 < 0.4 * 0.55^3.
    assert Ensemble([a, b], weights=[1, 3])._combine([[lp_a], [lp_b]]).text == "cot"


def test_models_with_other_charsets_score_by_text() -> None:
    # B's charset orders the letters differently and lacks "o": texts, not ids, are compared, and a text
    # B cannot write gets B's worst score instead of a veto.
    a, b = _recognizer("acot"), _recognizer("tca")
    lp_a = _frames(a.charset, [{"c": 1}, {"o": 0.9, "a": 0.1}, {"t": 1}])
    lp_b = _frames(b.charset, [{"c": 1}, {"a": 0.3}, {"t": 1}])
    assert b.reading_of(greedy_decode_one(lp_b)).text == "cat"
    # B gives "cot" the score of "cat" (its worst), so A's preference decides.
    assert Ensemble([a, b])._combine([[lp_a], [lp_b]]).text == "cot"


def test_a_model_read_in_variants_proposes_each_and_counts_their_mean() -> None:
    a, b = _recognizer("acot"), _recognizer("acot")
    # A (with test-time augmentation) reads "cat" twice (a 0.6 / o 0.4); B reads "cot" (o 0.65 / a 0.35). By A's
    # mean, "cot" wins (0.4 * 0.65 > 0.6 * 0.35); were A's two variants summed, "cat" would
    # (0.6^2 * 0.35 > 0.4^2 * 0.65).
    lp_a = _frames(a.charset, [{"c": 1}, {"a": 0.6, "o": 0.4}, {"t": 1}])
    lp_b = _frames(b.charset, [{"c": 1}, {"o": 0.65, "a": 0.35}, {"t": 1}])
    assert Ensemble([a, b])._combine([[lp_a, lp_a], [lp_b]]).text == "cot"
    # A proposal of any variant competes: A's second variant alone reads "tot", which A's first finds unlikely.
    lp_tot = _frames(a.charset, [{"t": 1}, {"o": 1}, {"t": 1}])
    lp_b_tot = _frames(b.charset, [{"t": 0.9, "c": 0.1}, {"o": 1}, {"t": 1}])
    assert Ensemble([a, b])._combine([[lp_a, lp_tot], [lp_b_tot]]).text == "tot"


def test_an_empty_reading_is_scored_too() -> None:
    a, b = _recognizer("acot"), _recognizer("acot")
    # A reads nothing (all blanks, the empty text); B reads "a" weakly: both are scored, the empty text wins.
    lp_a = _frames(a.charset, [{"": 1}, {"": 1}])
    lp_b = _frames(b.charset, [{"a": 0.55, "": 0.45}, {"": 1}])
    assert a.reading_of(greedy_decode_one(lp_a)).text == ""
    assert Ensemble([a, b])._combine([[lp_a], [lp_b]]).text == ""


def test_an_ensemble_needs_two_models_and_one_positive_weight_each() -> None:
    a = _recognizer("acot")
    with pytest.raises(ConfigError, match="at least two models"):
        Ensemble([a])
    with pytest.raises(ConfigError, match="one positive weight per model"):
        Ensemble([a, a], weights=[1.0])
    with pytest.raises(ConfigError, match="one positive weight per model"):
        Ensemble([a, a], weights=[1.0, 0.0])


def test_with_a_language_model_the_lm_tips_the_balance_and_alternatives_are_ranked() -> None:
    from scriba.decoding.beam import BeamSearch
    from scriba.lm import NgramLM

    a, b = _recognizer("acot"), _recognizer("acot")
    # Both models lean to "cot"; an LM that knows "cat" well reads "cat".
    lp_a = _frames(a.charset, [{"c": 1}, {"o": 0.55, "a": 0.45}, {"t": 1}])
    lp_b = _frames(b.charset, [{"c": 1}, {"o": 0.6, "a": 0.4}, {"t": 1}])
    assert Ensemble([a, b])._combine([[lp_a], [lp_b]]).text == "cot"
    lm = NgramLM.build(["cat"] * 50 + ["cot"], order=3)
    a.decoder, a.alternatives = BeamSearch(a.charset, lm, lm_weight=1.0, insertion_bonus=0.0), 2
    ensemble = Ensemble([a, b])  # decodes as its first model does
    reading = ensemble._combine([[lp_a], [lp_b]])
    assert reading.text == "cat" and reading.alternatives is not None
    assert [x.text for x in reading.alternatives] == ["cat", "cot"]
    assert reading.alternatives[0].lm == pytest.approx(lm.log_prob("cat"), abs=1e-6)
    assert reading.alternatives[0].score >= reading.alternatives[1].score


def test_an_ensemble_reads_images_and_ink_as_its_models_do() -> None:
    """Two copies of one model propose the same readings: the ensemble reads each input, in order, as the model."""
    english = Recognizer.load("english", lm=None)
    ensemble = Ensemble([english, Recognizer.load("english", lm=None)])
    paths = sorted((REPO / "examples").glob("*.png"))
    assert [r.text for r in ensemble.read_images(paths)] == [r.text for r in english.read_images(paths)]
    assert ensemble.read_image(paths[-1]).text == english.read_image(paths[-1]).text
    with pytest.raises(TypeError, match="read_image reads one"):
        ensemble.read_images(paths[0])  # type: ignore[arg-type]
    t = np.linspace(0, 2 * np.pi, 40)
    inks = [[np.stack([100 + 30 * np.cos(t), 100 + 30 * np.sin(t)], axis=1)], [np.array([[0.0, 0], [0, 60]])]]
    assert [r.text for r in ensemble.read_inks(inks)] == [r.text for r in english.read_inks(inks)]
    assert ensemble.read_ink(inks[0]).text == english.read_ink(inks[0]).text
