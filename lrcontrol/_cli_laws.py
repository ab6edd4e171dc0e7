"""The loss-curve-law commands: `lrcontrol fit`, `lrcontrol predict` and `lrcontrol solve LAW --law FILE`.

    lrcontrol fit --law LAW (mpl, momentum_law, fsl_law, bound_law, …) --curve FILE [--curve FILE ...]
                  [--fix NAME=VALUE ...] [--max-steps N] [--out DIR]
        → DIR/law.json {"law": NAME, "params": {...}, "standard_errors": {...}, ...}, DIR/fit.json, DIR/fit.png
    lrcontrol predict --law law.json --curve FILE [...] [--out DIR]
        → DIR/prediction.csv (curve,step,lr,loss,predicted), DIR/prediction.json, DIR/prediction.png
    lrcontrol solve mpl --law law.json --set horizon=N --set warmup=W --set peak=P [--set min_lr=m]
                        [--set monotone=true] [--out DIR]
        → DIR/schedule.csv (step,lr for every update), DIR/solution.json, DIR/schedule.png

`solve LAW` warns where the fit does not support the optimum: a peak or horizon beyond the fit curves, parameters
on the edge of their range, fit curves the law does not follow (R² < 0) and, where law.json records the fit curves'
schedules (`fit.profiles`), whether the fit curve nearest the optimum (`nearest_fit_curve` in solution.json) is one
of them.

Bad input is one sentence on stderr and exit status 2, before anything is written; files are written all or none.
"""

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def laws() -> dict[str, type]:
    """{CLI name: class} of every concrete loss-curve law that `lrcontrol.systems` exports (its own discovery of
    the package's modules): a new law module is listed, fittable and solvable with no edit here."""
    from lrcontrol import systems

    found = (getattr(systems, export) for export in systems.__all__)
    return {cls.name: cls for cls in found
            if issubclass(cls, systems.AbstractLossCurveLaw) and cls is not systems.AbstractLossCurveLaw}


def __getattr__(attr):
    if attr == "LAW_NAMES":  # derived on first use, so that building the CLI's parser does not import JAX
        return tuple(laws())
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def law_class(name: str):
    """The law class for a CLI name."""
    from lrcontrol import InputError

    known = laws()
    if name not in known:
        raise InputError(f"law must be one of {', '.join(known)}, got {name!r}.")
    return known[name]


def read_law(path: str):
    """A law from a law file {"law": NAME, "params": {...}} (as `lrcontrol fit` writes it)."""
    return read_law_file(path)[0]


def read_law_file(path: str):
    """(the law, the file's whole content as a dict) from a law file (`read_law`)."""
    from lrcontrol import InputError

    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise InputError(f"law file '{path}' cannot be read ({err.strerror or err}).") from None
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"law file '{path}' is not JSON.") from None
    if not isinstance(data, dict) or "law" not in data or not isinstance(data.get("params"), dict):
        raise InputError(f"law file '{path}' must hold an object with \"law\" (a name) and \"params\" (an object).")
    cls = law_class(str(data["law"]))
    params = data["params"]
    missing = [n for n in cls.param_names if n not in params]
    if missing:
        raise InputError(f"law file '{path}' lacks the {cls.name} parameter(s) {', '.join(missing)}.")
    unknown = [n for n in params if n not in cls.param_names]
    if unknown:
        raise InputError(f"law file '{path}' has unknown {cls.name} parameter(s) {', '.join(unknown)}.")
    values = {}
    for n in cls.param_names:
        v = params[n]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"law file '{path}': parameter {n} must be a number, got {v!r}.")
        values[n] = float(v)
    try:
        return cls(**values), data
    except InputError as err:
        raise InputError(f"law file '{path}': {err}") from None


def _fit_pilots(data: dict) -> dict | None:
    """The peaks and lengths of the curves a law file (`data`, its content) was fitted on (`lrcontrol fit` records
    them), or None (a file of published or hand-written parameters, or one from before they were recorded)."""
    fit = data.get("fit")
    pilots = fit.get("pilots") if isinstance(fit, dict) else None
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0  # noqa: E731
    ok = isinstance(pilots, dict) and all(isinstance(pilots.get(k), list) and len(pilots[k]) == 2
                                          and all(map(number, pilots[k])) for k in ("peak", "updates"))
    return pilots if ok else None


