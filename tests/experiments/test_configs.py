"""One description per experiment: every registered experiment's command-line options, TOML
keys and sweep keys are exactly its Config's fields, and Configs check what they are given."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import pytest

from initlab.cli import command_parser, main
from initlab.cli.point import check_point
from initlab.errors import InitlabError
from initlab.experiments import registry
from initlab.experiments.config import Config, at_least, in_range, option, positive
from initlab.experiments.shared_options import inits_option

#: options that say how to run, not what: never a Config field
RUN_OPTIONS = {"help", "json", "out", "quiet", "dump_config", "force", "format", "dpi", "jobs",
               "preset"}


@pytest.mark.parametrize("name", registry.names())
def test_cli_options_toml_keys_and_sweep_keys_are_the_config_fields(name, tmp_path, capsys):
    exp = registry.get(name)
    fields = set(exp.config.field_names())
    parser = command_parser(name)
    assert {a.dest for a in parser.options} - RUN_OPTIONS == fields
    default = exp.config()
    toml = default.to_toml(name)
    doc = default.to_dict()
    written = {k for k, v in doc.items() if v is not None}
    assert {line.split(" = ")[0] for line in toml.splitlines() if " = " in line} == \
        written | {"experiment"}
    assert check_point({"experiment": name, **{k: doc[k] for k in written}}) == default
    for key in fields:  # every field is a sweep key and a TOML key
        check_point({"experiment": name, key: doc[key]})
    with pytest.raises(InitlabError, match="unknown key 'no_such_option'"):
        check_point({"experiment": name, "no_such_option": 1})
    path = tmp_path / "c.toml"
    path.write_text(toml + "no_such_option = 1\n")
    assert main(["run", str(path)]) == 2
    assert "unknown key 'no_such_option'" in capsys.readouterr().err


@pytest.mark.parametrize("name", registry.names())
def test_dump_config_runs_as_it_was_dumped(name, capsys):
    exp = registry.get(name)
    assert main([*name.split("-"), "--dump-config"]) == 0  # width-transfer: width transfer
    import tomllib

    doc = tomllib.loads(capsys.readouterr().out)
    assert doc.pop("experiment") == name
    assert exp.config.from_dict(doc) == exp.config()


@dataclasses.dataclass(frozen=True)
class Demo(Config):
    PRESETS: ClassVar[dict] = {"big": {"depth": 50, "lr": 0.5}}

    depth: int = option(10, "layers", check=at_least(1))
    lr: float = option(0.1, "learning rate", check=positive)
    keep: float = option(0.5, "a probability", check=in_range(0, 1, high_open=True))
    inits: tuple[str, ...] = inits_option(("he",))
    sizes: tuple[int, ...] = option((4, 4), "sizes", check=at_least(1))
    batch: int | None = option(None, "batch", check=at_least(1))
    data: Path | None = option(None, "a file")
    fast: bool = option(False, "a switch")


def test_values_are_coerced_to_their_types():
    c = Demo.from_dict({"depth": 3, "lr": 1, "inits": ["he", "normal(0.1)"], "sizes": [2],
                        "data": "x.csv", "fast": True})
    assert c.lr == 1.0 and isinstance(c.lr, float) and c.inits == ("he", "normal(0.1)")
    assert c.sizes == (2,) and c.data == Path("x.csv") and c.fast is True
    spec = "normal(mean=0, std=0.1)"  # commas inside a spec's parentheses are no separators
    assert Demo.from_dict({"inits": f"he,{spec}"}).inits == ("he", spec)


@pytest.mark.parametrize("values, message", [
    ({"depth": 0}, "'depth' must be >= 1, got 0"),
    ({"depth": 2.5}, "'depth' expected an integer, got 2.5"),
    ({"depth": True}, "'depth' expected an integer, got True"),
    ({"lr": float("nan")}, "'lr' expected a number, got NaN"),
    ({"lr": -1}, "'lr' must be a finite number > 0, got -1.0"),
    ({"lr": float("inf")}, "'lr' must be a finite number > 0, got inf"),
    ({"keep": 1.0}, "'keep' must be in [0, 1), got 1.0"),
    ({"sizes": [3, 0]}, "'sizes' every value must be >= 1, got [3, 0]"),
    ({"inits": ["hee"]}, "'inits': unknown initializer 'hee'"),
    ({"inits": []}, "'inits' needs at least one value"),
    ({"fast": "yes"}, "'fast' expected true or false"),
    ({"depth": None}, "'depth' must be given"),
    ({"dept": 3}, "unknown key 'dept' in f.toml; valid keys: batch, data, depth"),
])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(InitlabError) as info:
        Demo.from_dict(values, source="f.toml")
    assert message in str(info.value)
    assert str(info.value).startswith(("f.toml: ", "unknown key"))


def test_presets_sit_under_the_given_values():
    assert Demo.from_dict({}, preset="big") == Demo(depth=50, lr=0.5)
    assert Demo.from_dict({"lr": 0.2}, preset="big") == Demo(depth=50, lr=0.2)
    assert Demo.from_dict({"preset": "big", "depth": 7}) == Demo(depth=7, lr=0.5)
    with pytest.raises(InitlabError, match="unknown preset 'huge'; valid: big"):
        Demo.from_dict({}, preset="huge")


def test_toml_round_trip_and_immutability():
    c = Demo(depth=3, inits=("he", "lecun"), data=Path("a/b.npz"), batch=None)
    import tomllib

    assert Demo.from_dict(tomllib.loads(c.to_toml())) == c
    assert "batch" not in c.to_toml() and 'data = "a/b.npz"' in c.to_toml()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.depth = 4
    assert c.replace(depth=4).depth == 4
    with pytest.raises(InitlabError, match="'depth' must be >= 1"):
        c.replace(depth=0)


def test_compare_rules_across_fields():
    cfg = registry.get("compare").config
    with pytest.raises(InitlabError, match="give iterations or epochs, one of them"):
        cfg.from_dict({"iterations": 10, "epochs": 2})
    assert cfg.from_dict({"epochs": 2}).iterations is None  # epochs alone replace the default
    assert cfg.from_dict({"iterations": None, "epochs": None}).iterations == 1000
    assert cfg.from_dict({"data": __file__}).dataset == "mnist"  # files alone mean MNIST
    with pytest.raises(InitlabError, match="pass the largest seed"):
        cfg.from_dict({"seed": 2**32 - 1, "seeds": 2})
    with pytest.raises(InitlabError, match="file not found: '/no/such/file.csv'"):
        cfg.from_dict({"data": "/no/such/file.csv"})
