"""Fixtures that synthesize tiny datasets in tmp_path: no fonts, no network, no real data.

Images are drawn with cv2 as dark strokes on white paper; every dataset format scriba reads gets a
small folder in its real layout (IAM words/lines, Kaggle names, IAM-OnDB, a path,text table).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest


def draw_strokes(width: int = 96, height: int = 32, seed: int = 0, strokes: int = 4) -> np.ndarray:
    """A uint8 (height, width) image: a few random dark polylines on white paper."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width), 255, np.uint8)
    margin = max(2, height // 6)
    for _ in range(strokes):
        xs = np.sort(rng.integers(margin, width - margin, size=5))
        ys = rng.integers(margin, height - margin, size=5)
        points = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(image, [points], False, 0, thickness=2, lineType=cv2.LINE_AA)
    return image


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write ``image`` to ``path`` (format from the suffix), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise RuntimeError(f"cv2 could not write {path}")
    return path


@pytest.fixture
def draw():
    """The :func:`draw_strokes` helper, for tests that need an image array."""
    return draw_strokes


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """A 96x32 PNG with dark strokes on white."""
    return write_image(tmp_path / "word.png", draw_strokes(96, 32))


@pytest.fixture
def corrupt_image(tmp_path: Path) -> Path:
    """A .png file holding random bytes."""
    path = tmp_path / "corrupt.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def empty_file(tmp_path: Path) -> Path:
    """A zero-byte .png file."""
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


# --- path,text table --------------------------------------------------------------------------

TABLE_ROWS = [
    ("images/a.png", "HELLO", "train"),
    ("images/b.png", "WORLD", "train"),
    ("images/sub/c.png", "NA", "val"),  # "NA" is a name, not a missing value
    ("images/d.png", "", "val"),  # empty label -> None
]


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    """`data/labels.csv` (path,text,split) with paths relative to its folder, and the images."""
    root = tmp_path / "data"
    for i, (rel, _, _) in enumerate(TABLE_ROWS):
        write_image(root / rel, draw_strokes(80 + 8 * i, 32, seed=i))
    lines = ["path,text,split"] + [f"{p},{t},{s}" for p, t, s in TABLE_ROWS]
    path = root / "labels.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def table_tsv(table_csv: Path) -> Path:
    """The same table as TSV, beside the CSV (same images)."""
    lines = ["path\ttext\tsplit"] + [f"{p}\t{t}\t{s}" for p, t, s in TABLE_ROWS]
    path = table_csv.parent / "labels.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- IAM words.txt / lines.txt ------------------------------------------------------------------

IAM_WORDS_TXT = """\
#--- words.txt ---------------------------------------------------------------#
#
# iam database word information
#
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
#
a01-000u-00-00 ok 154 408 768 27 51 AT A
a01-000u-00-01 ok 154 507 766 213 48 NN MOVE
a01-000u-00-02 ok 154 796 764 70 50 TO to
a01-000u-00-03 err 154 919 757 166 78 VB stop
b04-010-01-02 ok 170 1100 900 120 60 NP Gaitskell
"""

IAM_LINES_TXT = """\
#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell
a01-000u-01 ok 156 19 395 932 1850 105 from|nominating|any|more|Labour
a01-000u-02 err 157 16 408 1106 1838 123 life|Peers|is|to|be|made
"""


def _write_iam(root: Path, level: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{level}.txt"
    path.write_text(text, encoding="utf-8")
    for i, line in enumerate(text.splitlines()):
        if line.startswith("#") or not line.strip():
            continue
        item_id = line.split(" ")[0]
        parts = item_id.split("-")
        width = 200 if level == "lines" else 64
        write_image(
            root / level / parts[0] / f"{parts[0]}-{parts[1]}" / f"{item_id}.png",
            draw_strokes(width, 40, seed=i),
        )
    return path


@pytest.fixture
def iam_words_txt(tmp_path: Path) -> Path:
    """`iam/words.txt` (comments, 4 ok rows, 1 err row) and the `iam/words/a01/a01-000u/...png` tree."""
    return _write_iam(tmp_path / "iam", "words", IAM_WORDS_TXT)


@pytest.fixture
def iam_lines_txt(tmp_path: Path) -> Path:
    """`iam_lines/lines.txt` (comments, 2 ok rows, 1 err row) and the `lines/` image tree."""
    return _write_iam(tmp_path / "iam_lines", "lines", IAM_LINES_TXT)


# --- Kaggle names ---------------------------------------------------------------------------

KAGGLE_ROWS = [
    ("VALIDATION_0001.jpg", "BILEL"),
    ("VALIDATION_0002.jpg", "LAUMONIER"),
    ("VALIDATION_0003.jpg", "UNREADABLE"),
    ("VALIDATION_0004.jpg", "EMPTY"),
    ("VALIDATION_0005.jpg", ""),
    ("VALIDATION_0006.jpg", "JEAN-ROCH"),
]


@pytest.fixture
def kaggle_dir(tmp_path: Path) -> Path:
    """`kaggle/written_name_validation_v2.csv` (FILENAME,IDENTITY) + `validation_v2/validation/*.jpg`."""
    root = tmp_path / "kaggle"
    for i, (name, _) in enumerate(KAGGLE_ROWS):
        write_image(root / "validation_v2" / "validation" / name, draw_strokes(120, 32, seed=10 + i))
    lines = ["FILENAME,IDENTITY"] + [f"{n},{t}" for n, t in KAGGLE_ROWS]
    (root / "written_name_validation_v2.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


# --- IAM-OnDB -------------------------------------------------------------------------------


@dataclass
class OnDBLayout:
    """What the synthetic IAM-OnDB folder holds, for assertions."""

    root: Path
    # line id -> list of strokes as (K, 2) arrays, in order
    strokes: dict[str, list[np.ndarray]]


def _stroke(x0: int, x1: int, y0: int, y1: int, k: int = 6) -> np.ndarray:
    return np.stack([np.linspace(x0, x1, k), np.linspace(y0, y1, k)], axis=1).round().astype(np.int32)


@pytest.fixture
def iam_ondb_dir(tmp_path: Path) -> OnDBLayout:
    """A 3-line IAM-OnDB folder: strokes.npz, lines.csv (one `has_marker` line), words.csv.

    Line l1 (trainset) has strokes with minimum x 1000, 1100, 1500, 1520; its words are x in
    [1000, 1200] ("A" -> strokes 0, 1) and [1400, 1600] ("MOVE" -> strokes 2, 3), plus one word
    whose x range holds no stroke. l2 (testset_v) has two strokes, one word. l3 (trainset) is
    flagged `has_marker`.
    """
    root = tmp_path / "iam_ondb"
    root.mkdir()
    strokes = {
        "a01-000u-01": [
            _stroke(1000, 1050, 500, 600),
            _stroke(1100, 1180, 520, 580),
            _stroke(1500, 1580, 480, 620),
            _stroke(1520, 1700, 550, 560),
        ],
        "a01-000u-02": [_stroke(300, 400, 500, 560), _stroke(420, 480, 510, 590)],
        "a01-000u-03": [_stroke(0, 90, 10, 80)],
    }
    points, offsets, ids = [], [0], []
    for line_id, line_strokes in strokes.items():
        for s in line_strokes:
            pen = np.zeros((len(s), 1), np.int32)
            pen[-1] = 1  # pen_up after the stroke's last point
            points.append(np.concatenate([s, pen], axis=1))
        offsets.append(offsets[-1] + sum(len(s) for s in line_strokes))
        ids.append(line_id)
    np.savez(
        root / "strokes.npz",
        points=np.concatenate(points).astype(np.int32),
        line_offsets=np.array(offsets, np.int64),
        line_ids=np.array(ids),
    )
    (root / "lines.csv").write_text(
        "line_id,form_id,split,flag,text,raw_text\n"
        "a01-000u-01,a01-000u,trainset,ok,A MOVE,A MOVE\n"
        "a01-000u-02,a01-000u,testset_v,ok,Mr. Gaitskell,Mr . Gaitskell\n"
        "a01-000u-03,a01-000u,trainset,has_marker,# stop,# stop\n",
        encoding="utf-8",
    )
    # Rows of two lines interleave, so a reader caching one line at a time must still get them right.
    (root / "words.csv").write_text(
        "line_id,word_index,x_min,x_max,text,split\n"
        "a01-000u-01,0,1000,1200,A,trainset\n"
        "a01-000u-02,0,300,480,Gaitskell,testset_v\n"
        "a01-000u-01,1,1400,1600,MOVE,trainset\n"
        "a01-000u-01,2,5000,6000,ghost,trainset\n",
        encoding="utf-8",
    )
    return OnDBLayout(root, {k: [s.astype(np.float32) for s in v] for k, v in strokes.items()})


# --- trained-model fixtures (session scoped: one tiny training run serves every test that needs a model) ---

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED_DATA = REPO.parent / "shared" / "data"


def load_script(path: Path) -> ModuleType:
    """A script outside the package (``scripts/``, ``tools/``) imported as a module named after its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses of the script look their module up here
    spec.loader.exec_module(module)
    return module


def read_labels(folder: Path) -> list[tuple[Path, str]]:
    """The (file, text) rows of ``folder/labels.csv`` (the examples' labels), files as paths in ``folder``."""
    import csv

    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return [(folder / row["path"], row["text"]) for row in csv.DictReader(f)]


@dataclass
class WordTables:
    train: Path
    val: Path


@pytest.fixture(scope="session")
def word_tables(tmp_path_factory: pytest.TempPathFactory) -> WordTables:
    """Font-rendered word images as path,text tables: 48 to train on, 12 to validate."""
    from tests.synthetic import write_word_table

    root = tmp_path_factory.mktemp("words")
    return WordTables(write_word_table(root / "train", 48), write_word_table(root / "val", 12, seed=5))


@pytest.fixture(scope="session")
def tiny_run(word_tables: WordTables, tmp_path_factory: pytest.TempPathFactory):
    """A 2-epoch run of configs/tiny.yaml on :func:`word_tables` (a FitResult)."""
    from scriba.config import load_config
    from scriba.training import fit
    from tests.synthetic import tiny_overrides

    output = tmp_path_factory.mktemp("runs")
    return fit(load_config(REPO / "configs" / "tiny.yaml", tiny_overrides(word_tables.train, word_tables.val, output)))


@pytest.fixture(scope="session")
def tiny_model(tiny_run) -> Path:
    """The model file of :func:`tiny_run`."""
    return tiny_run.model_path


def shared_folder(name: str) -> Path:
    """``../shared/data/<name>`` (real handwriting); the calling test skips, naming the folder, where it is absent."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent")
    return folder


@pytest.fixture
def shared_names() -> Path:
    """../shared/data/names: Kaggle names (labels.csv, lexicon.csv, unlabeled/)."""
    return shared_folder("names")


@pytest.fixture
def shared_iam_lines() -> Path:
    """../shared/data/iam_lines: scanned IAM lines (labels.csv, images/)."""
    return shared_folder("iam_lines")


@pytest.fixture
def shared_iam_ondb() -> Path:
    """../shared/data/iam_ondb: IAM-OnDB pen trajectories (strokes.npz, lines.csv, words.csv)."""
    return shared_folder("iam_ondb")


@pytest.fixture
def shared_doctor() -> Path:
    """../shared/data/doctor: medicine names from prescriptions (labels.csv, images)."""
    return shared_folder("doctor")