def _fit_profiles(data: dict) -> dict | None:
    """The fit curves' schedule profiles (`schedule_profile`) a law file (`data`) records, or None (a file without
    them, or with a malformed entry)."""
    fit = data.get("fit")
    profiles = fit.get("profiles") if isinstance(fit, dict) else None
    if not isinstance(profiles, dict) or not profiles:
        return None
    from lrcontrol._fit import PROFILE_POINTS

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0

    ok = all(isinstance(q, list) and len(q) == PROFILE_POINTS and all(map(number, q)) and sum(q) > 0
             for q in profiles.values())
    return profiles if ok else None


def _parse_fixed(items, cls) -> dict[str, float]:
    """`--fix NAME=VALUE` options → {name: value}, each NAME one of `cls`'s parameters (ranges are checked by the
    fit)."""
    from lrcontrol import InputError

    fixed = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise InputError(f"--fix needs NAME=VALUE (e.g. --fix decay=0.999), got '{item}'.")
        name = name.strip()
        if name not in cls.param_names:
            raise InputError(f"--fix {name}: '{name}' is not a parameter of {cls.name} (its parameters: "
                             f"{', '.join(cls.param_names)}).")
        if name in fixed:
            raise InputError(f"--fix {name} is given twice; give each parameter once.")
        try:
            fixed[name] = float(value)
        except ValueError:
            raise InputError(f"--fix {name}: '{value}' is not a number.") from None
    return fixed


def _five(x: float) -> str:
    """Five decimals, as the metrics are read (PredE ~1e-3); a law far off (a huge L0, say) in four digits."""
    return f"{x:.5f}" if abs(x) < 1e4 else f"{x:.4g}"


def _metrics_line(m: dict) -> str:
    return f"PredE {_five(m['PredE'])}, WorstE {_five(m['WorstE'])}, R² {_five(m['R2'])}"


def _read_curves(paths):
    """The loss curves in `paths`, with unique names (`lrc.fit` checks them for losses logged before learning)."""
    from lrcontrol._curves import LossCurve

    return _named_apart([LossCurve.read(p) for p in paths])


def _named_apart(inputs):
    """`inputs` (curves and `_Planned` schedules) with unique names: a name that several files share (two folders'
    schedule.csv) becomes NAME-1, NAME-2, …, skipping any name already taken by another input."""
    import dataclasses

    names = [x.name for x in inputs]
    taken, count, out = set(names), {}, []
    for x, name in zip(inputs, names):
        if names.count(name) > 1:
            new = name
            while new in taken:
                count[name] = count.get(name, 0) + 1
                new = f"{name}-{count[name]}"
            taken.add(new)
            x = dataclasses.replace(x, name=new)
        out.append(x)
    return out


_EVERY_STEP = 2000  # a schedule without losses is predicted at every update up to this many, else at
_SPREAD = 1000  # at most this many evenly spaced updates (the last included): the figure and CSV need no more,
_PAIRS = 2 * 10**7  # and fewer for a long schedule: a law's prediction costs (updates predicted) × (rate changes)


