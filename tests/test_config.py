from __future__ import annotations

from pathlib import Path

import pytest

from scriba.config import Config, config_from_dict, load_config, save_config
from scriba.data.sources import SourceConfig
from scriba.errors import ConfigError, RemovedOptionError
from tests.cli_helpers import assert_one_line_error, run

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

RECIPE = """\
name: test_run
seed: 3
model:
  name: resnet_crnn
  args: {channels: [8, 16, 16, 24], hidden: 24}
preprocessing: {height: 32, mode: keep_ratio}
data:
  root: /data
  train:
    - {kind: table, path: train.csv}
    - {kind: iam_words, path: iam, include_err: true}
  val:
    - {path: val.csv}
  cleaning: {uppercase: true, special_labels: []}
  augment: 0.25
training:
  batch_size: 4
  lr: 0.003
  schedule: constant
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return path


def test_load_yaml(recipe: Path) -> None:
    config = load_config(recipe)
    assert isinstance(config, Config)
    assert config.name == "test_run" and config.seed == 3
    assert config.model.name == "resnet_crnn"
    assert config.model.args == {"channels": [8, 16, 16, 24], "hidden": 24}
    assert config.preprocessing.height == 32
    assert config.data.train == [
        SourceConfig(kind="table", path="train.csv"),
        SourceConfig(kind="iam_words", path="iam", include_err=True),
    ]
    assert config.data.val[0].kind == "auto"
    assert config.data.cleaning.uppercase is True
    assert config.data.cleaning.special_labels == ()
    assert config.data.augment == 0.25
    assert config.training.batch_size == 4 and config.training.lr == 0.003
    assert config.training.max_epochs == 30  # default kept
    assert config.run_dir == Path("runs") / "test_run"


def test_relative_source_paths_resolve_against_root(recipe: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(recipe.parent)  # no train.csv here
    config = load_config(recipe)
    assert config.data.resolve(config.data.train[0]).path == str(Path("/data") / "train.csv")
    absolute = SourceConfig(path="/elsewhere/x.csv")
    assert config.data.resolve(absolute).path == "/elsewhere/x.csv"


def test_relative_paths_that_exist_from_the_working_directory_are_taken_as_given(
    recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sources follow the rule of corpora and lexicons: a run's own table (``runs/x/pseudo_round1.csv``)
    needs no absolute path in a recipe."""
    monkeypatch.chdir(recipe.parent)
    table = Path("runs") / "x" / "pseudo_round1.csv"
    table.parent.mkdir(parents=True)
    table.write_text("path,text\n", encoding="utf-8")
    config = load_config(recipe, [f"data.train.0.path={table}"])
    assert config.data.resolve(config.data.train[0]).path == str(table)
    assert config.data.locate(str(table)) == table
    assert config.data.resolve(config.data.train[1]).path == str(Path("/data") / "iam")  # not here: under root
    assert config.data.locate("iam") == Path("/data") / "iam"


def test_overrides(recipe: Path) -> None:
    config = load_config(
        recipe,
        [
            "training.lr=3e-4",  # YAML 1.1 reads this as a string; it must still be a float
            "training.batch_size=16",
            "data.train.0.limit=5",
            "data.train.1.split=val",
            "model.args.hidden=32",
            "preprocessing.height=48",
            "name=other",
            "data.val=[{path: a.csv}, {path: b.csv, kind: table}]",
        ],
    )
    assert config.training.lr == pytest.approx(3e-4) and isinstance(config.training.lr, float)
    assert config.training.batch_size == 16
    assert config.data.train[0].limit == 5
    assert config.data.train[1].split == "val"
    assert config.data.train[1].include_err is True  # untouched
    assert config.model.args["hidden"] == 32
    assert config.preprocessing.height == 48
    assert config.name == "other"
    assert [s.path for s in config.data.val] == ["a.csv", "b.csv"]


