"""Build notebooks/start_model.ipynb and notebooks/project_train_model.ipynb (without outputs).

The notebooks are generated so that their code stays reviewable here; tests/test_notebooks.py executes them.

Usage: python scripts/make_notebooks.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

Cell = tuple[str, str]  # ("md" | "code", source)

# Both notebooks run with notebooks/ as working directory (Jupyter's default) or from anywhere in the repo.
FIND_REPO = """\
REPO = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").is_file())
DATA = Path(os.environ.get("SCRIBA_DATA") or REPO.parent / "shared" / "data")"""


def md(text: str) -> Cell:
    return ("md", textwrap.dedent(text).strip())


def code(text: str) -> Cell:
    return ("code", textwrap.dedent(text).strip().replace("<FIND_REPO>", FIND_REPO))


START_MODEL: list[Cell] = [
    md("""
    # Start here: load a model and read handwriting

    This notebook loads a trained scriba model, says what it is, and reads the example images in `examples/`,
    then shows that numpy arrays and PIL images work as well as paths, and reads pen trajectories (ink).

    - `SCRIBA_MODEL`: the model to load, a name from `scriba models` or a `.safetensors` path (default
      `default`, the shipped `models/english.safetensors` (English words and lines; `names` reads names in
      capitals); their recipes are in `configs/` and their model cards in `models/`, or train your own in
      `project_train_model.ipynb`).
    - `SCRIBA_DATA`: the folder with the real datasets (default `../shared/data` beside the repository);
      only the ink example needs it.
    """),
    code("""
    import os
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from PIL import Image

    from scriba.data.sources import SourceConfig, read_source
    from scriba.models import count_parameters
    from scriba.recognizer import Recognizer, available_models, resolve_model

    %matplotlib inline

    <FIND_REPO>
    EXAMPLES = REPO / "examples"
    MODEL = os.environ.get("SCRIBA_MODEL", "default")
    print("repository:", REPO)
    print("installed models:", ", ".join(available_models()) or "none")
    """),
    md("""
    ## The model

    A model is one self-describing file: weights plus metadata (architecture and its arguments, charset,
    preprocessing, training config, data card, metrics). `Recognizer.load` needs nothing else.
    """),
    code("""
    recognizer = Recognizer.load(MODEL)
    model_file = recognizer.model_file
    info = model_file.info
    charset = recognizer.charset

    print(f"model {recognizer.name!r} from {resolve_model(MODEL)}")
    print(f"architecture {model_file.architecture}, {count_parameters(recognizer.model):,} parameters")
    print("  arguments:", model_file.model_args)
    print(f"charset: {len(charset)} characters + the CTC blank = {charset.num_classes} outputs")
    print("  characters:", repr(charset.characters))
    print("preprocessing:", recognizer.preprocessing)
    print("metrics:", info.get("metrics", {}))
    card = info.get("data", {})
    if card:
        print(f"data: {card.get('train_samples')} training, {card.get('val_samples')} validation samples")
        for source in card.get("train_sources", []):
            print("  trained on", source)
    """),
    md("""
    ## Read the example images

    `recognizer.read_images` takes a list of images (paths, numpy arrays, PIL images) and returns one
    `Reading(text, confidence, char_confidences)` per image; `recognizer.read_image` reads one.
    """),
    code("""
    labels = pd.read_csv(EXAMPLES / "labels.csv", dtype=str, keep_default_na=False)
    paths = [EXAMPLES / p for p in labels["path"]]
    readings = recognizer.read_images(paths)

    results = labels.assign(read=[r.text for r in readings], confidence=[r.confidence for r in readings])
    results["correct"] = results["read"] == results["text"]
    for row in results.itertuples():
        print(f"{row.path:14s} truth {row.text!r:12s} read {row.read!r:14s} confidence {row.confidence:.3f}")
    print(f"{results['correct'].sum()} of {len(results)} read exactly")
    """),
    code("""
    columns = 3
    rows = -(-len(paths) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 1.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, path, truth, reading in zip(axes.flat, paths, labels["text"], readings, strict=False):
        ax.imshow(Image.open(path).convert("L"), cmap="gray", vmin=0, vmax=255)
        color = "black" if reading.text == truth else "tab:red"
        ax.set_title(f"{reading.text!r}  ({reading.confidence:.2f})", color=color, fontsize=10)
    fig.suptitle("prediction (confidence); red: differs from the label")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    What the model actually sees: `recognizer.prepare(image)` scales to the model's height (aspect ratio kept)
    and makes the ink dark on light paper.
    """),
    code("""
    prepared = recognizer.prepare(paths[0])
    print("prepared input:", prepared.dtype, prepared.shape)
    plt.figure(figsize=(4, 1))
    plt.imshow(prepared, cmap="gray", vmin=0, vmax=255)
    plt.axis("off")
    plt.show()
    """),
    md("""
    ## Numpy arrays and PIL images

    Grayscale, RGB, float (0..1) and light-on-dark arrays are all converted the same way.
    """),
    code("""
    gray = np.asarray(Image.open(paths[0]).convert("L"))  # uint8 (H, W)
    inputs = {
        "path": paths[0],
        "PIL image": Image.open(paths[0]),
        "gray array": gray,
        "RGB array": np.asarray(Image.open(paths[0]).convert("RGB")),  # uint8 (H, W, 3)
        "float array": gray.astype(np.float32) / 255,  # 0..1
        "inverted": 255 - gray,  # light ink on dark paper
    }
    for kind, reading in zip(inputs, recognizer.read_images(list(inputs.values())), strict=True):
        print(f"{kind:12s} -> {reading.text!r} (confidence {reading.confidence:.3f})")
    """),
    code("""
    # Per-character confidences of one reading (the reading's confidence is their geometric mean).
    reading = recognizer.read_image(Image.open(paths[0]))
    pd.DataFrame({"character": list(reading.text), "confidence": np.round(reading.char_confidences, 3)})
    """),
    md("""
    ## Decoding options: test-time augmentation and a lexicon

    `Recognizer.load(..., tta=True)` reads each image in 9 stretched and shifted variants and keeps the reading
    they support best (about 9x slower). `Recognizer.load(..., lexicon=FILE)` reads only entries of a word or
    name list (a CSV with a `text` column or one entry per line; repeats count as frequency): the entry near
    the greedy reading with the best CTC likelihood. `Reading.greedy_text` keeps what greedy decoding read and
    `Reading.lexicon_margin` how much less likely the image finds the entry (0: the same reading). Here the
    lexicon is the examples' words plus near misses; for names, `../shared/data/names/lexicon.csv` is one.
    """),
    code("""
    import tempfile

    words = [*sorted(set(labels["text"])), "Lendon", "Moming", "hells", "latter", "quack", "writter"]
    with tempfile.TemporaryDirectory() as tmp:
        lexicon_file = Path(tmp) / "lexicon.txt"
        lexicon_file.write_text("\\n".join(words) + "\\n", encoding="utf-8")
        with_lexicon = Recognizer.load(MODEL, lexicon=lexicon_file).read_images(paths)
    with_tta = Recognizer.load(MODEL, tta=True).read_images(paths)
    table = pd.DataFrame(
        {
            "truth": labels["text"],
            "greedy": [r.text for r in readings],
            "tta": [r.text for r in with_tta],
            "lexicon": [r.text for r in with_lexicon],
            "lexicon margin": [round(r.lexicon_margin or 0.0, 2) for r in with_lexicon],
        }
    )
    print(table.to_string(index=False))
    """),
    md("""
    ## Ink: pen trajectories

    Ink is a list of strokes, each a `(K, 2)` array of x, y points (y downward, any unit), as a tablet, a
    pen or a drawing canvas records them. `recognizer.read_ink` renders it the way the model was trained
    and reads it.
    Here: words of IAM-OnDB's test split, if the dataset is present.
    """),
    code("""
    ondb = DATA / "iam_ondb"
    if (ondb / "strokes.npz").is_file():
        words = read_source(SourceConfig(path=str(ondb), kind="iam_ondb_words", split="testset_t"))
        chosen = [r for r in words if r.text and len(r.text) >= 5][:4]
        fig, axes = plt.subplots(len(chosen), 1, figsize=(6, 1.4 * len(chosen)), squeeze=False)
        for ax, record in zip(axes.flat, chosen, strict=False):
            reading = recognizer.read_ink(record.ink)
            points = sum(len(stroke) for stroke in record.ink)
            print(
                f"{record.name}: {len(record.ink)} strokes, {points} points; "
                f"truth {record.text!r} read {reading.text!r} ({reading.confidence:.2f})"
            )
            ax.imshow(recognizer.prepare_record(record), cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"truth {record.text!r}  read {reading.text!r}", fontsize=9)
            ax.axis("off")
        fig.tight_layout()
        plt.show()
    else:
        print(f"IAM-OnDB not found at {ondb}: skipping the ink example (see ../shared/data/README.md)")
    """),
]


TRAIN_MODEL: list[Cell] = [
    md("""
    # Train and evaluate a handwriting recognizer

    The story of the Kaggle CRNN notebooks, with scriba doing the work: read the data, clean the labels
    (and see what was dropped), look at samples, build the charset, train a CNN + BiLSTM with CTC loss,
    evaluate (CER, WER, per-character precision/recall/F1, confusions, worst samples), plot, and predict
    single images.

    Parameters (environment variables):
    - `SCRIBA_NB_QUICK=1`: a seconds-long run on a small synthetic dataset with the tiny recipe
      (`configs/tiny.yaml`); the tests run this.
    - otherwise the full recipe `configs/iam_ondb_words.yaml` on IAM-OnDB words (`$SCRIBA_DATA/iam_ondb`,
      default `../shared/data/iam_ondb`), or on a larger synthetic dataset when IAM-OnDB is absent.
      On a CPU this takes hours.
    - `SCRIBA_NB_OUT`: where runs go (default: a temporary folder in quick mode, `runs/notebook` otherwise).
      The notebook never writes into `models/`.
    """),
    md("## Parameters"),
    code("""
    import os
    import tempfile
    from pathlib import Path

    <FIND_REPO>
    QUICK = os.environ.get("SCRIBA_NB_QUICK", "0") == "1"
    ONDB = DATA / "iam_ondb"
    USE_ONDB = not QUICK and (ONDB / "strokes.npz").is_file()
    OUT = Path(
        os.environ.get("SCRIBA_NB_OUT")
        or (tempfile.mkdtemp(prefix="scriba_notebook_") if QUICK else REPO / "runs" / "notebook")
    )
    # Synthetic words per split (used when IAM-OnDB is not).
    SYNTH_SIZES = {"train": 160, "val": 32, "test": 32} if QUICK else {"train": 4000, "val": 400, "test": 400}
    SEED = 0
    print(f"quick mode: {QUICK}; data: {'IAM-OnDB words' if USE_ONDB else 'synthetic words'}; output: {OUT}")
    """),
    code("""
    import csv
    import dataclasses
    import json
    import logging

    import cv2
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from IPython.display import Image as ShowImage
    from IPython.display import display

    from scriba.charset import Charset
    from scriba.config import load_config
    from scriba.data.cleaning import clean
    from scriba.data.images import load_image
    from scriba.data.ink import render_ink
    from scriba.data.sources import SourceConfig, read_source
    from scriba.data.synth import handwriting_fonts, render_text
    from scriba.evaluate import evaluate, sample_images
    from scriba.plots import plot_char_f1, plot_sample_grid, plot_training_curves
    from scriba.recognizer import Recognizer
    from scriba.training import fit

    # scriba.plots selects the file-only Agg backend on import; switch back to inline figures.
    %matplotlib inline
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    pd.set_option("display.width", 120)
    """),
    md("""
    ## Data

    IAM-OnDB words are pen trajectories (ink) from 221 writers with a writer-independent split: `trainset` to
    train, `testset_v` to select the model, `testset_t` to report on.

    The synthetic fallback renders common English words with handwriting fonts into a `path,text` CSV per
    split, the generic table format scriba reads. Like real label files, the training table has a few bad
    rows: an `UNREADABLE` placeholder, an empty label, a blank label and a row whose image is missing.
    """),
    code("""
    COMMON_WORDS = (
        "the of and to in is was he for it with as his on be at by had are but from or have an they which "
        "one you were her all she there would their we him been has when who will more no if out so said "
        "what up its about into than them can only other new some could time these two may then do first "
        "any my now such like our over man me even most made after also did many before must through back "
        "years where much your way well"
    )
    WORDS = COMMON_WORDS.split()


    def make_synthetic_words(folder: Path, sizes: dict[str, int], seed: int = 0) -> dict[str, Path]:
        \"\"\"Render random words into folder/<split>/*.png with one path,text CSV per split.\"\"\"
        rng = np.random.default_rng(seed)
        fonts = sorted(handwriting_fonts())
        tables = {}
        for split, n in sizes.items():
            (folder / split).mkdir(parents=True, exist_ok=True)
            rows = []
            for i in range(n):
                word = str(rng.choice(WORDS))
                word = word.capitalize() if rng.random() < 0.3 else word
                size, seed = int(rng.integers(36, 60)), int(rng.integers(1 << 31))
                image = render_text(word, font=fonts[i % len(fonts)], size=size, seed=seed)
                name = f"{split}/{i:05d}.png"
                cv2.imwrite(str(folder / name), image)
                rows.append((name, word))
            if split == "train":
                # Bad rows, as real label files have them: cleaning and fit must drop and count them.
                rows += [(rows[0][0], "UNREADABLE"), (rows[1][0], ""), (rows[2][0], "   ")]
                rows += [("train/missing.png", "ghost")]
            tables[split] = folder / f"{split}.csv"
            with open(tables[split], "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([("path", "text"), *rows])
        return tables


    if USE_ONDB:
        splits = {"train": "trainset", "val": "testset_v", "test": "testset_t"}
        sources = {s: SourceConfig(path=str(ONDB), kind="iam_ondb_words", split=v) for s, v in splits.items()}
    else:
        tables = make_synthetic_words(OUT / "synthetic_words", SYNTH_SIZES, SEED)
        sources = {split: SourceConfig(path=str(path), kind="table") for split, path in tables.items()}
        print(f"wrote {sum(SYNTH_SIZES.values())} synthetic word images to {OUT / 'synthetic_words'}")
        print(pd.read_csv(tables["train"], dtype=str, keep_default_na=False).tail(6).to_string(index=False))

    records = {split: read_source(source) for split, source in sources.items()}
    for split, recs in records.items():
        print(f"{split}: {len(recs)} records")
    """),
    md("""
    ## The recipe

    A training run is one YAML recipe plus overrides (`--set key=value` on the command line). Quick mode
    uses the tiny recipe; the full mode the recipe of the shipped IAM-OnDB model, writing its model file
    into the run folder instead of `models/`.
    """),
    code("""
    recipe = REPO / "configs" / ("tiny.yaml" if QUICK else "iam_ondb_words.yaml")
    # Override values are parsed as YAML; JSON is YAML, so paths and source lists go in as JSON.
    overrides = [
        f"output_dir={json.dumps(str(OUT))}",
        "model_out=",  # the run folder's model.safetensors, never the shipped model
        f"data.root={json.dumps(str(DATA))}",
        f"seed={SEED}",
        f"data.train={json.dumps([dataclasses.asdict(sources['train'])])}",
        f"data.val={json.dumps([dataclasses.asdict(sources['val'])])}",
    ]
    if QUICK:
        overrides += ["training.max_epochs=2"]
    if not USE_ONDB:
        overrides += ["data.cleaning.special_labels=[UNREADABLE, EMPTY]"]
    config = load_config(recipe, overrides)
    print(f"recipe {recipe.name}: model {config.model.name} {config.model.args}")
    print(
        f"  input height {config.preprocessing.height}, {config.training.max_epochs} epochs max, "
        f"batch {config.training.batch_size}, lr {config.training.lr}, schedule {config.training.schedule}"
    )
    print(f"  run folder {config.run_dir}")
    """),
    md("""
    ## Cleaning

    Labels are normalized and records that cannot be training targets are dropped, with a report of how
    many and why. Image-level problems (unreadable files, labels too long for their image) are found when
    `fit` loads the images; they show up in the run's `cleaning_train.json` below.
    """),
    code("""
    cleaned, reports = {}, {}
    for split, recs in records.items():
        cleaned[split], reports[split] = clean(recs, config.data.cleaning)
        print(f"{split}: {reports[split].summary()}")
    """),
    md("## A look at the data"),
    code("""
    def raw_image(record):
        \"\"\"The record's image as written (ink is rendered), uint8 dark on light.\"\"\"
        return render_ink(record.ink, config.data.ink) if record.ink is not None else load_image(record.image)


    train = cleaned["train"]
    rng = np.random.default_rng(SEED)
    shown = rng.choice(len(train), size=min(12, len(train)), replace=False)
    fig, axes = plt.subplots(3, 4, figsize=(14, 3.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown, strict=False):
        ax.imshow(raw_image(train[i]), cmap="gray", vmin=0, vmax=255)
        ax.set_title(repr(train[i].text), fontsize=10)
    fig.tight_layout()
    plt.show()

    lengths = pd.Series([len(r.text) for r in train])
    print(
        f"{len(train)} training labels, {len({r.text for r in train})} distinct, "
        f"length {lengths.min()}..{lengths.max()} (mean {lengths.mean():.1f})"
    )
    """),
    md("""
    ## The charset

    The Kaggle notebooks' `label_to_num` / `num_to_label`: every character gets an id from 1, and 0 is the CTC
    blank. `fit` builds the same charset from the cleaned training labels and stores it in the model file.
    """),
    code("""
    charset = Charset.from_texts(r.text for r in train)
    label_to_num = {c: charset.encode(c)[0] for c in charset.characters}
    num_to_label = {i: charset.decode([i]) for i in range(1, charset.num_classes)}
    print(f"{len(charset)} characters + blank = {charset.num_classes} classes")
    print(f"longest label: {charset.max_label_length} characters")
    print("label -> number:", label_to_num)
    print("number -> label:", num_to_label)
    word = train[0].text
    print(f"{word!r} -> {charset.encode(word)} -> {charset.decode(charset.encode(word))!r}")
    print(f"padded to the longest label: {charset.encode_padded(word)}")
    """),
    md("""
    ## Training

    `fit` reads and cleans the data again (the same way), loads the images, trains with CTC loss, validates
    CER every epoch, keeps the best checkpoint and writes one model file.
    """),
    code("""
    result = fit(config)
    print(f"model written to {result.model_path}")
    print(f"best val/cer {result.best_val_cer:.4f}; run folder {result.run_dir}")
    for split in ("train", "val"):
        dropped = json.loads((result.run_dir / f"cleaning_{split}.json").read_text())["dropped"]
        print(f"{split} records dropped by fit: {dropped}")
    """),
    md("""
    ## Evaluation

    The model reads the test split; `evaluate` scores it: character and word error rates, exact matches,
    the Kaggle notebooks' positional character accuracy, and per-character precision/recall/F1.

    In quick mode the tiny model has seen 160 images for two epochs: expect a CER near 1 (it reads little or
    nothing yet). The numbers mean something in the full mode.
    """),
    code("""
    recognizer = Recognizer.load(result.model_path)
    test = cleaned["test"]
    # skip: test labels with characters the model never saw are left out (and counted in report.cleaning).
    report = evaluate(recognizer, test, unknown_labels="skip")
    print(report.summary())
    print(f"test CER {report.cer:.4f}")
    """),
    code("""
    per_char = pd.DataFrame.from_dict(report.per_char, orient="index").rename_axis("character")
    per_char.sort_values(["f1", "support"], ascending=[True, False]).round(3)
    """),
    code("""
    print("most confused (truth -> read):")
    display(pd.DataFrame(report.most_confused, columns=["truth", "read", "count"]).head(10))
    print("most missed characters:")
    display(pd.DataFrame(report.most_missed, columns=["character", "missed"]).head(10))
    print("worst samples:")
    pd.DataFrame([dataclasses.asdict(s) for s in report.worst[:10]])
    """),
    md("## Plots: training curves, per-character F1, predictions"),
    code("""
    plots = result.run_dir / "plots"
    history = recognizer.model_file.info.get("history") or []
    display(ShowImage(filename=str(plot_training_curves(history, plots / "curves.png"))))
    display(ShowImage(filename=str(plot_char_f1(report.per_char, plots / "char_f1.png"))))

    by_name = {r.name: r for r in test}
    chosen = [report.samples[i] for i in sample_images(report.samples, 12)]
    grid = plot_sample_grid(
        [recognizer.prepare_record(by_name[s.id]) for s in chosen],
        [s.prediction for s in chosen],
        [s.truth for s in chosen],
        plots / "samples.png",
    )
    display(ShowImage(filename=str(grid)))
    """),
    md("## Predict one image"),
    code("""
    def predict(image_index: int) -> None:
        \"\"\"Show test item ``image_index`` with its truth and the model's reading.\"\"\"
        record = test[image_index]
        image = recognizer.prepare_record(record)
        reading = recognizer.read_prepared([image])[0]
        _, ax = plt.subplots(figsize=(6, 1.3))
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.axis("off")
        color = "black" if reading.text == record.text else "tab:red"
        ax.set_title(f"truth {record.text!r}   read {reading.text!r} ({reading.confidence:.2f})", color=color)
        plt.show()
        print(f"{record.name}: truth {record.text!r} read {reading.text!r} ({reading.confidence:.3f})")


    predict(0)
    """),
    code("""
    predict(len(test) // 2)
    """),
    md("""
    ## Next

    - Read images with the new model: `Recognizer.load(result.model_path).read_images(images)`, or
      `scriba read --model <model file> image.png`; see `start_model.ipynb`.
    - Score it on another dataset: `scriba evaluate --model <model file> --data <dataset>`.
    - Train the full recipe from the command line: `scriba train --config configs/iam_ondb_words.yaml`.
    """),
]


def build(cells: list[Cell]) -> nbformat.NotebookNode:
    notebook = new_notebook(
        cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives the same file
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for name, cells in (("start_model.ipynb", START_MODEL), ("project_train_model.ipynb", TRAIN_MODEL)):
        nbformat.write(build(cells), out / name)
        print(f"wrote {out / name} ({len(cells)} cells)")


if __name__ == "__main__":
    main()
