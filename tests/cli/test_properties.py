"""Property tests over every subcommand: any option combination at tiny sizes either succeeds
or ends with exit 2 and one line on stderr, never a traceback; what succeeds round-trips
through ``--dump-config`` and ``initlab run``.

The strategies are data: one entry per command in :data:`OPTIONS`. A new command fails
``test_every_command_has_a_strategy`` until its options are added here.
"""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlab.cli import command_names, main
from initlab.data import DATASETS
from initlab.optim import OPTIMIZERS

INITS = ["he", "zeros", "normal(0.5)", "xavier_uniform", "orthogonal", "lecun", "ones"]
BAD = st.sampled_from(["-1", "0", "4294967296", "nope", "1e9"])


def opt(name: str, values) -> st.SearchStrategy:
    """``[name, value]`` or nothing."""
    return st.one_of(st.just([]), values.map(lambda v: [name, str(v)]))


def flag(name: str) -> st.SearchStrategy:
    return st.sampled_from([[], [name]])


def inits(n_max: int = 2) -> st.SearchStrategy:
    return st.lists(st.sampled_from(INITS), min_size=1, max_size=n_max, unique=True).map(
        ",".join)


def argv(*parts) -> st.SearchStrategy:
    """Concatenate option strategies (each a list of strings) into one argv."""
    return st.tuples(*parts).map(lambda groups: [a for g in groups for a in g])


SEED = st.one_of(st.integers(0, 2**32 - 1), BAD)
#: Option strategies per command, at sizes that run in well under a second.
OPTIONS = {
    "init": argv(st.one_of(st.just([]), st.sampled_from(INITS + ["he(", "nope"]).map(
        lambda s: [s])), opt("--shape", st.sampled_from(["3,4", "2,3,3", "5", "1,1", "0,3"])),
        opt("--seed", SEED), flag("--list"), flag("--json"),
        opt("--dtype", st.sampled_from(["float32", "float64"]))),
    "activations": argv(
        st.just(["--depth", "2", "--batch", "3"]), opt("--width", st.integers(1, 12)),
        opt("--init", inits(3)), opt("--activation", st.sampled_from(
            ["tanh", "relu", "sigmoid", "tanh,relu", "nope"])),
        opt("--seeds", st.one_of(st.integers(1, 2), BAD)), opt("--seed", SEED),
        flag("--no-grad"), opt("--bins", st.integers(1, 5)), flag("--json"),
        opt("--dtype", st.sampled_from(["float32", "float64"]))),
    "compare": argv(
        opt("--dataset", st.sampled_from([d for d in DATASETS if d != "digits"])),
        st.sampled_from([["--n-samples", "24"], ["--n-samples", "8", "--noise", "0"]]),
        opt("--layers", st.sampled_from(["3", "2,2", "0"])), opt("--init", inits()),
        st.just(["--iterations", "3"]), opt("--seeds", st.one_of(st.integers(1, 2), BAD)),
        opt("--seed", SEED), opt("--optimizer", st.sampled_from([*OPTIMIZERS, "bogus"])),
        opt("--batch", st.integers(1, 30)), flag("--replace"), flag("--json"),
        opt("--activation", st.sampled_from(["relu", "tanh", "leaky_relu(0.1)"]))),
    "regularize": argv(
        st.just(["--train-size", "20", "--layers", "3", "--epochs", "1", "--batch", "10"]),
        opt("--seeds", st.one_of(st.integers(1, 2), BAD)), opt("--seed", SEED),
        opt("--dropout", st.sampled_from(["0.2", "0", "1.5"])),
        opt("--l2", st.sampled_from(["0.01", "-1"])), flag("--json")),
    "reproduce": st.sampled_from([["coursera", "--dump-config"],
                                  ["coursera", "--dataset", "moons", "--dump-config"],
                                  ["nope"]]),
    "report": argv(flag("--quick"), opt("--seeds", st.one_of(st.integers(1, 3), BAD)),
                   st.just(["--dump-config"])),
    "run": st.sampled_from([["missing.toml"]]),
    "normalize": argv(
        st.just(["--train-size", "20", "--layers", "3", "--epochs", "1", "--batch", "10"]),
        opt("--scales", st.sampled_from(["1,0.01", "0.1", "0", "-1"])),
        opt("--norm", st.sampled_from(["batch", "layer", "batch,layer", "nosuch"])),
        opt("--seeds", st.one_of(st.integers(1, 2), BAD)), opt("--seed", SEED),
        opt("--momentum", st.sampled_from(["0.1", "1.5"])), flag("--json")),
    "propagate": argv(
        st.just(["--depth", "3", "--width", "8", "--batch", "4", "--seeds", "1"]),
        opt("--sigma-w2", st.sampled_from(["1", "0.5:2:3", "2:1:3", "-1", "1:2:0"])),
        opt("--sigma-b2", st.sampled_from(["0", "0.05", "-0.1"])),
        opt("--activation", st.sampled_from(["tanh", "relu", "erf", "nope"])),
        st.sampled_from([[], ["--jacobian", "--jacobian-depths", "3", "--jacobian-width",
                                                 "8"]]),
        flag("--json")),
    # the three below only parse, dump their configuration or refuse: a real run takes
    # seconds (explore's page, torch's start-up, a sweep's workers); their own tests run them
    "explore": st.sampled_from([["--dump-config"], ["--widths", "0"], ["--depth", "0"],
                                ["--quick", "--dump-config"], ["--stops", "nope"]]),
    "inspect": st.sampled_from([["--demo", "nope"], ["nosuch.module:f", "--input-shape", "2,3"],
                                ["--demo", "mlp", "--dump-config"], ["--input-shape", "0,3"]]),
    "width": st.one_of(
        argv(st.just(["coordcheck", "--depth", "1", "--steps", "1", "--batch", "4"]),
             opt("--widths", st.sampled_from(["4,8", "8", "0,4", "4,4"])),
             opt("--base-width", st.sampled_from(["2", "8", "0"])),
             opt("--params", st.sampled_from(["sp,mup", "ntk", "nope"])),
             opt("--seeds", st.one_of(st.integers(1, 2), BAD)), flag("--json")),
        argv(st.just(["transfer", "--depth", "1", "--steps", "2", "--train-size", "20"]),
             opt("--widths", st.sampled_from(["4,8", "8"])),
             opt("--adam-lrs", st.sampled_from(["0.01,0.1", "0.1", "-1,1"])),
             opt("--optimizers", st.sampled_from(["adam", "sgd", "nope"])),
             opt("--seeds", st.one_of(st.integers(1, 2), BAD)), flag("--json"))),
    "sweep": st.sampled_from([["plan", "missing.toml"], ["show", "--store", "missing.db"],
                              ["run", "missing.toml", "--store", "x.db"], ["nope"]]),
    "residual": argv(
        st.just(["--train-size", "40", "--width", "8", "--iterations", "2", "--probe", "8",
                 "--batch", "8", "--sgd-lr", "0.01", "--adam-lr", "0.001"]),
        opt("--depths", st.sampled_from(["2", "3,1", "0"])),
        opt("--schemes", st.sampled_from(["he,fixup", "skipinit,scaled2", "he+batchnorm",
                                          "nope", "zero_init"])),
        opt("--optimizer", st.sampled_from(["sgd", "adam", "sgd,adam", "rmsprop"])),
        opt("--seeds", st.one_of(st.integers(1, 2), BAD)), opt("--seed", SEED),
        opt("--alpha", st.sampled_from(["0.5", "nan"])), flag("--json")),
}
#: Commands whose successful runs are not re-run from a dumped configuration.
NO_RERUN = ("run", "reproduce", "report", "explore", "inspect", "sweep")


