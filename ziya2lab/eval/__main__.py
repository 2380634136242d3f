"""``python -m ziya2lab.eval``: see ``ziya2lab.eval.app``."""

from ziya2lab.eval.app import main

main()
