"""The ``xiphpc`` command line (click); subcommands import what they run, lazily."""
