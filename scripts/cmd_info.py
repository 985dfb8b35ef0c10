"""``lifecircle info``: check input data before an analysis.

Prints, in Chinese, how many facility rows were loaded per category and every rejected row with its
reason; optionally a short summary of a walking network and of boundaries. Rejected rows are a
normal outcome (exit 0); a file that cannot be read at all exits 2.
"""

from __future__ import annotations

import argparse

from ..workflow.check_inputs import InfoRequest, describe_inputs
from . import _common as common


def register(subparsers) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="检查输入数据 (设施表的载入与拒绝行, 路网, 边界)",
        description="检查输入数据: 设施表按类别统计载入行数, 列出每一条被拒绝的行及原因。",
    )
    common.add_facility_args(p.add_argument_group("设施 (facilities)"))
    o = p.add_argument_group("其他数据 (optional)")
    common.add_network_args(o)
    common.add_boundary_args(o)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the summaries (:func:`lifecircle.workflow.check_inputs.describe_inputs`); 0 even
    when rows were rejected."""
    request = InfoRequest(
        facilities=common.facility_file_from_args(args) if args.facilities else None,
        network=args.network,
        boundaries=common.boundary_file_from_args(args),
    )
    describe_inputs(request, echo=common.say)
    return 0
