from __future__ import annotations

import pytest
import torch

from scriba.errors import ConfigError, RemovedOptionError
from scriba.models import (
    RecognitionModel,
    build_model,
    count_parameters,
    default_height,
    describe_model,
    list_models,
    model_args,
    register_model,
)

WIDTHS = [16, 17, 37, 64, 101, 130, 256]
# (name, input height) pairs covering each architecture at its usual and one other height.
CASES = [
    ("names_crnn", 64),
    ("names_crnn", 32),
    ("resnet_crnn", 32),
    ("resnet_crnn", 48),
    ("vgg_crnn", 32),
    ("vgg_crnn", 64),
    ("pen_rnn", 6),  # pen point features: 6 per point, "width" = points
]
PARAMS = [pytest.param(c, id=f"{c[0]}-h{c[1]}") for c in CASES]


@pytest.fixture(scope="module")
def models() -> dict[tuple[str, int], RecognitionModel]:
    torch.manual_seed(0)
    return {case: build_model(case[0], 31, case[1]).eval() for case in CASES}


def test_list_models() -> None:
    names = list_models()
    assert {"names_crnn", "resnet_crnn", "vgg_crnn"} <= set(names)
    assert names == sorted(names)
    assert all(describe_model(n) for n in names)


def test_default_heights() -> None:
    assert default_height("names_crnn") == 64
    assert default_height("resnet_crnn") == 32
    assert default_height("vgg_crnn") == 32
    assert default_height("pen_rnn") == 6
    with pytest.raises(ConfigError):
        default_height("transformer")


def test_names_crnn_is_the_notebooks_model(models: dict[tuple[str, int], RecognitionModel]) -> None:
    model = models[("names_crnn", 64)]
    assert 2_300_000 < count_parameters(model) < 2_500_000
    with torch.no_grad():
        log_probs, lengths = model(torch.rand(2, 1, 64, 256), torch.tensor([256, 256]))
    assert log_probs.shape == (64, 2, 31)
    assert lengths.tolist() == [64, 64]


@pytest.mark.parametrize("case", PARAMS)
def test_output_lengths_match_forward(case: tuple[str, int], models: dict[tuple[str, int], RecognitionModel]) -> None:
    model = models[case]
    height = case[1]
    with torch.no_grad():
        for width in WIDTHS:
            widths = torch.tensor([width])
            log_probs, lengths = model(torch.rand(1, 1, height, width), widths)
            assert log_probs.shape[0] == int(model.output_lengths(widths)[0]), f"width {width}"
            assert lengths.tolist() == model.output_lengths(widths).tolist()
            assert log_probs.shape[1:] == (1, 31)


@pytest.mark.parametrize("case", PARAMS)
def test_padded_batch_frames_and_normalized_log_probs(
    case: tuple[str, int], models: dict[tuple[str, int], RecognitionModel]
) -> None:
    model = models[case]
    widths = torch.tensor([37, 130, 64])
    images = torch.zeros(3, 1, case[1], 130)
    for i, w in enumerate(widths.tolist()):
        images[i, :, :, :w] = torch.rand(1, case[1], w)
    with torch.no_grad():
        log_probs, lengths = model(images, widths)
    # T is the widest item's frame count; narrower items get fewer valid frames.
    assert log_probs.shape == (int(lengths.max()), 3, 31)
    assert lengths.tolist() == model.output_lengths(widths).tolist()
    assert lengths[0] < lengths[2] < lengths[1]
    assert torch.allclose(log_probs.logsumexp(-1), torch.zeros(log_probs.shape[:2]), atol=1e-5)
    assert (log_probs <= 0).all()


@pytest.mark.parametrize("case", PARAMS)
def test_bfloat16_copy_gives_the_float32_log_probs(
    case: tuple[str, int], models: dict[tuple[str, int], RecognitionModel]
) -> None:
    """What ``Recognizer(precision="bf16")`` runs: the model's weights and input in bfloat16."""
    import copy

    model = models[case]
    half = copy.deepcopy(model).to(torch.bfloat16)
    widths = torch.tensor([37, 130])
    images = torch.rand(2, 1, case[1], 130)
    with torch.no_grad():
        expected, expected_lengths = model(images, widths)
        log_probs, lengths = half(images.to(torch.bfloat16), widths)
    assert lengths.tolist() == expected_lengths.tolist()
    assert log_probs.shape == expected.shape
    # bfloat16 keeps 8 bits of mantissa: log-probabilities near -3.4 are off by a few hundredths.
    assert torch.allclose(log_probs.float(), expected, atol=0.15)
    assert not torch.allclose(log_probs.float(), expected, atol=1e-6), "the copy did not run in bfloat16"
    assert next(model.parameters()).dtype == torch.float32


def test_unknown_model() -> None:
    with pytest.raises(ConfigError, match="unknown model 'transformer'") as info:
        build_model("transformer", 10, 32)
    assert "names_crnn" in str(info.value)
    with pytest.raises(ConfigError):
        describe_model("transformer")


def test_unknown_argument() -> None:
    with pytest.raises(ConfigError, match=r"no argument.*hiden"):
        build_model("resnet_crnn", 10, 32, {"hiden": 64})


def test_invalid_argument_value() -> None:
    with pytest.raises(ConfigError, match="vgg_crnn"):
        build_model("vgg_crnn", 10, 32, {"channels": [64, 128]})


@pytest.mark.parametrize(
    ("name", "height"),
    [("names_crnn", 36), ("resnet_crnn", 40), ("vgg_crnn", 48), ("pen_rnn", 7)],
)
def test_bad_height(name: str, height: int) -> None:
    # A pen model's height is its features per point: 6.
    with pytest.raises(ConfigError, match="height"):
        build_model(name, 10, height)


def test_model_args_from_plain_data() -> None:
    args = model_args("resnet_crnn", {"channels": [8, 16, 16, 24], "hidden": 24})
    assert args.channels == (8, 16, 16, 24)
    assert args.hidden == 24
    model = build_model("resnet_crnn", 5, 32, {"channels": [8, 16, 16, 24], "hidden": 24, "layers": 1})
    assert model.args.layers == 1
    assert model.head.classifier.out_features == 5


def test_register_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register_model("names_crnn", object, "again")(RecognitionModel)


def test_removed_options_and_architectures_are_named() -> None:
    """What unshipped experiments alone used is gone; a recipe naming it hears which option, and why."""
    small = {"channels": [8, 16, 16, 24], "blocks": [1, 1, 1, 1], "hidden": 16, "layers": 1}
    for option, value in (("column_pool", True), ("shortcut", 0.1), ("rows", 2), ("rows", 0)):
        with pytest.raises(RemovedOptionError, match=rf"model\.args\.{option} was removed") as info:
            build_model("resnet_crnn", 7, 32, {**small, option: value})
        assert info.value.option == f"model.args.{option}"
    with pytest.raises(RemovedOptionError, match="'pen_transformer' was removed"):
        build_model("pen_transformer", 9, 6)
    assert "pen_transformer" not in list_models()
    with pytest.raises(ConfigError, match=r"no argument\(s\) rows"):  # never an option of the others
        build_model("names_crnn", 7, 64, {"rows": 2})
