"""A recognizer of pen trajectories: 1-D convolutions over the points, BiLSTMs, CTC."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scriba.data.pen import CONTEXT_SIZES, PEN_AIR_FEATURES, PEN_FEATURES, pen_feature_count
from scriba.models.layers import SequenceHead
from scriba.models.registry import RecognitionModel, register_model


def check_front_end(channels: tuple[int, ...], strides: tuple[int, ...], kernel: int) -> None:
    """Refuse conv front-end arguments the pen models cannot build (``ValueError``)."""
    if len(channels) != len(strides) or not channels:
        raise ValueError(f"channels {channels} and strides {strides} need one entry per conv layer")
    if kernel % 2 == 0 or min(strides) < 1:
        raise ValueError(f"kernel must be odd and strides at least 1, got {kernel} and {strides}")


class PenModel(RecognitionModel):
    """What the pen models share: input (N, 1, features, T) point features with ``widths`` = points per sample
    (N,), as :func:`scriba.data.pen.pen_features` gives them, read by Conv1d-BN-ReLU layers (``self.blocks``)
    into one frame per ``prod(strides)`` points; a subclass adds what reads the frames."""

    def __init__(
        self, name: str, input_height: int, channels: tuple[int, ...], strides: tuple[int, ...], kernel: int
    ) -> None:
        super().__init__()
        if input_height not in {pen_feature_count(air, k) for air in (False, True) for k in CONTEXT_SIZES}:
            raise ValueError(
                f"{name}'s input height is its {PEN_FEATURES} features per point ({PEN_AIR_FEATURES} with the "
                f"lifted pen's path), plus k * k with a k x k context map, not {input_height}"
            )
        self.strides = strides
        blocks: list[nn.Module] = []
        width = input_height
        for out, stride in zip(channels, strides, strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(width, out, kernel, stride, padding=kernel // 2, bias=False),
                    nn.BatchNorm1d(out),
                    nn.ReLU(inplace=True),
                )
            )
            width = out
        self.blocks = nn.ModuleList(blocks)
        self.front_width = width

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        lengths = widths.clamp(min=1)
        for stride in self.strides:
            lengths = _strided(lengths, stride)
        return lengths

    def front_end(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1, features, T) points, (N,) points per sample -> (N, C, T') frames, (N,) frames per sample."""
        features = images[:, 0]
        lengths = widths.clamp(min=1).to(features.device)
        for block, stride in zip(self.blocks, self.strides, strict=True):
            features = block(features)
            lengths = _strided(lengths, stride)
            # Zero the frames past each sample's end: batch-norm turns zero padding into non-zero values, which
            # the next conv would read into a sample's last frames. So a sample reads the same in any batch.
            features = features * _valid(features, lengths)[:, None].to(features.dtype)
        return features, lengths


@dataclass
class PenRNNArgs:
    """Arguments of ``pen_rnn``.

    Args:
        channels: the widths of the 1-D conv layers (kernel ``kernel``, BN, ReLU).
        strides: each conv layer's stride along the points; their product is how many points make a frame.
        kernel: conv kernel size (odd).
        hidden: LSTM units per direction.
        layers: number of BiLSTM layers.
        dropout: dropout around the LSTMs (and between them).
    """

    channels: tuple[int, ...] = (64, 128, 128, 160)
    strides: tuple[int, ...] = (1, 2, 1, 2)
    kernel: int = 5
    hidden: int = 160
    layers: int = 3
    dropout: float = 0.25

    def __post_init__(self) -> None:
        check_front_end(self.channels, self.strides, self.kernel)


@register_model(
    "pen_rnn",
    PenRNNArgs,
    "pen trajectories (not images): 4 conv1d over the points (4 points a frame), 3 BiLSTM(160)",
    PEN_FEATURES,
    reads="pen",
)
class PenRNN(PenModel):
    """The conv front end (:class:`PenModel`), then BiLSTMs over its frames."""

    def __init__(self, num_classes: int, input_height: int, args: PenRNNArgs) -> None:
        super().__init__("pen_rnn", input_height, args.channels, args.strides, args.kernel)
        self.args = args
        self.head = SequenceHead(self.front_width, num_classes, args.hidden, args.layers, args.dropout)

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = self.front_end(images, widths)
        return self.head(features[:, :, None], lengths), lengths


