"""A recognizer of pen trajectories: 1-D convolutions over the points, BiLSTMs, CTC."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scriba.data.pen import PEN_FEATURES
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
    """Input (N, 1, features, T) point features with ``widths`` = points per sample (N,), as
    :func:`scriba.data.pen.pen_features` gives them, read by Conv1d-BN-ReLU layers (``self.blocks``) into one
    frame per ``prod(strides)`` points, then BiLSTMs over the frames."""

    def __init__(self, num_classes: int, input_height: int, args: PenRNNArgs) -> None:
        super().__init__()
        if input_height != PEN_FEATURES:
            raise ValueError(f"pen_rnn's input height is its {PEN_FEATURES} features per point, not {input_height}")
        self.args = args
        self.strides = args.strides
        blocks: list[nn.Module] = []
        width = input_height
        for out, stride in zip(args.channels, args.strides, strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(width, out, args.kernel, stride, padding=args.kernel // 2, bias=False),
                    nn.BatchNorm1d(out),
                    nn.ReLU(inplace=True),
                )
            )
            width = out
        self.blocks = nn.ModuleList(blocks)
        self.head = SequenceHead(width, num_classes, args.hidden, args.layers, args.dropout)

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        lengths = widths.clamp(min=1)
        for stride in self.strides:
            lengths = _strided(lengths, stride)
        return lengths

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = images[:, 0]
        lengths = widths.clamp(min=1).to(features.device)
        for block, stride in zip(self.blocks, self.strides, strict=True):
            features = block(features)
            lengths = _strided(lengths, stride)
            # Zero the frames past each sample's end: batch-norm turns zero padding into non-zero values, which
            # the next conv would read into a sample's last frames. So a sample reads the same in any batch.
            valid = torch.arange(features.shape[2], device=features.device)[None] < lengths[:, None]
            features = features * valid[:, None].to(features.dtype)
        return self.head(features[:, :, None], lengths), lengths


def _strided(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Outputs of a conv of odd kernel k, padding k // 2 and ``stride`` over ``lengths`` points: (L - 1) // s + 1."""
    return torch.div(lengths - 1, stride, rounding_mode="floor") + 1
