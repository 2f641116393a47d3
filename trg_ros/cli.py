"""The ``trg-ros`` command: assets, node, demo, view, record, check, bench, eval, export."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from trg_ros.core import assets, catalogue
from trg_ros.core.errors import TRGError
from trg_ros.core.model.files import CHECKPOINTS


def cmd_assets(args: argparse.Namespace) -> int:
    chosen = catalogue.chosen(args.only or catalogue.GROUPS, args.checkpoint)
    if args.action == "verify":
        problems = assets.verify(chosen, args.cache)
        for line in problems:
            print(f"BAD  {line}")
        if not problems:
            print(f"all {len(chosen)} assets in {assets.cache_dir(args.cache)} are valid")
        return 1 if problems else 0
    from trg_ros.tools.progress import download_bar

    weights = CHECKPOINTS[args.checkpoint]
    urls = {weights.name: args.weights_url} if args.weights_url else None
    failed = []
    for asset in chosen:
        try:
            path = assets.fetch([asset], args.cache, args.source, args.mirror, download_bar, urls)
            print(f"ok   {path[0]}")
        except TRGError as e:
            failed.append(asset.name)
            print(f"FAIL {e}", file=sys.stderr)
    return 1 if failed else 0


def cmd_node(args: argparse.Namespace, ros_args: list[str]) -> int:
    from trg_ros.ros.main import run_node

    # No default file: the defaults live in the node (config/head_pose.yaml repeats them), and
    # rcl lets a parameters file win over a `-p` of another type (`-p beta:=fast` vanished).
    return run_node(ros_args, args.params_file, autostart=not args.no_autostart)


def build_parser(tools: bool = True) -> argparse.ArgumentParser:
    """The command line; without ``tools`` only ``assets`` and ``node``, whose start-up then
    imports none of the tools (they bring PyTorch, which a FaceMesh node never needs)."""
    parser = argparse.ArgumentParser(prog="trg-ros", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("assets", help="fetch or verify the TRG weights, data and detector")
    p.add_argument("action", choices=["fetch", "verify"])
    p.add_argument("--from", dest="source", type=Path, help="install from this local folder")
    p.add_argument(
        "--cache", type=Path, help="cache folder (default $TRG_ROS_HOME or ~/.cache/trg_ros)"
    )
    p.add_argument("--mirror", help="base URL that serves the files under their cache names")
    p.add_argument("--only", nargs="+", choices=catalogue.GROUPS, help="only these groups")
    p.add_argument(
        "--checkpoint",
        choices=list(CHECKPOINTS),
        default="trg-star",
        help="official checkpoint: trg-star (ARKitFace+300W-LP, default) or trg (ARKitFace)",
    )
    p.add_argument(
        "--weights-url", help="Google Drive share link or plain URL of the checkpoint file"
    )

    p = sub.add_parser("node", help="run the trg_head_pose node (accepts --ros-args ...)")
    p.add_argument(
        "--params-file", type=Path, help="parameters YAML (default: the built-in defaults)"
    )
    p.add_argument(
        "--no-autostart", action="store_true", help="leave the lifecycle node unconfigured"
    )

    if not tools:
        return parser
    from trg_ros.tools import check, evaluate, export, record
    from trg_ros.tools.bench import command as bench
    from trg_ros.tools.demo import command as demo
    from trg_ros.tools.view import command as view

    demo.add_parser(sub)
    check.add_parser(sub)
    bench.add_parser(sub)
    evaluate.add_parser(sub)
    export.add_parser(sub)
    record.add_parser(sub)
    view.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args: list[str] = []
    if "--ros-args" in argv:
        i = argv.index("--ros-args")
        argv, ros_args = argv[:i], argv[i:]
    command = next((a for a in argv if not a.startswith("-")), None)  # options come first
    args = build_parser(tools=command not in ("assets", "node")).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "assets":
        return cmd_assets(args)
    if args.command == "node":
        return cmd_node(args, ros_args)
    try:
        return args.func(args)
    except TRGError as e:  # a missing or unusable file: one line, the trace only with -v
        logging.getLogger("trg_ros.cli").debug("trace", exc_info=True)
        print(f"trg-ros {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
