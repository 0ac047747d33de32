"""The frozen app's entry point: the `vivavoce` command (the desktop app when given no subcommand)."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    # Training's data workers start this executable again where processes are spawned (Windows,
    # macOS); freeze_support lets those children run the worker instead of the app.
    multiprocessing.freeze_support()
    sys.exit(main())
