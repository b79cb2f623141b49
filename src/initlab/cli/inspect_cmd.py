"""``initlab inspect``: look inside your own PyTorch model at initialization."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

from initlab.cli.common import add_output_options, emit, positive_float, positive_int
from initlab.errors import InitlabError

LOSSES = ("auto", "ce", "projection", "sumsq")  # initlab.torchbridge.losses (imports torch)
OPTIMIZERS = ("adam", "sgd")
HINT = ("(a model that takes token ids: --tokens VOCAB; keyword inputs such as "
        "attention_mask: --input FILE.npz)")

HELP = "look inside your own PyTorch model: per-module stats, theory, verdict, re-init"
DESCRIPTION = """\
Build your model from MODULE:FACTORY (a function or class returning a torch.nn.Module, from an
installed package, a module importable from the current folder, or a file path.py:FACTORY),
feed it a standard-normal batch of --input-shape (token ids uniform in [0, VOCAB) with --tokens
VOCAB; or --input FILE.npy, or FILE.npz with one array per keyword argument, e.g. input_ids and
attention_mask), run one forward and one backward pass with a real loss (--loss: cross-entropy
against random labels for logits, a random projection for hidden states) and one optimizer step
(--optimizer, --lr) on a copy, and print: the residual stream (std after every residual add,
branch and skip std, growth), the attention (entropy per call beside uniform attention's), and
for every leaf module the output's mean, std and the std the mean-field interpreter predicts,
the fractions zero and saturated, the gradient std, the weight std, ||dW||/||W||, the update
||delta W||/||W||, which known init the weights match and a note (e.g. "before a norm: scale not
judged", "intended: zero-init branch"); then the verdict and its problems, and torch code that
fixes the init. --reinit SPEC re-initializes with initlab's initializers (or lsuv, or a recipe:
gpt2, resnet) and shows before and after;
--save writes the model's state_dict (after --reinit) as safetensors. --depth-scale K and
--width-scale K predict instead the stream after every block of the same model K times deeper
or wider, without building it (table, and with --out extrapolate.png). With --out: results.json
and inspect.png (std per row, measured and predicted; gradient std, measured). Needs PyTorch
(pip install torch; from initlab's source folder, pip install '.[torch]' pins the version
initlab is tested with).

examples:
  initlab inspect --demo mlp                 # a 20-layer ReLU MLP with torch's default init
  initlab inspect --demo cnn --reinit he --out out/cnn
  initlab inspect torch.nn:Linear --kwargs '{"in_features": 64, "out_features": 32}' \\
      --input-shape 8,64
  initlab inspect mynet.py:Net --input-shape 16,3,32,32 --kwargs '{"depth": 20}' --json
  initlab inspect mypkg.models:make_mlp --input-shape 64,784 --reinit lsuv --save net.safetensors
  initlab inspect mygpt.py:tiny_gpt2 --tokens 50257 --input-shape 2,64 --optimizer adam \\
      --lr 6e-4 --reinit gpt2
  initlab inspect mymodel.py:Bert --input batch.npz --loss projection --json
  initlab inspect --demo mlp --depth-scale 3 --out out/deeper
"""


def add_arguments(parser) -> None:
    parser.add_argument("factory", nargs="?", metavar="MODULE:FACTORY",
                        help="e.g. mynet.py:Net or torch.nn:Linear (with --kwargs)")
    parser.add_argument("--demo", choices=["mlp", "cnn"],
                        help="a built-in model with torch's default init instead of a factory")
    parser.add_argument("--input-shape", metavar="N,...",
                        help="shape of the standard-normal input batch (demo: 64,512 / "
                        "16,3,32,32)")
    parser.add_argument("--input", metavar="FILE.npy|FILE.npz", type=Path,
                        help="use this array as the input batch instead (.npz: one array per "
                        "keyword argument of the model's forward)")
    parser.add_argument("--tokens", metavar="VOCAB", type=positive_int,
                        help="integer token ids uniform in [0, VOCAB) of --input-shape instead "
                        "of a normal batch")
    parser.add_argument("--loss", choices=LOSSES, default="auto",
                        help="ce: cross-entropy vs random labels; projection: a random linear "
                        "read-out; sumsq: sum(y^2)/2; auto (default): ce for logits, "
                        "projection for hidden states")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                        help="the optimizer of the one step whose ||delta W||/||W|| is shown")
    parser.add_argument("--lr", type=float, default=1e-3, help="its learning rate (1e-3)")
    parser.add_argument("--kwargs", metavar="JSON", help="keyword arguments for the factory")
    parser.add_argument("--reinit", metavar="SPEC",
                        help="re-initialize with an initlab spec (he, xavier, orthogonal, ...), "
                        "lsuv, or a recipe (gpt2: normal(0.02), residual projections "
                        "0.02/sqrt(2L); resnet: he fan_out, last norm of each branch zero), and "
                        "show before and after")
    parser.add_argument("--save", metavar="FILE.safetensors", type=Path,
                        help="write the model's state_dict (after --reinit) to this file")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the model, the input batch and --reinit (0)")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="models built and pooled (1)")
    parser.add_argument("--depth-scale", type=positive_float, default=None, metavar="K",
                        help="predict the stream of the model K times deeper (its repeated "
                        "blocks), without building it, instead of inspecting")
    parser.add_argument("--width-scale", type=positive_float, default=None, metavar="K",
                        help="predict the stream of the model K times wider (with "
                        "--depth-scale: both), without building it")
    add_output_options(parser)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InitlabError(f"--input-shape must be comma-separated integers, got {text!r}") \
            from None
    if not shape or any(s < 1 for s in shape):
        raise InitlabError(f"--input-shape needs sizes >= 1, got {text!r}")
    return shape


def load_factory(path: str):
    """Import ``module:attr`` (a dotted module or a ``.py`` file) and return the attribute."""
    if ":" not in path:
        raise InitlabError(f"expected MODULE:FACTORY (e.g. mynet.py:Net), got "
                           f"{path!r}")
    module_name, _, attr = path.rpartition(":")
    try:
        if module_name.endswith(".py"):
            file = Path(module_name)
            if not file.is_file():
                raise InitlabError(f"the file {module_name!r} does not exist")
            spec = importlib.util.spec_from_file_location(file.stem, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[file.stem] = module
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # like `python -m`: the current folder
            module = importlib.import_module(module_name)
    except InitlabError:
        raise
    except Exception as exc:  # the user's code may raise anything while importing
        raise InitlabError(f"cannot import {module_name!r}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise InitlabError(f"{module_name!r} has no attribute {attr!r}") from None


def build(args, torch):
    """(a function that builds the model, its label, the input tensor)."""
    from initlab.torchbridge.demo import DEMO_INPUT, DEMOS

    if args.demo and args.factory:
        raise InitlabError("give either MODULE:FACTORY or --demo, not both")
    kwargs = {}
    if args.kwargs is not None:
        try:
            kwargs = json.loads(args.kwargs)
        except json.JSONDecodeError as exc:
            raise InitlabError(f"--kwargs is not valid JSON ({exc}): {args.kwargs!r}") from None
        if not isinstance(kwargs, dict):
            raise InitlabError(f"--kwargs must be a JSON object, got {args.kwargs!r}")
    if args.demo:
        factory, label = DEMOS[args.demo], f"demo {args.demo}"
        shape = _shape(args.input_shape) or DEMO_INPUT[args.demo]
    elif args.factory:
        factory, label = load_factory(args.factory), args.factory
        if not callable(factory):
            raise InitlabError(f"{args.factory} is a {type(factory).__name__}, not a function "
                               "or class")
        shape = _shape(args.input_shape)
    else:
        raise InitlabError("give MODULE:FACTORY (e.g. mynet.py:Net) or --demo mlp|cnn")
    seed = args.seed or 0
    if args.input is not None:
        if args.tokens is not None:
            raise InitlabError("give either --input or --tokens, not both")
        x = _read_input(args.input, torch)
    elif shape is None:
        raise InitlabError("give --input-shape N,... (e.g. 16,3,32,32) or --input FILE.npy")
    elif args.tokens is not None:
        x = torch.randint(0, args.tokens, shape, generator=torch.Generator().manual_seed(seed))
    else:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))

    def make():
        try:
            model = factory(**kwargs)
        except Exception as exc:  # the user's factory may raise anything
            raise InitlabError(f"calling {label} failed: {type(exc).__name__}: "
                               f"{' '.join(str(exc).split())}") from None
        if not isinstance(model, torch.nn.Module):
            raise InitlabError(f"{label} returned a {type(model).__name__}, not a "
                               "torch.nn.Module")
        return model

    return make, label, x


def _read_input(path: Path, torch):
    """A tensor (.npy) or a dict of keyword tensors (.npz); floats as float32."""
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
        arrays = dict(data.items()) if path.suffix == ".npz" else {None: data}
    except (OSError, ValueError) as exc:
        raise InitlabError(f"cannot read --input {str(path)!r}: {exc}") from None
    if not arrays:
        raise InitlabError(f"--input {str(path)!r} holds no arrays")
    out = {}
    for key, a in arrays.items():
        t = torch.from_numpy(np.ascontiguousarray(a))
        out[key] = t.float() if t.is_floating_point() else t
    return out[None] if None in out else out


def _check_inputs(model, x, args, torch) -> None:
    """--input FILE.npz: its keys must name arguments of the model's forward (at least one,
    and all unless it takes **kwargs); --tokens needs a model with an embedding."""
    import inspect as pyinspect

    if args.tokens is not None and not any(
            isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules()):
        raise InitlabError(f"--tokens {args.tokens} gives integer token ids, but the model has "
                           f"no embedding: it takes floats; drop --tokens and give "
                           f"--input-shape")
    if not isinstance(x, dict):
        return
    params = pyinspect.signature(model.forward).parameters
    named = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    rest = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(x) - set(named))
    if len(unknown) == len(x) or (unknown and not rest):
        raise InitlabError(f"--input {str(args.input)!r}: the keys {unknown} match no argument "
                           f"of {type(model).__name__}.forward (its arguments: "
                           f"{', '.join(named)})")


def _inspect(it, model, x, args, seed, seeds=1):
    """inspect with the command's options; a failure on a float batch names the other
    inputs."""
    try:
        result = it.inspect(model, x, loss=args.loss, seeds=seeds, seed=seed,
                            optimizer=args.optimizer, lr=args.lr)
    except InitlabError as exc:
        if args.input is None and args.tokens is None and "fails on an input" in str(exc):
            raise InitlabError(f"{exc} {HINT}") from None
        raise
    return result


def run(args) -> int:
    try:
        import initlab.torchbridge as it
    except ImportError as exc:
        raise InitlabError(str(exc)) from None
    torch = it.torch
    make, label, x = build(args, torch)
    seed, seeds = args.seed or 0, args.seeds or 1
    torch.manual_seed(seed)
    model = make()
    _check_inputs(model, x, args, torch)
    if args.depth_scale is not None or args.width_scale is not None:
        return _extrapolate(it, model, x, label, args)
    before = _inspect(it, model if seeds == 1 else make, x, args, seed, seeds)
    before.model = label
    result = before
    if args.reinit:
        it.reinit(model, args.reinit, example_input=x, seed=seed)
        after = _inspect(it, model, x, args, seed)
        after.model = label
        from initlab.torchbridge.diagnosis import stream_warning

        result = it.ReinitResult(before=before, after=after, init=args.reinit,
                                 warning=stream_warning(before, after, args.reinit))
        if result.warning:
            print(f"initlab inspect: warning: {result.warning}", file=sys.stderr)
    if args.save is not None:
        _save(model, args.save)
    figures = {}
    if args.out is not None:
        from initlab.plots.inspect import inspect_figure

        figures = {"inspect": inspect_figure(result)}
    emit(result, args, figures)
    if not args.json:
        for title, res in ([("before", result.before), (f"after {args.reinit}", result.after)]
                           if args.reinit else [(None, result)]):
            print(f"\n{title}:" if title else "")
            print(res.summary())
        if args.save is not None:
            print(f"\nwrote the state_dict to {args.save}")
    return 0


def _extrapolate(it, model, x, label, args) -> int:
    """--depth-scale / --width-scale: the predicted stream, table and figure."""
    result = it.extrapolate(model, x, depth_scale=args.depth_scale or 1.0,
                            width_scale=args.width_scale or 1.0)
    result.model = label
    figures = {}
    if args.out is not None:
        from initlab.plots.extrapolate import extrapolate_figure

        figures = {"extrapolate": extrapolate_figure(result)}
    emit(result, args, figures)
    if not args.json:
        print(f"\n{result.summary()}")
    return 0


def check_inputs(args) -> None:
    """--save's name and folder, before PyTorch is imported or a model is built: a file
    output's folder must exist (as --store's and --csv's), only --out folders are made."""
    from initlab.cli.common import check_file_target

    if args.save is not None:
        if args.save.suffix != ".safetensors":
            raise InitlabError(f"--save writes safetensors files (no pickles): name it "
                               f"*.safetensors, got {str(args.save)!r}")
        check_file_target(args.save, "--save")


def _save(model, path: Path) -> None:
    from safetensors.torch import save_model

    from initlab.runtime.atomic import atomic_path

    try:
        with atomic_path(path) as tmp:  # whole or not at all, with the umask's mode
            save_model(model, str(tmp))
    except OSError as exc:
        raise InitlabError(f"cannot write {str(path)!r}: {exc}") from None
