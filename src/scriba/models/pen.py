"""A recognizer of pen trajectories: 1-D convolutions over the points, BiLSTMs, CTC."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scriba.data.pen import PEN_AIR_FEATURES, PEN_FEATURES
from scriba.models.layers import SequenceHead
from scriba.models.registry import RecognitionModel, register_model


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
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(f"channels {self.channels} and strides {self.strides} need one entry per conv layer")
        if self.kernel % 2 == 0 or min(self.strides) < 1:
            raise ValueError(f"kernel must be odd and strides at least 1, got {self.kernel} and {self.strides}")


@register_model(
    "pen_rnn",
    PenRNNArgs,
    "pen trajectories (not images): 4 conv1d over the points (4 points a frame), 3 BiLSTM(160)",
    PEN_FEATURES,
    reads="pen",
)
class PenRNN(RecognitionModel):
    """Input: point features (N, 1, PEN_FEATURES, T) with ``widths`` = points per sample (N,), as
    :func:`scriba.data.pen.pen_features` gives them; output one frame per ``prod(strides)`` points."""

    def __init__(self, num_classes: int, input_height: int, args: PenRNNArgs) -> None:
        super().__init__()
        if input_height not in (PEN_FEATURES, PEN_AIR_FEATURES):
            raise ValueError(
                f"pen_rnn's input height is its {PEN_FEATURES} features per point ({PEN_AIR_FEATURES} with the "
                f"lifted pen's path), not {input_height}"
            )
        self.args = args
        self.blocks = conv_front_end(input_height, args.channels, args.strides, args.kernel)
        width = args.channels[-1]
        self.head = SequenceHead(width, num_classes, args.hidden, args.layers, args.dropout)

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        lengths = widths.clamp(min=1)
        for stride in self.args.strides:
            lengths = _strided(lengths, stride)
        return lengths

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = run_front_end(self.blocks, self.args.strides, images[:, 0], widths)
        return self.head(features[:, :, None], lengths), lengths


def conv_front_end(
    input_height: int, channels: tuple[int, ...], strides: tuple[int, ...], kernel: int
) -> nn.ModuleList:
    """The pen models' Conv1d-BN-ReLU layers over the points."""
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
    return nn.ModuleList(blocks)


def run_front_end(
    blocks: nn.ModuleList, strides: tuple[int, ...], features: torch.Tensor, widths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, features, T) points and (N,) points per sample -> (N, C, T') frames and (N,) frames per sample."""
    lengths = widths.clamp(min=1).to(features.device)
    for block, stride in zip(blocks, strides, strict=True):
        features = block(features)
        lengths = _strided(lengths, stride)
        # Zero the frames past each sample's end: batch-norm turns zero padding into non-zero values, which
        # the next conv would read into a sample's last frames. So a sample reads the same in any batch.
        features = features * _valid(features, lengths)[:, None].to(features.dtype)
    return features, lengths


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
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(f"channels {self.channels} and strides {self.strides} need one entry per conv layer")
        if self.kernel % 2 == 0 or self.position_kernel % 2 == 0 or min(self.strides) < 1:
            raise ValueError(
                f"kernel and position_kernel must be odd and strides at least 1, got {self.kernel}, "
                f"{self.position_kernel} and {self.strides}"
            )
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
class PenTransformer(RecognitionModel):
    """As :class:`PenRNN` but self-attention instead of the LSTMs: the same conv front end, then a grouped
    convolution over the frames added to them (so attention knows order and distance, wav2vec 2.0's
    relative positional embedding: no fixed longest length), then a transformer encoder that attends over
    a sample's own frames only. A differently built reader makes different mistakes beside ``pen_rnn``
    models in an ensemble."""

    def __init__(self, num_classes: int, input_height: int, args: PenTransformerArgs) -> None:
        super().__init__()
        if input_height not in (PEN_FEATURES, PEN_AIR_FEATURES):
            raise ValueError(
                f"pen_transformer's input height is its {PEN_FEATURES} features per point ({PEN_AIR_FEATURES} "
                f"with the lifted pen's path), not {input_height}"
            )
        self.args = args
        self.blocks = conv_front_end(input_height, args.channels, args.strides, args.kernel)
        width = args.channels[-1]
        self.projection = nn.Linear(width, args.dim)
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

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        lengths = widths.clamp(min=1)
        for stride in self.args.strides:
            lengths = _strided(lengths, stride)
        return lengths

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, lengths = run_front_end(self.blocks, self.args.strides, images[:, 0], widths)
        valid = _valid(features, lengths)  # (N, T')
        frames = self.projection(features.transpose(1, 2))  # (N, T', dim)
        frames = frames * valid[..., None].to(frames.dtype)
        frames = frames + self.position(frames.transpose(1, 2)).transpose(1, 2)
        frames = self.encoder(frames, src_key_padding_mask=~valid)
        return self.classifier(self.dropout(frames)).log_softmax(-1).transpose(0, 1), lengths


def _valid(features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(N, T) True on each sample's frames of (N, C, T) ``features``, False on the padding past its end."""
    return torch.arange(features.shape[2], device=features.device)[None] < lengths[:, None]
