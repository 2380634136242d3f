"""``python -m ziya2lab.train``: see ``ziya2lab.train.app``."""

from ziya2lab.train.app import main

main()