def test_override_creates_missing_sections() -> None:
    config = config_from_dict({}, ["training.max_epochs=2", "model.args.layers=1"])
    assert config.training.max_epochs == 2
    assert config.model.args == {"layers": 1}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.lr", "key.path=value"),
        ("data.train.5.limit=1", "not an index"),
        ("data.train.x.limit=1", "not an index"),
        ("name.first=x", "not a section"),
    ],
)
def test_bad_overrides(recipe: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(recipe, [override])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.learning_rate=0.1", "learning_rate"),
        ("colour=blue", "colour"),
        ("data.train.0.size=3", "size"),
        ("preprocessing.depth=3", "depth"),
    ],
)
def test_unknown_keys(recipe: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown key.*{message}"):
        load_config(recipe, [override])


@pytest.mark.parametrize(
    ("recipe", "option"),
    [
        ("model: {name: pen_transformer}", "model.name"),
        ("model: {args: {column_pool: true}}", "model.args.column_pool"),
        ("model: {args: {shortcut: 0.1}}", "model.args.shortcut"),
        ("model: {args: {rows: 0}}", "model.args.rows"),  # even at its old default: the recipe names what is gone
        ("preprocessing: {pen_air: 0.2}", "preprocessing.pen_air"),
        ("preprocessing: {pen_context: 7}", "preprocessing.pen_context"),
        ("preprocessing: {pen_context_cell: 0.25}", "preprocessing.pen_context_cell"),
        ("data: {ink_drift: 0.5}", "data.ink_drift"),
        ("data: {ink: {local_aspect: 0.3}}", "data.ink.local_aspect"),
        ("data: {ink: {local_slant: 12.0}}", "data.ink.local_slant"),
        ("data: {ink: {local_size: 0.15}}", "data.ink.local_size"),
    ],
)
def test_recipes_naming_a_removed_option_fail_with_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, recipe: str, option: str
) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(f"name: old\n{recipe}\n", encoding="utf-8")
    with pytest.raises(RemovedOptionError, match="was removed") as info:
        load_config(path)
    assert info.value.option == option
    code, _, err = run(capsys, "train", "--config", str(path))
    assert_one_line_error(code, err, "pen_transformer" if option == "model.name" else option, "was removed")


@pytest.mark.parametrize(
    "override",
    [
        "training.batch_size=abc",
        "training.lr=[1, 2]",
        "training.lr=fast",
        "training.schedule=linear",
        "preprocessing.mode=stretch",
        "preprocessing.height=4",
        "data.augment=2",
        "data.cleaning.uppercase=maybe",
        "data.train=notalist",
        "training=5",
        "training.batch_size=0",
    ],
)
def test_wrong_types_and_values(recipe: Path, override: str) -> None:
    with pytest.raises(ConfigError):
        load_config(recipe, [override])


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "not_a_mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_config(path) == Config()


def test_save_and_load_round_trip(recipe: Path, tmp_path: Path) -> None:
    config = load_config(recipe, ["data.train.0.limit=7"])
    path = tmp_path / "saved.yaml"
    save_config(config, path)
    assert load_config(path) == config


def test_overrides_leave_the_input_untouched() -> None:
    data = {"training": {"lr": 0.1}}
    config_from_dict(data, ["training.lr=0.5"])
    assert data == {"training": {"lr": 0.1}}


RECIPES = sorted({*CONFIGS.glob("*.yaml"), *CONFIGS.glob("experiments/*.yaml")} - {CONFIGS / "chains.yaml"})


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_shipped_configs_load(path: Path) -> None:
    config = load_config(path)
    assert config.name
    assert config.training.batch_size >= 1


def test_shipped_configs_exist() -> None:
    names = {p.name for p in CONFIGS.glob("*.yaml")}
    assert {"tiny.yaml", "iam_ondb_words.yaml"} <= names


def test_tiny_config_takes_data_overrides() -> None:
    config = load_config(CONFIGS / "tiny.yaml", ["data.train=[{path: d/train.csv}]", "data.val=[{path: d/val.csv}]"])
    assert [s.path for s in config.data.train] == ["d/train.csv"]
    assert [s.path for s in config.data.val] == ["d/val.csv"]
