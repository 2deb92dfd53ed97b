"""Registry of CLI sub-command modules (each defines ``add_parser(subparsers)``).

A module listed here must be cheap to import: heavy imports belong inside its ``run`` function.
"""

COMMAND_MODULES: list[str] = [
    "wellposed.solvers.solve_cli",
    "wellposed.backends.cli",
    "wellposed.demo_cli",
    "wellposed.solvers.quantize_cli",
    "wellposed.network_cli",
    "wellposed.solvers.butterfly.cli",
    "wellposed.closedness.cli",
]
