"""``trg-ros bench``: the command line; what each run measures is in the modules beside it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from trg_ros.tools.options import add_model_files, model_files


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="latency and throughput per stage and batch size")
    p.add_argument("--model-only", action="store_true", help="only the TRG network")
    p.add_argument("--detector", action="store_true", help="only the face detector")
    p.add_argument("--facemesh", action="store_true", help="only the FaceMesh landmark network")
    p.add_argument(
        "--startup",
        action="store_true",
        help="only start-up: node process start -> active, TRG and FaceMesh on the CPU",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="only the demo: trg-ros demo --video against the core pipeline on the same clip",
    )
    p.add_argument(
        "--demo-frames",
        type=_positive,
        default=150,
        help="frames of the clip the demo and the core pipeline run on (the goal needs >= 120)",
    )
    p.add_argument(
        "--startup-runs",
        type=_positive,
        default=5,
        help="fresh node processes per model after the cold start (the median is the figure)",
    )
    p.add_argument(
        "--signals",
        action="store_true",
        help="only the driver-monitoring signals: ms per face on the CPU, with their baseline",
    )
    p.add_argument(
        "--hri",
        action="store_true",
        help="only the ROS4HRI face topics: ms per frame for 1 and 4 faces",
    )
    p.add_argument(
        "--view",
        action="store_true",
        help="only the browser view: CPU with one Chromium client against none, 1 face at 15 Hz",
    )
    p.add_argument(
        "--view-seconds",
        type=float,
        default=60.0,
        help="seconds measured with the browser and as many without (the goal uses 60)",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    p.add_argument(
        "--repeats",
        type=_positive,
        default=20,
        help="timed calls per figure (five times as many for the TFLite networks)",
    )
    add_model_files(p)
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--plot", type=Path, default=None, help="draw the per-stage bars (PNG)")
    p.add_argument(
        "--load-seconds",
        type=float,
        default=60.0,
        help="seconds at 30 Hz and at 60 Hz through the node (0: skip)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trg_ros.tools.bench import demo, goals, model, startup, tflite
    from trg_ros.tools.bench.goals import print_hri

    files = model_files(args)
    if args.demo:
        result = demo.demo(files, args)
    elif args.signals:
        from trg_ros.tools.bench.signals import signals

        result = signals(files, args.repeats)
    elif args.view:
        from trg_ros.tools.bench.view import view_cost

        result = {"view": view_cost(args.view_seconds)}
    elif args.hri:
        from trg_ros.tools.bench.hri import example_heads, hri_ms

        result = {"ros4hri": [hri_ms(example_heads(n), max(args.repeats, 200)) for n in (1, 4)]}
        print_hri(result["ros4hri"])
    elif args.startup:
        result = startup.startup(files, args.startup_runs)
    elif args.model_only:
        result = model.model(files, args)
    elif args.detector:
        result = tflite.detector(files, args)
    elif args.facemesh:
        result = tflite.facemesh(files.data_dir, args.repeats, args.device)
    else:
        result = goals.run(files, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
