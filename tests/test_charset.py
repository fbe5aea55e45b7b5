from __future__ import annotations

import json

import pytest

from scriba.charset import BLANK, Charset
from scriba.errors import LabelError, ScribaError, UnknownCharactersError


def test_blank_is_zero_and_ids_start_at_one() -> None:
    charset = Charset("abc")
    assert BLANK == 0
    assert charset.encode("abc") == [1, 2, 3]
    assert charset.encode("cab") == [3, 1, 2]


def test_num_classes_counts_the_blank() -> None:
    charset = Charset("abc")
    assert len(charset) == 3
    assert charset.num_classes == 4


@pytest.mark.parametrize("text", ["a", "hello world", "Zürich-Straße", "l'été"])
def test_round_trip(text: str) -> None:
    charset = Charset.from_texts(["hello world", "Zürich-Straße", "l'été", "a"])
    assert charset.decode(charset.encode(text)) == text


def test_from_texts_sorts_characters_and_records_longest_label() -> None:
    charset = Charset.from_texts(["cab", "abba"], extra="-")
    assert charset.characters == "-abc"
    assert charset.max_label_length == 4
    assert "-" in charset
    assert "z" not in charset


def test_decode_skips_blank_and_out_of_range_ids() -> None:
    charset = Charset("ab")
    assert charset.decode([0, 1, 0, 2, 3, 99, -1]) == "ab"
    assert charset.decode([]) == ""


def test_unknown_characters_raise_listing_them() -> None:
    charset = Charset("ab")
    with pytest.raises(UnknownCharactersError) as info:
        charset.encode("a!bz")
    assert info.value.characters == ["!", "z"]
    assert "'!'" in str(info.value) and "'z'" in str(info.value)
    assert isinstance(info.value, ScribaError)
    assert charset.unknown("a!bz") == {"!", "z"}


def test_unknown_drop_leaves_characters_out() -> None:
    charset = Charset("ab")
    assert charset.encode("a!bz", unknown="drop") == [1, 2]


@pytest.mark.parametrize(("text", "unknown"), [("", "error"), ("", "drop"), ("zz", "drop")])
def test_empty_label_raises(text: str, unknown: str) -> None:
    with pytest.raises(LabelError):
        Charset("ab").encode(text, unknown=unknown)  # type: ignore[arg-type]


def test_encode_padded() -> None:
    charset = Charset("abc", max_label_length=5)
    assert charset.encode_padded("ab") == [1, 2, -1, -1, -1]
    assert charset.encode_padded("cc", pad=0) == [3, 3, 0, 0, 0]
    assert charset.encode_padded("abcab") == [1, 2, 3, 1, 2]
    with pytest.raises(LabelError):
        charset.encode_padded("abcabc")
    with pytest.raises(LabelError, match="maximum label length"):
        Charset("abc").encode_padded("a")  # no maximum set


def test_extend_keeps_old_ids_and_appends_new_characters_sorted() -> None:
    old = Charset("cab", max_label_length=7)
    new = old.extend(["zebra", "yak"])
    assert new.characters.startswith("cab")
    assert new.characters == "cab" + "ekryz"
    for char in "cab":
        assert new.encode(char) == old.encode(char)
    assert new.max_label_length == 7  # the old maximum is longer than these texts
    assert old.extend(["abc"]) == old  # nothing new: same charset
    assert old.extend(["a cab in a cab"]).max_label_length == 14  # longer texts raise the maximum


def test_json_round_trip() -> None:
    charset = Charset("AÉ ß-'", max_label_length=12)
    text = charset.to_json()
    assert json.loads(text)["blank"] == 0
    restored = Charset.from_json(text)
    assert restored == charset
    assert restored.encode("ß-A") == charset.encode("ß-A")
    assert Charset.from_dict({"characters": "xy"}).max_label_length == 0


def test_duplicate_characters_rejected() -> None:
    with pytest.raises(ValueError, match="repeats"):
        Charset("abca")


def test_empty_charset_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        Charset("")
