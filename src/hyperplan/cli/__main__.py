"""``python -m hyperplan.cli``: the same as the ``hyperplan`` command."""

from hyperplan.cli import main

if __name__ == "__main__":
    main()
