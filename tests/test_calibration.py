"""Blank / space calibration: the closed-form search decodes like the greedy decoder, finds offsets that
undo deletions, and folds them into the model so that every decoder reads the calibrated scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from scriba.calibration import (
    _Frames,
    apply_offsets,
    apply_temperature,
    calibrate,
    calibrate_model_file,
    fit_temperature,
    output_layer,
)
from scriba.charset import BLANK, Charset
from scriba.data.images import Preprocessing
from scriba.decoding import greedy_decode, greedy_decode_one
from scriba.errors import ConfigError
from scriba.model_file import ModelFile, load_model_file
from scriba.models import build_model
from scriba.recognizer import Recognizer
from tests.cli_helpers import assert_one_line_error, run
from tests.conftest import REPO
from tests.synthetic import tiny_overrides

TINY = REPO / "configs" / "tiny.yaml"
CHARSET = Charset("ab ")  # a=1, b=2, space=3


def _frames(rows: list[dict[int, float]]) -> torch.Tensor:
    """(T, 4) log-probs from per-frame {class: probability} (the rest spread over the other classes)."""
    probs = torch.full((len(rows), CHARSET.num_classes), 0.0, dtype=torch.float64)
    for t, row in enumerate(rows):
        rest = (1 - sum(row.values())) / (CHARSET.num_classes - len(row))
        probs[t] = rest
        for label, p in row.items():
            probs[t, label] = p
    return probs.log().float()


def test_search_decodes_like_the_greedy_decoder() -> None:
    generator = torch.Generator().manual_seed(0)
    lengths = [7, 1, 0, 12, 3]
    log_probs = [torch.randn(n, 6, generator=generator).log_softmax(-1) for n in lengths]
    frames = _Frames(log_probs, space=4)
    decoded = frames.decode(0.0, 0.0)
    for lp, ids in zip(log_probs, decoded, strict=True):
        assert ids == greedy_decode(lp[:, None], torch.tensor([len(lp)]))[0].ids
    # An offset acts as if added to the log-probabilities before decoding.
    offsets = torch.zeros(6)
    offsets[BLANK], offsets[4] = -0.8, 0.5
    shifted = [(lp + offsets).log_softmax(-1) for lp in log_probs]
    for lp, ids in zip(shifted, frames.decode(-0.8, 0.5), strict=True):
        assert ids == greedy_decode(lp[:, None], torch.tensor([len(lp)]))[0].ids


def test_a_blank_penalty_restores_faint_letters() -> None:
    # "ab": the b is faint (blank 0.5 against b 0.4), so greedy drops it; "a" is read right.
    faint = _frames([{1: 0.9}, {0: 0.9}, {0: 0.5, 2: 0.4}, {0: 0.9}])
    clear = _frames([{1: 0.9}, {0: 0.9}])
    result = calibrate([faint, clear], ["ab", "a"], CHARSET)
    assert result.before["cer"] == pytest.approx(1 / 3)
    assert result.after["cer"] == 0
    assert -0.5 < result.blank < -0.2  # log(0.4/0.5) = -0.22: just enough, the nearest to 0 of the best
    assert result.space == 0  # nothing to gain: stays at zero


def test_a_space_bonus_splits_merged_words() -> None:
    merged = _frames([{1: 0.9}, {0: 0.45, 3: 0.35}, {2: 0.9}])  # "a b" read "ab"
    spaced = _frames([{1: 0.9}, {0: 0.9}, {1: 0.9}])  # "aa" with no space: a bonus too large would add one
    noise = _frames([{2: 0.9}, {0: 0.5, 1: 0.4}])  # "b" and a smudge: a blank penalty would read "ba"
    result = calibrate([merged, spaced, noise], ["a b", "aa", "b"], CHARSET)
    assert result.after["cer"] == 0 and result.after["wer"] == 0
    assert result.space > 0.2 and result.blank == 0


def test_without_gain_or_space_the_offsets_stay_zero() -> None:
    letters = Charset("ab")
    right = [_frames([{1: 0.9}, {0: 0.9}, {2: 0.9}])[:, :3].log_softmax(-1)]
    result = calibrate(right, ["ab"], letters)
    assert (result.blank, result.space) == (0.0, 0.0)
    assert result.before == result.after
    with pytest.raises(ConfigError, match="labeled samples"):
        calibrate(right, ["ab", "b"], letters)


@pytest.mark.parametrize("architecture", ["names_crnn", "resnet_crnn", "vgg_crnn"])
def test_offsets_fold_into_the_output_layer(architecture: str) -> None:
    height = 64 if architecture == "names_crnn" else 32
    model_file = ModelFile(
        build_model(architecture, CHARSET.num_classes, height).eval(), architecture, CHARSET, Preprocessing(height)
    )
    recognizer = Recognizer(model_file)
    images = [torch.rand(height, 96 + 16 * k).mul(255).byte().numpy() for k in range(3)]
    before = recognizer.log_probs(images)
    bias = output_layer(model_file.model).bias.detach().clone()
    apply_offsets(model_file, -0.7, 1.2)
    changed = output_layer(model_file.model).bias.detach() - bias
    assert changed.tolist() == pytest.approx([-0.7, 0, 0, 1.2])  # blank, a, b, space
    offsets = torch.tensor([-0.7, 0, 0, 1.2])
    for old, new in zip(before, recognizer.log_probs(images), strict=True):
        torch.testing.assert_close(new, (old + offsets).log_softmax(-1), atol=1e-5, rtol=1e-5)


def test_calibrated_model_file_records_the_calibration(tiny_model: Path, word_tables, tmp_path: Path) -> None:
    from scriba.data.sources import SourceConfig, read_source

    records = read_source(SourceConfig(path=str(word_tables.val)))
    out = tmp_path / "calibrated.safetensors"
    result = calibrate_model_file(Recognizer.load(tiny_model), records, out, data="val words")
    assert result.n == len(records) and result.after["cer"] <= result.before["cer"]
    calibrated = load_model_file(out)
    (entry,) = calibrated.info["calibration"]
    assert (entry["blank"], entry["space"], entry["data"]) == (result.blank, result.space, "val words")
    assert entry["temperature"] == result.temperature > 0 and result.confidence_after
    original = output_layer(load_model_file(tiny_model).model).bias
    # the offsets are added, then the scores divided by the temperature
    delta = (output_layer(calibrated.model).bias * result.temperature - original).detach()
    assert float(delta[BLANK]) == pytest.approx(result.blank, abs=1e-5)
    plain = calibrate_model_file(
        Recognizer.load(tiny_model), records, tmp_path / "plain.safetensors", temperature=False
    )
    assert plain.temperature == 1.0 and not plain.confidence_after
    delta = (output_layer(load_model_file(tmp_path / "plain.safetensors").model).bias - original).detach()
    assert float(delta[BLANK]) == pytest.approx(plain.blank, abs=1e-6)
    # A second calibration adds to the first and is listed after it.
    again = calibrate_model_file(Recognizer.load(out), records, tmp_path / "twice.safetensors")
    assert again.before["cer"] == pytest.approx(result.after["cer"])
    assert len(load_model_file(tmp_path / "twice.safetensors").info["calibration"]) == 2


def test_cli_calibrate(capsys, tiny_model: Path, word_tables, tmp_path: Path) -> None:
    out = tmp_path / "cal.safetensors"
    code, stdout, _ = run(
        capsys, "calibrate", "--model", str(tiny_model), "--data", str(word_tables.val), "--out", str(out)
    )
    assert code == 0 and "CER" in stdout and "temperature" in stdout and out.is_file()
    assert load_model_file(out).info["calibration"][0]["data"] == f"data {word_tables.val}"
    plain = tmp_path / "plain.safetensors"
    code, stdout3, _ = run(capsys, "calibrate", "--model", str(tiny_model), "--data", str(word_tables.val),
                           "--out", str(plain), "--no-temperature")  # fmt: skip
    assert code == 0 and "temperature" not in stdout3
    assert load_model_file(plain).info["calibration"][0]["temperature"] == 1.0
    # --config: the recipe's validation table, the same samples as --data gave.
    overrides = tiny_overrides(word_tables.train, word_tables.val, tmp_path)
    recipe = tmp_path / "recipe.safetensors"
    code, stdout2, _ = run(capsys, "calibrate", "--model", str(tiny_model), "--config", str(TINY), "--out", str(recipe),
                           "--set", *overrides)  # fmt: skip
    assert code == 0 and stdout2.split(": ", 1)[1] == stdout.split(": ", 1)[1]
    assert load_model_file(recipe).info["calibration"][0]["data"] == f"validation data of {TINY}"
    assert_one_line_error(
        *run(capsys, "calibrate", "--model", str(tiny_model), "--out", str(out))[::2], "--data", "--config"
    )
    code, _, err = run(
        capsys, "calibrate", "--model", str(tiny_model), "--data", str(tmp_path / "none.csv"), "--out", "x"
    )
    assert_one_line_error(code, err, "none.csv")


def test_a_space_bonus_never_reads_spaces_at_the_ends() -> None:
    model_file = ModelFile(build_model("resnet_crnn", CHARSET.num_classes, 32).eval(), "resnet_crnn", CHARSET,
                           Preprocessing(32))  # fmt: skip
    apply_offsets(model_file, 0.0, 50.0)  # the space wins every frame: greedy decoding reads one space
    image = torch.rand(32, 120).mul(255).byte().numpy()
    assert Recognizer(model_file).read_image(image).text == ""
    apply_offsets(model_file, 0.0, -100.0)
    assert " " not in Recognizer(model_file).read_image(image).text


def _readings(seed: int, sharpen: float, count: int = 400) -> tuple[list[torch.Tensor], list[str]]:
    """Calibrated readings, sharpened: each character of a truth is read with a peak probability p drawn in
    0.5-1, and read right with probability p (else as the other letter); then the scores are multiplied by
    ``sharpen`` (3: wrong characters read as near-certain, as an overconfident model does)."""
    generator = torch.Generator().manual_seed(seed)
    log_probs, truths = [], []
    for k in range(count):
        text = ["ab", "a", "ba", "b"][k % 4]
        rows: list[dict[int, float]] = []
        for ch in text:
            label = CHARSET.encode(ch)[0]
            p = float(torch.rand(1, generator=generator)) * 0.5 + 0.5
            read = label if float(torch.rand(1, generator=generator)) < p else 3 - label
            rows += [{read: p, 3 - read: (1 - p) * 0.9}, {0: 0.98}]
        log_probs.append(torch.log_softmax(_frames(rows) * sharpen, -1))
        truths.append(text)
    return log_probs, truths


def test_a_temperature_calibrates_overconfident_readings() -> None:
    log_probs, truths = _readings(0, sharpen=3.0)
    temperature, before, after = fit_temperature(log_probs, truths, CHARSET)
    assert 2.0 <= temperature <= 4.0  # it undoes most of the 3x sharpening
    assert after["ece"] < before["ece"] / 2
    assert after["auroc_cer10"] == pytest.approx(before["auroc_cer10"], abs=0.02)  # the order of readings stays
    # the readings stay the same at any temperature: greedy decoding only sees the best class of each frame
    for lp in log_probs:
        assert greedy_decode_one(lp).ids == greedy_decode_one(torch.log_softmax(lp / temperature, -1)).ids


def test_a_fitted_temperature_is_near_one_on_calibrated_readings() -> None:
    log_probs, truths = _readings(1, sharpen=1.0)
    temperature, before, _ = fit_temperature(log_probs, truths, CHARSET)
    assert 0.7 <= temperature <= 1.4 and before["ece"] < 0.08
    with pytest.raises(ConfigError, match="labeled samples"):
        fit_temperature(log_probs, truths[:3], CHARSET)


def test_the_temperature_is_folded_into_the_model(tiny_model: Path, tmp_path: Path) -> None:
    recognizer = Recognizer.load(tiny_model)
    image = torch.rand(1, 1, 32, 96)
    before = recognizer.model(image, torch.tensor([96]))[0].detach()
    apply_temperature(recognizer.model_file, 2.0)
    after = recognizer.model(image, torch.tensor([96]))[0].detach()
    torch.testing.assert_close(after, torch.log_softmax(before / 2.0, -1), atol=1e-5, rtol=1e-5)
