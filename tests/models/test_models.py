from __future__ import annotations

import pytest
import torch

from scriba.errors import ConfigError
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
from scriba.models.crnn import row_bands

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
    ("pen_transformer", 6),
    ("pen_transformer", 7),  # with the lifted pen's path
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
    assert default_height("pen_transformer") == 6
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
    [("names_crnn", 36), ("resnet_crnn", 40), ("vgg_crnn", 48), ("pen_rnn", 33), ("pen_transformer", 8)],
)
def test_bad_height(name: str, height: int) -> None:
    # A pen model's height is its features per point: 6 or 7, plus k * k with a k x k context map (32 = 7 + 25
    # is one); 33 is none of them.
    with pytest.raises(ConfigError, match="height"):
        build_model(name, 10, height)


def test_pen_models_take_the_heights_of_context_maps() -> None:
    for height in (15, 16, 31, 32, 55, 88):
        assert build_model("pen_rnn", 10, height, {"channels": [8], "strides": [2], "hidden": 8, "layers": 1})


def test_pen_transformer_reads_a_sample_alike_alone_and_in_any_padded_batch() -> None:
    """Attention reads only a sample's own frames (the key padding mask) and the positional conv sees zeros past
    its end, so a batch's zero padding (as collation pads) and its longer samples change nothing."""
    torch.manual_seed(0)
    model = build_model("pen_transformer", 9, 6, {"dim": 32, "heads": 2, "layers": 2, "feedforward": 64}).eval()
    points = torch.rand(1, 1, 6, 57)
    batch = torch.rand(3, 1, 6, 140)
    batch[0] = 0.0
    batch[0, :, :, :57] = points[0]
    with torch.no_grad():
        alone, alone_lengths = model(points, torch.tensor([57]))
        padded, lengths = model(batch, torch.tensor([57, 140, 99]))
    frames = int(alone_lengths[0])
    assert lengths.tolist()[0] == frames == 15 and padded.shape[0] == 35
    assert torch.allclose(padded[:frames, 0], alone[:, 0], atol=1e-5)
    assert model.encoder.layers[0].norm_first and len(model.encoder.layers) == 2
    for bad, message in [({"dim": 30, "heads": 4}, "divide"), ({"position_kernel": 8}, "odd")]:
        with pytest.raises(ConfigError, match=message):
            build_model("pen_transformer", 9, 6, bad)


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


SMALL = {"channels": [8, 16, 16, 24], "blocks": [1, 1, 1, 1], "hidden": 16, "layers": 1}


@pytest.mark.parametrize("height", [32, 64])
def test_column_pool_gives_one_vector_per_column_at_any_height(height: int) -> None:
    model = build_model("resnet_crnn", 7, height, {**SMALL, "column_pool": True}).eval()
    assert model.head.lstm.input_size == 24  # channels of the last stage, not channels x rows
    images, widths = torch.rand(2, 1, height, 60), torch.tensor([60, 41])
    log_probs, lengths = model(images, widths)
    assert log_probs.shape == (15, 2, 7) and lengths.tolist() == [15, 11]


def test_ctc_shortcut_is_a_training_only_head() -> None:
    torch.manual_seed(0)
    plain = build_model("resnet_crnn", 7, 32, SMALL)
    shortcut = build_model("resnet_crnn", 7, 32, {**SMALL, "shortcut": 0.1})
    images, widths = torch.rand(2, 1, 32, 60), torch.tensor([60, 41])
    assert plain.forward_train(images, widths)[2] == []
    log_probs, _, auxiliary = shortcut.eval().forward_train(images, widths)
    ((weight, aux_log_probs),) = auxiliary
    assert weight == 0.1 and aux_log_probs.shape == log_probs.shape == (15, 2, 7)
    assert torch.allclose(aux_log_probs.exp().sum(-1), torch.ones(15, 2), atol=1e-5)
    # Inference is the plain model's: same output as forward, no trace of the shortcut.
    assert torch.equal(shortcut(images, widths)[0], log_probs)
    with pytest.raises(ConfigError, match="shortcut"):
        build_model("resnet_crnn", 7, 32, {**SMALL, "shortcut": -1})


def test_row_bands_cover_the_rows_like_adaptive_pooling() -> None:
    assert row_bands(2, 2) == [(0, 1), (1, 2)]
    assert row_bands(3, 2) == [(0, 2), (1, 3)]
    assert row_bands(4, 2) == [(0, 2), (2, 4)]
    assert row_bands(5, 1) == [(0, 5)]
    features = torch.rand(2, 3, 5, 7)
    pooled = torch.nn.functional.adaptive_max_pool2d(features, (2, 7))
    assert torch.equal(torch.cat([features[:, :, a:b].amax(2, keepdim=True) for a, b in row_bands(5, 2)], 2), pooled)


def test_rows_let_a_32_px_model_run_taller() -> None:
    torch.manual_seed(0)
    short = build_model("resnet_crnn", 7, 32, SMALL).eval()
    same = build_model("resnet_crnn", 7, 32, {**SMALL, "rows": 2}).eval()
    tall = build_model("resnet_crnn", 7, 48, {**SMALL, "rows": 2}).eval()
    same.load_state_dict(short.state_dict())
    tall.load_state_dict(short.state_dict())  # the LSTMs' input size does not depend on the height
    images, widths = torch.rand(2, 1, 32, 60), torch.tensor([60, 41])
    # At the height the map already has 2 rows, pooling to 2 rows changes nothing.
    assert torch.equal(same(images, widths)[0], short(images, widths)[0])
    log_probs, lengths = tall(torch.rand(2, 1, 48, 60), widths)
    assert log_probs.shape == (15, 2, 7) and lengths.tolist() == [15, 11]
    with pytest.raises(ConfigError, match="rows"):
        build_model("resnet_crnn", 7, 32, {**SMALL, "rows": 3})
    with pytest.raises(ConfigError, match="rows"):
        build_model("resnet_crnn", 7, 48, {**SMALL, "rows": 2, "column_pool": True})
