"""Subcommands of the ``rmrl`` CLI (each module has ``add_parser(subparsers)``)."""
