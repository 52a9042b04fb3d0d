"""Sequences (morphs): picture A flows into picture B, and on through a list. Planning, fits and their cache.

A film of pictures P0, P1, ... is a list of keys (noise first with ``start="noise"``, then the pictures)
and one move between consecutive keys. Each move is made of one or two *legs*, a fitted flow integrated
forward or backward:

- noise -> P0 (``via flow``): P0's noise flow, forward; the same run a single-picture film uses.
- Pi -> Pj, ``via direct``: a flow fitted between the two picture densities (flow matching with Pi's
  exact samples as the source and minibatch OT pairing, trainer.fit.loop ``source=``), forward. A film that
  later goes back Pj -> Pi integrates the same run backward instead of fitting another.
- Pi -> Pj, ``via noise``: Pi's noise flow backward (into noise), then Pj's forward.

Caching is by content, like `trainer movie` (trainer.film.movie.run_dir_for): a noise flow lives in the very
folder a single-picture film of that picture uses (same picture bytes + density options + fit settings),
a direct pair in ``<A>-to-<B>-<hash>`` keyed by both pictures' sha256 in order, the density options and
the fit settings. So fitting A -> B never refits A's noise flow, and any film that needs a pair again
reuses it. A sequence folder (``trainer fit a.png b.png --out runs/seq``) holds only ``sequence.json``
(which runs each move uses, relative paths) and the pictures as densities (``picture-I.npz``), so
`trainer export` needs neither the images nor a refit.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flowreel.addon.core.errors import FlowreelError
from flowreel.trainer.fit.checkpoints import write_json
from flowreel.trainer.fit.loop import FitConfig
from flowreel.trainer.targets.picture import ImageDensity, load_density

SEQ_FORMAT = "flowreel.sequence/1"
SEQ_FILE = "sequence.json"
STARTS = ("noise", "picture")
VIAS = ("direct", "noise")


class SequenceError(FlowreelError, ValueError):
    """A sequence cannot be planned, fitted or read; the message is one line."""


@dataclass
class SequenceOptions:
    start: str = "noise"  # "noise": the film opens on noise and forms P0; "picture": it opens on P0
    via: str = "direct"  # how each picture -> picture move goes: "direct" (a pair flow) or "noise"
    hold: float = 1.0  # seconds at rest on each key between two moves (the add-on's timing)
    seconds_per_move: float = 3.0

    def check(self) -> SequenceOptions:
        if self.start not in STARTS:
            raise SequenceError(f"--start must be one of {', '.join(STARTS)}, got {self.start!r}")
        if self.via not in VIAS:
            raise SequenceError(f"--via must be one of {', '.join(VIAS)}, got {self.via!r}")
        if not self.hold >= 0 or not self.seconds_per_move > 0:
            raise SequenceError("--hold must be >= 0 and --seconds-per-move > 0")
        return self


@dataclass
class Leg:
    """One flow integrated over part of a move."""

    flow: str  # "noise" (N(0, I) -> target) or "pair" (source picture -> target picture)
    run_dir: Path
    backward: bool = False  # integrate t = 1 -> 0
    # The run's own fit (whichever way the film integrates it): the index in the pictures list of its
    # t=0 picture (None: noise) and of its t=1 picture.
    source: int | None = None
    target: int = 0

    @property
    def complete(self) -> bool:
        return (self.run_dir / "metrics.json").exists()


@dataclass
class Move:
    frm: int  # key index
    to: int
    via: str  # the file's vocabulary: flow | direct | noise
    legs: list[Leg] = field(default_factory=list)


@dataclass
class Plan:
    """Keys and moves of a film, with the run folder of every flow it needs."""

    densities: list[ImageDensity]
    options: SequenceOptions
    moves: list[Move]

    @property
    def n_keys(self) -> int:
        return len(self.moves) + 1

    def key_picture(self, k: int) -> int | None:
        """Index of the pictures list shown at key k (None: the noise key)."""
        if self.options.start == "noise":
            return None if k == 0 else k - 1
        return k

    def fits(self) -> list[Leg]:
        """Each distinct run of the plan once, in film order."""
        seen: dict[Path, Leg] = {}
        for m in self.moves:
            for leg in m.legs:
                seen.setdefault(leg.run_dir, leg)
        return list(seen.values())


# ---- run folders, by content ------------------------------------------------------------------
def _fit_settings(fit_config: FitConfig) -> dict[str, Any]:
    s = asdict(fit_config)
    s.pop("device")  # as trainer.film.movie.run_dir_for: where and how fast a fit trains is not what it learns
    s.pop("workers")
    s.pop("dim", None)  # the pictures decide it
    return s


def noise_run_dir(density: ImageDensity, fit_config: FitConfig, density_options: dict, runs_root: Path) -> Path:
    """The single-picture run of `density`: exactly the folder `trainer movie` uses for it."""
    from flowreel.trainer.film.movie import run_dir_for

    settings = SimpleNamespace(fit_config=fit_config, density_options=density_options, runs_root=Path(runs_root))
    return run_dir_for(density.sha256, Path(density.name).stem, settings)  # type: ignore[arg-type]


def pair_run_dir(a: ImageDensity, b: ImageDensity, fit_config: FitConfig, density_options: dict,
                 runs_root: Path) -> Path:
    """The direct A -> B run: both pictures' bytes (in this order), density options and fit settings."""
    key = json.dumps({"source": a.sha256, "target": b.sha256, "density": density_options,
                      "fit": _fit_settings(fit_config)}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return Path(runs_root) / f"{Path(a.name).stem}-to-{Path(b.name).stem}-{digest}"


# ---- planning ----------------------------------------------------------------------------------
def load_pictures(paths: Sequence[str | os.PathLike], density_options: dict) -> list[ImageDensity]:
    """Every picture as a density, ALL checked before any fit starts (DensityError names the bad one)."""
    return [load_density(p, **density_options) for p in paths]


def plan(densities: list[ImageDensity], options: SequenceOptions, fit_config: FitConfig, density_options: dict,
         runs_root: Path) -> Plan:
    """The moves of the film and the run folder of each leg (fitted or not yet)."""
    options.check()
    if len(densities) < 2:
        raise SequenceError("a sequence needs at least two pictures")
    if fit_config.method != "fm":
        raise SequenceError("sequences are fitted with --method fm (a morph between pictures is flow matching)")

    def noise_leg(i: int, backward: bool = False) -> Leg:
        return Leg("noise", noise_run_dir(densities[i], fit_config, density_options, runs_root), backward, None, i)

    moves: list[Move] = []
    if options.start == "noise":
        moves.append(Move(0, 1, "flow", [noise_leg(0)]))
    planned: dict[tuple[str, str], Path] = {}  # (source sha, target sha) -> run folder, fitted in this film
    for i in range(len(densities) - 1):
        k = len(moves)
        a, b = densities[i], densities[i + 1]
        if options.via == "noise":
            moves.append(Move(k, k + 1, "noise", [noise_leg(i, backward=True), noise_leg(i + 1)]))
            continue
        fwd = pair_run_dir(a, b, fit_config, density_options, runs_root)
        back = pair_run_dir(b, a, fit_config, density_options, runs_root)
        # B -> A integrates an A -> B run backward when one exists or this film fits one: a flow is invertible.
        if not (fwd / "metrics.json").exists() and ((back / "metrics.json").exists()
                                                     or (b.sha256, a.sha256) in planned):
            leg = Leg("pair", back, True, i + 1, i)
        else:
            leg = Leg("pair", fwd, False, i, i + 1)
            planned[(a.sha256, b.sha256)] = fwd
        moves.append(Move(k, k + 1, "direct", [leg]))
    return Plan(densities, options, moves)


def ensure_fits(p: Plan, fit_config: FitConfig, *, progress: bool = True,
                say: Callable[[str], None] = print,
                on_fit: Callable[[int, int, bool], Callable | None] | None = None) -> dict[str, Any]:
    """Fit every run of the plan that is not complete (an interrupted one resumes); reuse the rest.
    `on_fit(n, of, resume)` is called before the n-th of the `of` fits and returns its `on_step` (JSON progress).

    Returns {"fitted": [run folders], "reused": [...], "seconds": {folder: fit seconds}}.
    """
    from flowreel.trainer.fit.loop import fit

    todo = [leg for leg in p.fits() if not leg.complete]
    out: dict[str, Any] = {"fitted": [], "reused": [str(leg.run_dir) for leg in p.fits() if leg.complete],
                           "seconds": {}}
    for leg in p.fits():
        if leg.complete:
            say(f"reusing {leg.run_dir} ({_leg_name(p, leg)})")
    for n, leg in enumerate(todo, 1):
        resume = (leg.run_dir / "checkpoint.pt").exists() and (leg.run_dir / "config.json").exists()
        source = None if leg.source is None else p.densities[leg.source]
        say(f"[{n}/{len(todo)}] {'resuming' if resume else 'fitting'} {_leg_name(p, leg)} -> {leg.run_dir}")
        t0 = time.perf_counter()
        leg.run_dir.mkdir(parents=True, exist_ok=True)
        on_step = None if on_fit is None else on_fit(n, len(todo), resume)
        fit(p.densities[leg.target], fit_config, leg.run_dir, resume=resume, progress=progress, source=source,
            on_step=on_step)
        out["fitted"].append(str(leg.run_dir))
        out["seconds"][str(leg.run_dir)] = round(time.perf_counter() - t0, 3)
    return out


def _leg_name(p: Plan, leg: Leg) -> str:
    target = p.densities[leg.target].name
    return f"noise -> {target}" if leg.source is None else f"{p.densities[leg.source].name} -> {target}"


# ---- the sequence folder -----------------------------------------------------------------------
def write_sequence(seq_dir: Path, p: Plan) -> Path:
    """seq_dir/sequence.json + key-K.npz (the pictures as densities); returns the json's path."""
    seq_dir = Path(seq_dir)
    seq_dir.mkdir(parents=True, exist_ok=True)
    pictures = []
    for i, d in enumerate(p.densities):
        name = f"picture-{i}.npz"
        d.save(seq_dir / name)
        pictures.append({"name": d.name, "sha256": d.sha256, "density": name})

    def rel(path: Path) -> str:
        return os.path.relpath(Path(path).resolve(), seq_dir.resolve())

    data = {
        "format": SEQ_FORMAT,
        "options": asdict(p.options),
        "pictures": pictures,
        "moves": [{"from": m.frm, "to": m.to, "via": m.via,
                   "legs": [{"flow": leg.flow, "run": rel(leg.run_dir), "backward": leg.backward,
                             "source": leg.source, "target": leg.target} for leg in m.legs]}
                  for m in p.moves],
    }  # fmt: skip
    path = seq_dir / SEQ_FILE
    write_json(path, data)
    return path


def is_sequence(run_dir: Path) -> bool:
    return (Path(run_dir) / SEQ_FILE).is_file()


def read_sequence(seq_dir: Path) -> Plan:
    """The plan a sequence folder records (run folders resolved against it); SequenceError if unreadable."""
    seq_dir = Path(seq_dir)
    try:
        data = json.loads((seq_dir / SEQ_FILE).read_text())
        if data.get("format") != SEQ_FORMAT:
            raise SequenceError(f"{seq_dir / SEQ_FILE}: not a {SEQ_FORMAT} file")
        options = SequenceOptions(**data["options"]).check()
        densities = [ImageDensity.load_saved(seq_dir / pic["density"]) for pic in data["pictures"]]
        moves = [Move(m["from"], m["to"], m["via"],
                      [Leg(leg["flow"], (seq_dir / leg["run"]).resolve(), bool(leg["backward"]), leg["source"],
                           leg["target"]) for leg in m["legs"]])
                 for m in data["moves"]]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as e:
        if isinstance(e, FlowreelError):
            raise
        raise SequenceError(f"{seq_dir / SEQ_FILE}: unreadable sequence ({type(e).__name__}: {e})") from None
    p = Plan(densities, options, moves)
    missing = [str(leg.run_dir) for leg in p.fits() if not leg.complete]
    if missing:
        raise SequenceError(f"{seq_dir}: run {missing[0]} is not fitted; run `trainer fit` on the pictures again")
    return p