def _read_predict_inputs(paths):
    """`predict`'s inputs: loss curves (`_read_curves`), and schedules to predict — a CSV with `step` and `lr` and
    no loss column (`lrcontrol solve LAW`'s schedule.csv), given as `_Planned` at the updates `_EVERY_STEP` /
    `_SPREAD` name, from the first whose summed rate is positive (before it every law is infinite)."""
    import numpy as np

    from lrcontrol import InputError
    from lrcontrol._curves import LossCurve, check_learned
    from lrcontrol._schedule import Schedule

    inputs = []
    for path in paths:
        if _has_loss_column(path):
            inputs.append(check_learned(LossCurve.read(path)))
            continue
        rates = np.asarray(Schedule.load(path).values)
        if np.any(rates < 0):
            k = int(np.argmax(rates < 0))
            raise InputError(f"schedule file '{path}': lr must be >= 0, got {rates[k]:g} at update {k}.")
        learned = np.nonzero(np.cumsum(rates) > 0)[0]
        if learned.size == 0:
            raise InputError(f"schedule file '{path}' has only zero rates: no law predicts a loss before learning.")
        first, n = int(learned[0]), rates.size
        spread = max(20, min(_SPREAD, _PAIRS // n))
        steps = (np.arange(first, n) if n - first <= _EVERY_STEP else
                 np.unique(np.linspace(first, n - 1, spread).round().astype(int)))
        inputs.append(_Planned(Path(path).stem, rates, steps))
    return _named_apart(inputs)


def _has_loss_column(path) -> bool:
    """Whether a CSV's header names a loss (`step,lr,loss`, or the W&B export's train_loss / val_loss); a file
    that cannot be read counts as a curve, for `LossCurve.read` to say why."""
    import csv

    from lrcontrol._schedule_csv import csv_header

    try:
        with open(path, newline="") as f:
            header = set(csv_header(next(csv.reader(f), [])))
    except (OSError, UnicodeDecodeError, csv.Error):
        return True
    return bool(header & {"loss", "train_loss", "val_loss"}) or not {"step", "lr"} <= header


@dataclass(frozen=True)
class _Planned:
    """A schedule to predict, without losses: the name, the rate of every update, the updates to predict at."""

    name: str
    lr: Any  # numpy: the rate of every update
    steps: Any  # numpy: the updates to predict at


def _curve_spec(law, curves, title, band=None, predicted=None) -> dict:
    """The spec of the fit and prediction figure (`_draw.draw_curves`): each curve's logged losses, the law's
    prediction there (`predicted`, one array per curve, where the caller has it already) and, given `band`
    (`FitReport.band`), its prediction band — plain arrays, for the worker."""
    import numpy as np

    rows = []
    for i, c in enumerate(curves):
        lo = hi = None
        if band is not None:
            _, lo, hi = (np.asarray(a, float) for a in band(c.lr, c.steps))
        pred = law.predict(c.lr, c.steps) if predicted is None else predicted[i]
        rows.append({"name": c.name, "steps": np.asarray(c.steps, float),
                     "losses": None if isinstance(c, _Planned) else np.asarray(c.losses, float),
                     "predicted": np.asarray(pred, float), "lo": lo, "hi": hi})
    return {"kind": "curves", "title": title, "curves": rows}


def cmd_fit(args) -> int:
    from lrcontrol import InputError
    from lrcontrol._errors import WHOLE_MAX, check_int
    from lrcontrol._fit import fit, schedule_profile
    from lrcontrol._output import write_outputs
    from lrcontrol._output_worker import start_outputs

    cls = law_class(args.law)
    fixed = _parse_fixed(args.fix or [], cls)
    try:
        args.max_steps = check_int("--max-steps", args.max_steps, lo=1)
    except InputError:
        raise InputError(f"--max-steps must be a whole number of steps >= 1 (at most {WHOLE_MAX}), got "
                         f"{args.max_steps}.") from None
    out = _folder(args.out, f"out/fit-{args.law}")
    curves = _read_curves(args.curve)
    law, report = fit(cls, curves, fixed=fixed, max_steps=args.max_steps)
    law_json = {"law": cls.name, "params": report.params, "standard_errors": report.standard_errors,
                "fit": {"curves": [c.name for c in curves], "objective": report.objective,
                        "converged": report.converged, "message": report.message,
                        "at_bounds": list(report.at_bounds), "unexplained": list(report.unexplained),
                        "fixed": report.fixed,
                        "pilots": report.pilots,
                        # each fit curve's schedule, for `solve` to name the one nearest its optimum
                        "profiles": {c.name: schedule_profile(c.lr).tolist() for c in curves}},
                "version": _version()}
    figure = start_outputs(args, _curve_spec(law, curves, f"{cls.name} fit", band=report.band))
    written = write_outputs(args, out, {"law.json": finite_json(law_json, indent=1),
                                        "fit.json": finite_json(report.to_dict(), indent=1), "fit.png": figure()[0]})
    if not args.quiet:
        print(f"{cls.name} fitted to {len(curves)} curve(s) in {report.wall_time_s:.1f} s ({report.message}); "
              f"Huber loss {report.objective:.4g}")
        print("  " + ", ".join(f"{k} = {v:.6g} (fixed)" if k in report.fixed else
                               f"{k} = {v:.6g} ± {report.standard_errors[k]:.2g}" for k, v in report.params.items()))
        for name, m in report.metrics.items():
            print(f"  {name}: {_metrics_line(m)}")
        print("wrote " + ", ".join(str(p) for p in written))
    if not report.converged:  # at the step cap, or (fewer steps) an end kept from the thinned points: its message
        print(("lrcontrol: warning: the fit stopped at its cap of {} Levenberg–Marquardt step{} before converging: "
               "the parameters are where it stopped, not a minimum (--max-steps raises the cap)."
               .format(args.max_steps, "s" * (args.max_steps != 1)))
              if report.iterations >= args.max_steps else
              f"lrcontrol: warning: the fit did not converge ({report.message}).", file=sys.stderr)
    if report.at_bounds:
        print(f"lrcontrol: warning: {', '.join(report.at_bounds)} fitted onto the edge of "
              f"{'its' if len(report.at_bounds) == 1 else 'their'} range: the law is at its limit on these "
              f"curves; trust its predictions near them, not at other peaks or horizons or for a schedule "
              f"optimised under it.", file=sys.stderr)
    if report.unexplained:
        print(f"lrcontrol: warning: the law does not follow {', '.join(report.unexplained)} (R² below 0: worse "
              f"than {'that curve' if len(report.unexplained) == 1 else 'each curve'}'s mean loss); what it "
              f"predicts for schedules like {'it' if len(report.unexplained) == 1 else 'them'} is not supported by "
              f"the fit.", file=sys.stderr)
    return 0 if report.converged else 3  # the files are written, with converged: false and the reason


def cmd_predict(args) -> int:
    import numpy as np

    from lrcontrol._fit import metrics
    from lrcontrol._output import write_outputs
    from lrcontrol._output_worker import start_outputs

    law = read_law(args.law)
    out = _folder(args.out, f"out/predict-{law.name}")
    curves = _read_predict_inputs(args.curve)
    lines, per_curve, planned = ["curve,step,lr,loss,predicted"], {}, {}
    predictions = [np.asarray(law.predict(c.lr, c.steps)) for c in curves]  # once: the files and the figure
    for c, pred in zip(curves, predictions):
        if isinstance(c, _Planned):  # a schedule: its predicted curve, the loss column blank
            lines += [f"{c.name},{int(s)},{float(c.lr[s])!r},,{float(p)!r}" for s, p in zip(c.steps, pred)]
            planned[c.name] = {"updates": int(c.lr.size), "final_loss": float(pred[-1]), "steps": c.steps.tolist(),
                               "predicted": pred.tolist()}
            continue
        for s, loss, p in zip(c.steps, c.losses, pred):
            lines.append(f"{c.name},{int(s)},{float(c.lr[s])!r},{float(loss)!r},{float(p)!r}")
        per_curve[c.name] = {**metrics(c.losses, pred), "steps": c.steps.tolist(), "loss": c.losses.tolist(),
                             "predicted": pred.tolist()}
    summary = {k: float(np.mean([m[k] for m in per_curve.values()])) for k in ("PredE", "WorstE", "R2", "MAE")} \
        if per_curve else {}
    data = {"law": law.name, "params": law.params(), "curves": per_curve, "mean": summary,
            **({"schedules": planned} if planned else {}), "version": _version()}
    figure = start_outputs(args, _curve_spec(law, curves, f"{law.name} prediction", predicted=predictions))
    written = write_outputs(args, out, {"prediction.csv": "\n".join(lines) + "\n",
                                        "prediction.json": finite_json(data), "prediction.png": figure()[0]})
    if not args.quiet:
        for name, m in per_curve.items():
            print(f"{name}: {_metrics_line(m)}")
        if per_curve:
            print(f"mean PredE {_five(summary['PredE'])}")
        for name, m in planned.items():
            print(f"{name}: predicted final loss {m['final_loss']:.6f} (after {m['updates']} updates)")
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _solve_params():
    """The settings of `solve LAW`: the horizon and the `LawSchedule` parameters but the law itself, each parsed and
    range-checked by its `Param` as every system's `--set` is."""
    from lrcontrol._errors import Param
    from lrcontrol.systems.law_schedule import LawSchedule

    horizon = Param("horizon", "updates N >= 2 (warm-up included)", int, lo=2)
    return {p.name: p for p in (horizon, *LawSchedule.parameters) if p.name != "law"}


def _parse_settings(settings) -> dict:
    from lrcontrol import InputError

    spec, out = _solve_params(), {}
    for item in settings:
        if "=" not in item:
            raise InputError(f"--set takes NAME=VALUE, got {item!r}.")
        key, raw = (t.strip() for t in item.split("=", 1))
        if key not in spec:
            raise InputError(f"unknown parameter '{key}' for a law schedule; the parameters are "
                             f"{', '.join(spec)}.")
        if key in out:  # as for every system (cli._no_duplicates): the last would win silently
            raise InputError(f"parameter '{key}' is set twice (--set {key}=...); give each parameter once.")
        out[key] = spec[key].parse(raw)
    return out


def cmd_solve_law(args, clock) -> int:
    """`lrcontrol solve LAW --law FILE --set horizon=N --set warmup=W --set peak=P [...]`; `clock` (`cli._Phases`)
    times its phases into `diagnostics.phases_s`."""
    import jax.numpy as jnp
    import numpy as np

    from lrcontrol import InputError
    from lrcontrol._draw import schedules_spec
    from lrcontrol._fit import at_bounds, nearest_schedule, outside_pilots
    from lrcontrol._output import write_outputs
    from lrcontrol._output_worker import start_outputs
    from lrcontrol.systems.law_schedule import LawSchedule, describe, optimise

    if not getattr(args, "law", None):
        raise InputError(f"solve {args.system} needs --law FILE (a law file from lrcontrol fit).")
    for option, given in (("--solver", args.solver != "direct"), ("--integrator", args.integrator is not None),
                          ("--no-grid-check", not args.grid_check)):
        if given:  # the schedule is solved by `law_schedule.optimise`'s own direct solves, on no grid
            raise InputError(f"solve {args.system} takes no {option} (a law's schedule is solved by its own direct "
                             f"solves, update by update).")
    law, law_data = read_law_file(args.law)
    pilots = _fit_pilots(law_data)
    if law.name != args.system:
        raise InputError(f"the law file holds a '{law.name}' law, not '{args.system}'.")
    s = _parse_settings(args.set)
    for need in ("horizon", "warmup", "peak"):
        if need not in s:
            raise InputError(f"solve {args.system} needs --set {need}=VALUE.")
    horizon = s.pop("horizon")
    system = LawSchedule(law, **s)  # checks peak > 0 and min_lr in (0, peak); `optimise` checks warmup < horizon
    warmup, peak, min_lr, monotone = system.warmup, system.peak, system.min_lr, system.monotone
    max_fall = system.max_fall
    out = _folder(args.out, f"out/solve-{args.system}")
    clock.lap("setup")
    solution, how = optimise(system, horizon, progress=False if args.quiet else None)
    clock.lap("solve")  # baselines, the staircase search and the per-update solves from each start
    rates = np.asarray(system.rates(solution.controls))
    value = float(law.final_loss(jnp.asarray(rates)))
    base = how["baselines"]
    curves = base.pop("_rates")
    comparison = {name: {**b, "gap": b["final_loss"] - value} for name, b in base.items()}
    d = solution.diagnostics.to_dict()
    fit_data = law_data.get("fit") if isinstance(law_data.get("fit"), dict) else {}
    held = fit_data.get("fixed") if isinstance(fit_data.get("fixed"), dict) else {}  # set by the user, not the fit
    edge = [n for n in at_bounds(type(law), np.asarray(law.to_vector())) if n not in held]
    beyond = outside_pilots(pilots, horizon, peak) if pilots else []
    unexplained = fit_data.get("unexplained") if isinstance(fit_data.get("unexplained"), list) else []
    unexplained = [str(c) for c in unexplained]
    profiles = _fit_profiles(law_data)
    nearest = None
    if profiles:
        name, distance = nearest_schedule(rates, profiles)
        nearest = {"curve": name, "distance": distance, "explained": name not in unexplained}
    data = {"system": args.system, "law": law.name, "params": {**law.params(), "horizon": horizon,
                                                               "warmup": warmup, "peak": peak, "min_lr": min_lr,
                                                               "monotone": monotone, "max_fall": max_fall},
            "objective_kind": "final_loss", "solver": "direct", "t": list(range(horizon + 1)),
            "controls": {"lr": rates.tolist()}, "objective": value, "analytic": None,
            "comparison": comparison, "shape": describe(rates, warmup, peak), "diagnostics": d,
            "start": how["start"], "end_values_by_start": how["final_loss"], "staircase_search": how["staircase"],
            "law_at_bounds": list(edge), "beyond_fit_curves": beyond, "fit_curves_unexplained": unexplained,
            "nearest_fit_curve": nearest, "version": _version()}
    clock.lap("data")  # the phases end here: the files' formatting cannot time itself into the JSON
    d["phases_s"] = clock.phases(compile=d["compile_time_s"], run=d["run_time_s"])
    # the output worker (started with the command, matplotlib imported meanwhile) draws while the files are formatted
    figure = start_outputs(args, schedules_spec(np.arange(horizon + 1), {"optimal": rates, **curves}, xlabel="step",
                                                 title=f"{args.system}: optimal schedule (final loss {value:.6f})"))
    csv = "step,lr\n" + "".join(f"{i},{float(r)!r}\n" for i, r in enumerate(rates))
    json_text = finite_json(data)
    written = write_outputs(args, out, {"schedule.csv": csv, "solution.json": json_text, "schedule.png": figure()[0]})
    if not args.quiet:
        print(f"{args.system} · final loss · direct · {horizon} updates (warm-up {warmup}, peak {peak:g}, "
              f"min {min_lr:g}, {'monotone' if monotone else 'free'}"
              + (f", each update sheds at most {max_fall:.3g} of the rate above min" if max_fall < 1 else "") + ")")
        print(f"{d['message']} ({d['iterations']} iterations, compile {d['compile_time_s']:.2f} s, run "
              f"{d['run_time_s']:.2f} s)")
        print(f"predicted final loss {value:.8f} (best of the starts: {how['start']})")
        if how["staircase"] is not None:
            st = how["staircase"]
            print(f"staircase search: {st['falls']} falls at updates {st['positions']} to "
                  f"{', '.join(f'{v:.3g}' for v in st['levels'])} ({st['final_loss']:.8f} before the per-update solve)")
        shape = data["shape"]
        print(f"shape: decays from update {shape['decay_start']} ({shape['decay_fraction']:.0%} of the updates after "
              f"warm-up) to {shape['final_lr']:.3g}; largest fall in one update {shape['largest_fall']:.0%} of the "
              f"peak")
        if shape["falls_over_1pct"] >= 2 and shape["largest_fall"] > 0.3:
            print(f"  a staircase ({shape['falls_over_1pct']} falls over 1 % of the peak in one update): the law "
                  f"prefers it to a smooth cooldown; in training checks (the digits MLP and the character-level "
                  f"transformer, README) it did worse")
        for name, b in comparison.items():
            print(f"  {name:16s} {b['final_loss']:.8f}  (+{b['gap']:.2e})")
        print("wrote " + ", ".join(str(p) for p in written))
    if edge:
        print(f"lrcontrol: warning: the law's {', '.join(edge)} {'is' if len(edge) == 1 else 'are'} on the edge of "
              f"{'its' if len(edge) == 1 else 'their'} range (a fit at the law's limit): this schedule is an "
              f"extrapolation of the law, not to be trusted without a training check.", file=sys.stderr)
    if beyond:
        print(f"lrcontrol: warning: beyond the curves the law was fitted on: {'; '.join(beyond)}. The law "
              f"extrapolates there; check the schedule in training before trusting it.", file=sys.stderr)
    if nearest is not None and not nearest["explained"]:
        print(f"lrcontrol: warning: the optimum is nearest to the fit curve {nearest['curve']} (distance "
              f"{nearest['distance']:.2f}), which the law does not follow (R² below 0): its predicted final loss "
              f"is not supported by the fit. Derive under a law that follows that curve, or at a lower peak, and "
              f"check the schedule in training.", file=sys.stderr)
    elif unexplained:
        print(f"lrcontrol: warning: the law did not follow the fit curve{'s' * (len(unexplained) > 1)} "
              f"{', '.join(unexplained)} (R² below 0, recorded by lrcontrol fit); a schedule like "
              f"{'it' if len(unexplained) == 1 else 'them'} is outside what the fit supports"
              + (f"; the optimum is nearest to {nearest['curve']}, which the law follows." if nearest else ".")
              , file=sys.stderr)
    if not solution.diagnostics.converged and "stalled" in d["message"]:
        # The law's value cannot fall further in float64 (`optimise`'s starts end here too): an end, exit 0
        print("lrcontrol: note: the solve ended where the predicted loss stalled at round-off, short of the gradient "
              "tolerance; under a loss-curve law that is its end (exit status 0), and solution.json records "
              "converged = false with the reason.", file=sys.stderr)
    elif not solution.diagnostics.converged:
        from .solvers._results import MAX_STEPS

        print(f"lrcontrol: warning: the solve did not converge ({d['message']}); the files record converged = "
              f"false." + (_CAPPED.get(law.name, "") if int(solution.diagnostics.result) == MAX_STEPS else ""),
              file=sys.stderr)
        return 3
    return 0


# Why a law's schedule solve stops at its cap (`law_schedule.NEWTON_CG_STEPS`), for the warning, where it is measured:
# the FSL law (README, loss-curve laws: problems/fsl_law_microstructure.py, problems/fsl_law_pairings.py)
_CAPPED = {"fsl_law": (
    " Under this law the solve stops at its step cap by design: the law's per-update sum is non-convex at the scale of "
    "single updates, and further steps only pile neighbouring decrements together (README, loss-curve laws: why it "
    "creeps); the schedule is the capped solve's end. fsl_law_before, the same law with each decrement paired with "
    "the intrinsic time before its update, has no such creep (lrcontrol fit --law fsl_law_before).")}


def _version():
    import lrcontrol

    return lrcontrol.__version__


def _folder(out, default):
    """The --out folder, checked before any work (a file there, or one that cannot be made, is exit 2)."""
    from lrcontrol._output import check_folder

    return check_folder(out if out is not None else default)


def finite_json(data, **kwargs):
    from lrcontrol._output import finite_json

    return finite_json(data, **kwargs)


def _laws_epilog() -> str:
    lines = ["laws (the law's name is also its system name for lrcontrol solve LAW --law FILE):"]
    for name, cls in laws().items():
        lines.append(f"  {name:16s} {', '.join(cls.param_names)}")
    return "\n".join(lines)


def add_parsers(sub, exit_codes: str) -> None:
    """Add `fit` and `predict`, and `--law` to `solve` (which delegates law names to `cmd_solve_law`); `exit_codes`:
    the command line's epilog on them."""
    import argparse

    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("fit", help="fit a loss-curve law to training curves (CSV step,lr,loss or W&B export)",
                       description="Fit a loss-curve law to training curves; writes law.json, fit.json and fit.png to "
                                   "--out (default out/fit-LAW/). Then: lrcontrol predict --law DIR/law.json, "
                                   "lrcontrol solve LAW --law DIR/law.json.",
                       formatter_class=fmt, epilog=lambda: f"{_laws_epilog()}\n\n{exit_codes}")
    p.add_argument("--law", required=True, help="a loss-curve law's name (listed below)")
    p.add_argument("--curve", action="append", required=True, metavar="FILE",
                   help="a training run's CSV: step,lr,loss (one row per update, loss blank where not logged, or "
                        "only the logged rows: rates between them interpolated) or a W&B export (iter, train_lr, "
                        "train_loss or val_loss); repeat for each curve")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE",
                   help="hold a parameter at a value instead of fitting it (repeatable), e.g. --fix decay=0.999 "
                        "for the momentum law's paper value")
    p.add_argument("--max-steps", default=200, metavar="N",
                   help="cap on the Levenberg–Marquardt steps of each stage (default 200; a fit that reaches it "
                        "says so: its parameters are where it stopped)")
    p.add_argument("--out", default=None, help="folder (default out/fit-LAW)")
    p.add_argument("--quiet", action="store_true", help="no summary (warnings still go to stderr)")
    p.set_defaults(fn=cmd_fit)
    p = sub.add_parser("predict", help="a fitted law's loss curves for given runs (with metrics) or schedules",
                       description="A fitted law's loss curves for given runs (with metrics) or schedules; writes "
                                   "prediction.csv, prediction.json and prediction.png to --out (default "
                                   "out/predict-LAW/).", formatter_class=fmt, epilog=exit_codes)
    p.add_argument("--law", required=True, metavar="FILE", help="law.json from lrcontrol fit")
    p.add_argument("--curve", action="append", required=True, metavar="FILE",
                   help="a run's CSV as for fit (predicted at its logged steps, with metrics), or a schedule to "
                        "predict: a CSV step,lr with one row per update, as lrcontrol solve LAW writes (predicted "
                        f"at every update up to {_EVERY_STEP}, else at up to {_SPREAD} evenly spaced ones and the "
                        "last, fewer for very long schedules); repeat for each")
    p.add_argument("--out", default=None, help="folder (default out/predict-LAW)")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(fn=cmd_predict)
    if "solve" in sub.choices:
        sub.choices["solve"].add_argument("--law", default=None, metavar="FILE",
                                          help="law.json, for solve LAW (a loss-curve law name)")
