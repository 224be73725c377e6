"""Admin commands that belong to one MTA or MDA: Postfix tables, Sieve scripts.

Each integration module provides ``add_arguments(parser)`` and ``run(args, config) -> int``
(the Sieve one registers its own sub-commands through ``add_commands(subparsers)``).
"""

import importlib


def add_commands(sub) -> None:
    try:
        postfix = importlib.import_module("autoresponder.postfix")
    except ModuleNotFoundError:
        postfix = None
    if postfix is not None:
        p = sub.add_parser("postfix-map", help="print the Postfix lookup table that copies "
                                               "mail of accounts on vacation to the agent")
        postfix.add_arguments(p)
        p.set_defaults(func=postfix.run)
    try:
        sieve = importlib.import_module("autoresponder.sieve.cli")
    except ModuleNotFoundError:
        sieve = None
    if sieve is not None:
        sieve.add_commands(sub)
    from autoresponder import serve

    serve.add_command(sub)