def _strided(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Outputs of a conv of odd kernel k, padding k // 2 and ``stride`` over ``lengths`` points: (L - 1) // s + 1."""
    return torch.div(lengths - 1, stride, rounding_mode="floor") + 1


@dataclass
class PenTransformerArgs:
    """Arguments of ``pen_transformer``.

    Args:
        channels: the widths of the 1-D conv layers before the encoder (kernel ``kernel``, BN, ReLU).
        strides: each conv layer's stride along the points; their product is how many points make a frame.
        kernel: conv kernel size (odd).
        dim: the encoder's width.
        heads: attention heads (``dim`` must divide by it).
        layers: encoder layers (pre-norm self-attention + feed-forward).
        feedforward: the feed-forward layers' inner width.
        position_kernel: kernel of the grouped convolution that tells the frames where they are (odd).
        dropout: dropout in the encoder and before the classifier.
    """

    channels: tuple[int, ...] = (64, 128, 128, 192)
    strides: tuple[int, ...] = (1, 2, 1, 2)
    kernel: int = 5
    dim: int = 192
    heads: int = 4
    layers: int = 6
    feedforward: int = 768
    position_kernel: int = 31
    dropout: float = 0.15

    def __post_init__(self) -> None:
        check_front_end(self.channels, self.strides, self.kernel)
        if self.position_kernel % 2 == 0:
            raise ValueError(f"position_kernel must be odd, got {self.position_kernel}")
        if self.dim % self.heads or self.dim % POSITION_GROUPS:
            raise ValueError(f"dim {self.dim} must divide by heads ({self.heads}) and by {POSITION_GROUPS}")


# Groups of the positional convolution (wav2vec 2.0's relative positional embedding uses 16).
POSITION_GROUPS = 16


@register_model(
    "pen_transformer",
    PenTransformerArgs,
    "pen trajectories (not images): 4 conv1d over the points (4 points a frame), a positional conv, "
    "6 pre-norm transformer encoder layers (192 wide, 4 heads)",
    PEN_FEATURES,
    reads="pen",
)
class PenTransformer(PenModel):
    """As :class:`PenRNN` but self-attention instead of the LSTMs: the same conv front end, then a grouped
    convolution over the frames added to them (so attention knows order and distance, wav2vec 2.0's
    relative positional embedding: no fixed longest length), then a transformer encoder that attends over
    a sample's own frames only. A differently built reader makes different mistakes beside ``pen_rnn``
    models in an ensemble."""

    def __init__(self, num_classes: int, input_height: int, args: PenTransformerArgs) -> None:
        super().__init__("pen_transformer", input_height, args.channels, args.strides, args.kernel)
        self.args = args
        self.projection = nn.Linear(self.front_width, args.dim)
        self.position = nn.Sequential(
            nn.Conv1d(
                args.dim, args.dim, args.position_kernel, padding=args.position_kernel // 2, groups=POSITION_GROUPS
            ),
            nn.GELU(),
        )
        layer = nn.TransformerEncoderLayer(
            args.dim,
            args.heads,
            args.feedforward,
            args.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, args.layers, norm=nn.LayerNorm(args.dim), enable_nested_tensor=False
        )
        self.dropout = nn.Dropout(args.dropout)
        self.classifier = nn.Linear(args.dim, num_classes)

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = self.front_end(images, widths)
        valid = _valid(features, lengths)  # (N, T')
        frames = self.projection(features.transpose(1, 2))  # (N, T', dim)
        frames = frames * valid[..., None].to(frames.dtype)
        frames = frames + self.position(frames.transpose(1, 2)).transpose(1, 2)
        frames = self.encoder(frames, src_key_padding_mask=~valid)
        return self.classifier(self.dropout(frames)).log_softmax(-1).transpose(0, 1), lengths


def _valid(features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(N, T) True on each sample's frames of (N, C, T) ``features``, False on the padding past its end."""
    return torch.arange(features.shape[2], device=features.device)[None] < lengths[:, None]
