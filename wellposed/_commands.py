"""Registry of CLI sub-command modules (each defines ``add_parser(subparsers)``).

A module listed here must be cheap to import: heavy imports belong inside its ``run`` function.
"""

COMMAND_MODULES: list[str] = [
    "solvers.solve_cli",
    "wellposed.backends.cli",
    "wellposed.demo_cli",
    "solvers.quantize_cli",
    "wellposed.network_cli",
    "solvers.butterfly.cli",
    "wellposed.closedness.cli",
]
