"""Decoding speed: greedy vs CTC beam search with and without the character LM, the decoder alone on one core.

    python benchmarks/bench_decoding.py [--model english] [--lm english] [--data ../shared/data/iam_lines/labels.csv]
                                        [--split val] [--limit 300] [--beams 8 16 32]

The network reads the lines once (not timed); each decoder then decodes every line's log-probabilities in
turn, one line at a time, on one thread. The LM's memo of n-gram lookups starts empty for each row ("cold":
what the first lines of a run pay) and the same row is then timed again with it filled ("warm": a long run,
or a server). Without ``../shared/data`` the lines are synthetic word images (speed only, no CER). The
table gives lines per second and CER/WER (issue 33's target: >= 100 lines/s at beam 16).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from scriba.data.sources import SourceConfig, read_source
from scriba.decoding import BeamSearch, greedy_decode_one, tidy_text
from scriba.decoding.settings import DecodingSettings
from scriba.evaluate import prepare_eval_data
from scriba.lm import load_lm
from scriba.metrics import cer, wer
from scriba.recognizer import Recognizer

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="english")
    parser.add_argument("--lm", default="english")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "iam_lines" / "labels.csv"))
    parser.add_argument("--kind", default="auto")
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--beams", type=int, nargs="+", default=[8, 16, 32])
    args = parser.parse_args()
    torch.set_num_threads(1)

    recognizer = Recognizer.load(args.model, lm=None)
    if Path(args.data).exists():
        config = SourceConfig(path=args.data, kind=args.kind, split=args.split, limit=args.limit)
        records, images, _ = prepare_eval_data(recognizer, read_source(config), "score")
        source = f"{Path(args.data).parent.name} {args.split}"
    else:
        from tests.synthetic import write_word_table

        table = write_word_table(Path("/tmp/bench_decoding"), args.limit or 100)
        records, images, _ = prepare_eval_data(recognizer, read_source(SourceConfig(path=str(table))), "score")
        source = "synthetic words"
    log_probs = [v[0] for v in recognizer.variant_log_probs(records, 32, images)]
    truths = [r.text or "" for r in records]
    frames = sum(lp.shape[0] for lp in log_probs) / len(log_probs)
    settings = DecodingSettings.of_model(recognizer.model_file.info)
    lm = load_lm(args.lm)
    print(
        f"{args.model} on {len(records)} lines of {source} ({frames:.0f} frames a line), one thread; LM {args.lm} "
        f"(order {lm.order}, {len(lm):,} n-grams); weight {settings.lm_weight:g}, bonus {settings.insertion_bonus:g}"
    )
    print("| decoder | beam | lines/s cold | lines/s warm | CER | WER |\n| --- | --- | --- | --- | --- | --- |")

    def row(name: str, beam: str, decode) -> None:  # type: ignore[no-untyped-def]
        lm._memo.clear()
        speeds = []
        for _ in range(2):
            start = time.perf_counter()
            texts = [tidy_text(recognizer.charset.decode(decode(lp))) for lp in log_probs]
            speeds.append(len(log_probs) / (time.perf_counter() - start))
        print(f"| {name} | {beam} | {speeds[0]:,.0f} | {speeds[1]:,.0f} | {cer(texts, truths):.2%} | "
              f"{wer(texts, truths):.2%} |")  # fmt: skip

    row("greedy", "-", lambda lp: greedy_decode_one(lp).ids)
    for beam in args.beams:
        plain = BeamSearch(recognizer.charset, None, 0.0, 0.0, beam, settings.min_log_prob)
        row("beam, no LM", str(beam), lambda lp, s=plain: s.search(lp)[0].ids)
    for beam in args.beams:
        search = BeamSearch(
            recognizer.charset, lm, settings.lm_weight, settings.insertion_bonus, beam, settings.min_log_prob
        )
        row(f"beam + {args.lm}.lm", str(beam), lambda lp, s=search: s.search(lp)[0].ids)


if __name__ == "__main__":
    main()
