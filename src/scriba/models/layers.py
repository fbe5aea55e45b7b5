"""Building blocks shared by the architectures."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int = 3, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(
        # bias=False: batch norm's shift makes a conv bias redundant.
        nn.Conv2d(in_channels, out_channels, kernel, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SequenceHead(nn.Module):
    """Feature map -> sequence -> BiLSTMs -> per-frame log-probabilities.

    The map (N, C, H, T) is flattened to (T, N, C*H) (the CRNN "map-to-sequence"), optionally
    projected, run through bidirectional LSTMs and a linear classifier.
    """

    def __init__(
        self, in_features: int, num_classes: int, hidden: int, layers: int, dropout: float, projection: int = 0
    ) -> None:
        super().__init__()
        self.projection = (
            nn.Sequential(nn.Linear(in_features, projection), nn.ReLU(inplace=True)) if projection else None
        )
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            projection or in_features,
            hidden,
            num_layers=layers,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.classifier = nn.Linear(2 * hidden, num_classes)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C, H, T) features and (N,) valid frames -> log_probs (T, N, num_classes).

        With ``lengths`` the LSTMs run on packed sequences, so the padding of a batch never reaches the
        backward direction: a sample reads the same alone or in any batch. (ONNX export traces the plain
        path; its graph has no packed sequences.)
        """
        n, c, h, t = features.shape
        sequence = features.permute(3, 0, 1, 2).reshape(t, n, c * h)
        if self.projection is not None:
            sequence = self.projection(sequence)
        sequence = self.dropout(sequence)
        exporting = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        if lengths is not None and exporting:
            sequence = self._length_aware_lstm(sequence, lengths)
        elif lengths is not None and bool((lengths < t).any()):
            packed = nn.utils.rnn.pack_padded_sequence(sequence, lengths.cpu().clamp(max=t), enforce_sorted=False)
            sequence, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], total_length=t)
        else:
            sequence, _ = self.lstm(sequence)
        return self.classifier(self.dropout(sequence)).log_softmax(-1)

    def _length_aware_lstm(self, sequence: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The BiLSTMs on (T, N, F) without packed sequences (which ONNX lacks), as packing computes them: the
        backward direction of each layer reads every sample's valid frames reversed in place (padding left
        at the end), so padding never reaches a valid frame. Same weights; used for export."""
        t, n, _ = sequence.shape
        steps = torch.arange(t, device=sequence.device).unsqueeze(1)
        valid = lengths.clamp(max=t).unsqueeze(0).to(steps.dtype)
        order = torch.where(steps < valid, valid - 1 - steps, steps)  # (T, N): reversing is its own inverse
        hidden = self.lstm.hidden_size
        x = sequence
        for layer in range(self.lstm.num_layers):
            outputs = []
            features = self.lstm.input_size if layer == 0 else 2 * hidden
            for suffix in ("", "_reverse"):
                # A one-layer, one-way LSTM holding this direction's parameters (not a submodule: the model's
                # state dict is unchanged).
                one = nn.LSTM(features, hidden)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    setattr(one, f"{name}_l0", getattr(self.lstm, f"{name}_l{layer}{suffix}"))
                if suffix:
                    flipped = torch.gather(x, 0, order.unsqueeze(-1).expand(t, n, features))
                    out = torch.gather(one(flipped)[0], 0, order.unsqueeze(-1).expand(t, n, hidden))
                else:
                    out = one(x)[0]
                outputs.append(out)
            x = torch.cat(outputs, dim=-1)
        return x
