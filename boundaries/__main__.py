"""``python -m boundaries`` works like ``boundaries``."""

from .cli import main

main(prog_name="boundaries")