def call(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors and --help
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def check_ok_or_one_line(code, err, args):
    assert code in (0, 2), (args, code, err)
    assert "Traceback" not in err, (args, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, (args, err)


def test_every_command_has_a_strategy():
    assert sorted(OPTIONS) == sorted(command_names())


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_never_a_traceback(command, capsys):
    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(OPTIONS[command], st.booleans())
    def prop(options, with_out):
        with tempfile.TemporaryDirectory() as tmp:
            args = [command, *options]
            if with_out and command in ("compare", "activations", "regularize", "normalize",
                                        "propagate"):
                args += ["--out", str(Path(tmp) / "out")]
            code, out, err = call(args, capsys)
            check_ok_or_one_line(code, err, args)
            if code != 0 or command in NO_RERUN or "--list" in args:
                return
            # what ran also runs from its dumped config, with the same printed result
            code, toml, err = call([*args, "--dump-config"], capsys)
            assert code == 0, (args, err)
            path = Path(tmp) / "config.toml"
            path.write_text(toml)
            again = ["run", str(path), *(["--json"] if "--json" in args else [])]
            code2, out2, err2 = call(again, capsys)
            check_ok_or_one_line(code2, err2, again)
            assert code2 == 0, (args, toml, err2)
            if command != "activations" or "--json" not in args:
                assert out2.splitlines()[:3] == out.splitlines()[:3], (args, toml)

    prop()


def test_every_dumped_config_runs_unchanged(tmp_path, capsys):
    """Each command's --dump-config output is accepted by 'initlab run' (reproduce ran once)."""
    for args in (["reproduce", "coursera"], ["init", "he", "--shape", "4,4"],
                 ["compare", "--preset", "coursera", "--seeds", "1", "--iterations", "5"],
                 ["activations", "--preset", "saito", "--width", "5", "--batch", "4"]):
        code, toml, err = call([*args, "--dump-config"], capsys)
        assert code == 0, err
        path = tmp_path / f"{args[0]}.toml"
        path.write_text(toml)
        code, out, err = call(["run", str(path), "-q"], capsys)
        assert code == 0, (args, toml, err)


def test_dumped_config_states_what_runs(capsys):
    """The saito preset samples with replacement: its dump says so, and --no-replace works."""
    code, toml, _ = call(["compare", "--preset", "saito", "--dump-config"], capsys)
    assert code == 0 and "replace = true" in toml and "iterations = 2000" in toml
    code, toml, _ = call(["compare", "--preset", "saito", "--no-replace", "--dump-config"],
                         capsys)
    assert "replace = false" in toml
