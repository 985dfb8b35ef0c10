"""The typed run config: JSON Schema for editors, shipped configs valid, errors in Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lifecircle.analysis.runconfig import (
    RunConfig,
    RunConfigError,
    load_run_config,
    run_config_schema,
)
from lifecircle.scripts.cli import main
from lifecircle.settings import PACKAGE_DATA

SCHEMA_FILE = PACKAGE_DATA / "schemas" / "run-config.schema.json"
SHIPPED = sorted((PACKAGE_DATA / "streets").glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=../schemas/run-config.schema.json"


def test_schema_command_prints_the_shipped_schema(capsys):
    assert main(["schema", "run-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == run_config_schema()
    # the file the configs point at is the schema of today's model (regenerate with the command)
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == printed
    assert printed["title"] == "lifecircle run config"
    assert printed["required"] == ["street"]
    assert printed["additionalProperties"] is False


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_validates_against_the_schema(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    raw = yaml.safe_load(text)
    RunConfig.model_validate(raw)  # the loader's own model
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(run_config_schema())
    assert [e.message for e in validator.iter_errors(raw)] == []


def test_the_schema_refuses_what_the_loader_refuses():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(run_config_schema())
    bad = {
        "street": "测试街道",
        "minutes": [5, -10],
        "facilities": [{"source": "file", "file": "x.csv"}],  # no coordinate system
        "buffer": 500,
    }
    where = sorted("/".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad))
    assert where == ["", "facilities/0", "minutes/1"]  # unknown key, coords missing, -10


def test_errors_name_file_and_field_in_chinese(tmp_path):
    path = tmp_path / "街道.yaml"
    path.write_text("street: 测试街道\nosm_relation: 1\nminutes: [5, -10]\n", encoding="utf-8")
    with pytest.raises(RunConfigError) as exc:
        load_run_config(path)
    assert exc.value.field == "minutes[1]"
    assert str(exc.value) == (
        f"{path}: 字段 minutes[1]: 必须大于 0 (Input should be greater than 0; 输入 -10)"
    )
    path.write_text("street: 测试街道\nosm_relation: 1\nsitting: {}\n", encoding="utf-8")
    with pytest.raises(RunConfigError, match="字段 sitting: 未知字段"):
        load_run_config(path)
