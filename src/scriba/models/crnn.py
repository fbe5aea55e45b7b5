"""The three classic CRNNs: the Kaggle names model, a residual CRNN and Shi et al. 2015."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scriba.models.layers import SequenceHead, conv_bn_relu
from scriba.models.registry import RecognitionModel, register_model


@dataclass
class NamesCRNNArgs:
    """Arguments of ``names_crnn`` (defaults: the Kaggle notebooks' model).

    Args:
        channels: the three conv blocks' widths.
        projection: the dense layer between the conv features and the LSTMs.
        hidden: LSTM units per direction.
        layers: number of BiLSTM layers.
        dropout: dropout after the 2nd/3rd conv blocks and around the LSTMs.
    """

    channels: tuple[int, int, int] = (32, 64, 128)
    projection: int = 64
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.3


@register_model(
    "names_crnn",
    NamesCRNNArgs,
    "Kaggle names notebooks' CRNN: 3 conv blocks, dense 64, 2 BiLSTM(256); 64x256 input",
    64,
)
class NamesCRNN(RecognitionModel):
    """Conv-BN-ReLU-MaxPool x3 (pools 2x2, 2x2, 2x1), map-to-sequence, dense, BiLSTMs, softmax.

    With the 64x256 canvas of the notebooks it gives T = 64 frames; any width W gives T = W // 4.
    """

    def __init__(self, num_classes: int, input_height: int, args: NamesCRNNArgs) -> None:
        super().__init__()
        if input_height % 8:
            raise ValueError(f"names_crnn needs an input height divisible by 8, got {input_height}")
        self.args = args
        c1, c2, c3 = args.channels
        self.features = nn.Sequential(
            conv_bn_relu(1, c1),
            nn.MaxPool2d(2),
            conv_bn_relu(c1, c2),
            nn.MaxPool2d(2),
            nn.Dropout2d(args.dropout),
            conv_bn_relu(c2, c3),
            nn.MaxPool2d((2, 1)),
            nn.Dropout2d(args.dropout),
        )
        self.head = SequenceHead(
            c3 * (input_height // 8), num_classes, args.hidden, args.layers, args.dropout, args.projection
        )

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        return torch.div(widths, 4, rounding_mode="floor").clamp(min=1)

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.output_lengths(widths)
        return self.head(self.features(images), lengths), lengths


@dataclass
class VGGCRNNArgs:
    """Arguments of ``vgg_crnn`` (defaults: Shi, Bai & Yao 2015).

    Args:
        channels: the seven conv layers' widths.
        hidden: LSTM units per direction.
        layers: number of BiLSTM layers.
        dropout: dropout around the LSTMs (0 in the paper).
    """

    channels: tuple[int, ...] = (64, 128, 256, 256, 512, 512, 512)
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if len(self.channels) != 7:
            raise ValueError("vgg_crnn takes exactly 7 channel widths")


@register_model(
    "vgg_crnn", VGGCRNNArgs, "Shi et al. 2015 CRNN: 7 conv layers 64..512, 2x1 poolings, 2 BiLSTM(256); 32 px high"
)
class VGGCRNN(RecognitionModel):
    """The CRNN of arXiv 1507.05717: conv64-pool-conv128-pool-conv256-conv256-pool(2x1)-
    conv512-BN-conv512-BN-pool(2x1)-conv512(2x2 valid), then two BiLSTMs.

    Heights other than 32 leave H' = height/16 - 1 rows, flattened into the features. T = W // 4 + 1.
    """

    def __init__(self, num_classes: int, input_height: int, args: VGGCRNNArgs) -> None:
        super().__init__()
        if input_height % 32:
            raise ValueError(f"vgg_crnn needs an input height divisible by 32, got {input_height}")
        self.args = args
        c = args.channels
        # The 2x1 poolings halve the height but keep the width (stride 1, padding 1), so narrow
        # characters keep enough frames: the paper's key trick for text.
        tall_pool = nn.MaxPool2d((2, 2), stride=(2, 1), padding=(0, 1))
        self.features = nn.Sequential(
            conv_bn_relu(1, c[0]),
            nn.MaxPool2d(2),
            conv_bn_relu(c[0], c[1]),
            nn.MaxPool2d(2),
            conv_bn_relu(c[1], c[2]),
            conv_bn_relu(c[2], c[3]),
            tall_pool,
            conv_bn_relu(c[3], c[4]),
            conv_bn_relu(c[4], c[5]),
            nn.MaxPool2d((2, 2), stride=(2, 1), padding=(0, 1)),
            conv_bn_relu(c[5], c[6], kernel=2, padding=0),
        )
        # Four height halvings, then the 2x2 valid conv removes one more row.
        self.head = SequenceHead(c[6] * (input_height // 16 - 1), num_classes, args.hidden, args.layers, args.dropout)

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        # W//2//2, then +1 per padded 2x1 pool (twice), then -1 for the 2x2 valid conv.
        return torch.div(widths, 4, rounding_mode="floor") + 1

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.output_lengths(widths)
        return self.head(self.features(images), lengths), lengths


@dataclass
class ResNetCRNNArgs:
    """Arguments of ``resnet_crnn``.

    Args:
        channels: width of each residual stage.
        blocks: residual blocks per stage.
        hidden: LSTM units per direction.
        layers: number of BiLSTM layers.
        dropout: dropout around the LSTMs.
    """

    channels: tuple[int, int, int, int] = (32, 64, 128, 256)
    blocks: tuple[int, int, int, int] = (1, 2, 2, 1)
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.2


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut (He et al. 2016); a 1x1 conv adapts the shortcut when shapes change."""

    def __init__(self, in_channels: int, out_channels: int, stride: tuple[int, int]) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != (1, 1) or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


@register_model(
    "resnet_crnn",
    ResNetCRNNArgs,
    "residual CRNN: conv stem + 4 residual stages (strides 2x2, 2x2, 2x1, 2x1), 2 BiLSTM(256)",
)
class ResNetCRNN(RecognitionModel):
    """Residual feature extractor (height /16, width /4) + BiLSTMs. T = W // 4."""

    _STRIDES = ((2, 2), (2, 2), (2, 1), (2, 1))

    def __init__(self, num_classes: int, input_height: int, args: ResNetCRNNArgs) -> None:
        super().__init__()
        if input_height % 16:
            raise ValueError(f"resnet_crnn needs an input height divisible by 16, got {input_height}")
        self.args = args
        layers: list[nn.Module] = [conv_bn_relu(1, args.channels[0])]
        in_channels = args.channels[0]
        for channels, blocks, stride in zip(args.channels, args.blocks, self._STRIDES, strict=True):
            for i in range(blocks):
                layers.append(BasicBlock(in_channels, channels, stride if i == 0 else (1, 1)))
                in_channels = channels
        self.features = nn.Sequential(*layers)
        self.head = SequenceHead(
            in_channels * (input_height // 16), num_classes, args.hidden, args.layers, args.dropout
        )

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        # Stride-2 3x3 convs with padding 1 give ceil(W / 2) twice.
        return torch.div(torch.div(widths + 1, 2, rounding_mode="floor") + 1, 2, rounding_mode="floor")

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.output_lengths(widths)
        return self.head(self.features(images), lengths), lengths
