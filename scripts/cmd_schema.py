"""``lifecircle schema``: print the JSON Schema of a config file, for editors and validators.

    lifecircle schema run-config > run-config.schema.json

VS Code (YAML extension) and PyCharm then validate and complete ``data/streets/*.yaml``; the
shipped configs point at ``data/schemas/run-config.schema.json`` in their first line.
"""

from __future__ import annotations

import argparse
import json

from ..workflow.configs import config_schema, schema_names


def register(subparsers) -> None:
    """Add the ``schema`` subcommand."""
    p = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a config (run-config)",
        description="配置文件的 JSON Schema（编辑器据此校验与补全 YAML）",
    )
    p.add_argument("name", choices=schema_names(), help="which config")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema as JSON."""
    print(json.dumps(config_schema(args.name), ensure_ascii=False, indent=2))
    return 0
