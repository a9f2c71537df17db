"""Loading and validating files and directories never lets bad input escape as a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workflow import DefinitionInvalid, load_definition, load_directory, validate_paths

DATA = Path(__file__).parent / "data"
MINI = DATA / "valid" / "mini.yaml"


def test_directory_expands_to_yaml_and_yml_files(tmp_path: Path) -> None:
    shutil.copy(MINI, tmp_path / "a.yaml")
    (tmp_path / "b.yml").write_text(MINI.read_text(encoding="utf-8").replace("key: mini", "key: other"),
                                    encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a definition", encoding="utf-8")

    definitions = load_directory(tmp_path)

    assert sorted(definitions) == ["mini", "other"]
    assert definitions["other"].path == str(tmp_path / "b.yml")


def test_validate_paths_reports_every_file(tmp_path: Path) -> None:
    for name in ("unknown_guard.yaml", "date_02_30.yaml"):
        shutil.copy(DATA / "invalid" / name, tmp_path / name)

    diagnostics = validate_paths([tmp_path, MINI])

    assert [Path(d.file).name for d in diagnostics] == ["date_02_30.yaml", "unknown_guard.yaml"]


def test_duplicate_keys_across_files_are_reported_at_the_second_key(tmp_path: Path) -> None:
    shutil.copy(MINI, tmp_path / "a.yaml")
    shutil.copy(MINI, tmp_path / "b.yaml")

    with pytest.raises(DefinitionInvalid) as caught:
        load_directory(tmp_path)

    (problem,) = caught.value.diagnostics
    assert problem.file == str(tmp_path / "b.yaml")
    assert (problem.line, problem.col) == (3, 6)
    assert "duplicate definition key 'mini'" in str(problem)


def test_missing_file_is_a_diagnostic(tmp_path: Path) -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(tmp_path / "nope.yaml")

    (problem,) = caught.value.diagnostics
    assert "cannot read file" in problem.message
    assert problem.file == str(tmp_path / "nope.yaml")


def test_empty_directory_is_a_diagnostic(tmp_path: Path) -> None:
    (problem,) = validate_paths([tmp_path])

    assert problem.message == "no definition files found"


def test_valid_files_give_no_diagnostics() -> None:
    assert validate_paths([MINI, str(MINI)]) == []


def test_bytes_and_text_are_both_accepted() -> None:
    from workflow import load_definition_text

    raw = MINI.read_bytes()

    assert load_definition_text(raw).content_hash == load_definition_text(raw.decode()).content_hash
    assert load_definition_text(b"\xef\xbb\xbf" + raw).key == "mini"  # a UTF-8 BOM is fine
