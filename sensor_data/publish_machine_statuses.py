"""Publish machine statuses to RabbitMQ (see --help): `python -m mlops_demo.publishing statuses`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops_demo.publishing import main

if __name__ == "__main__":
    sys.exit(main(["statuses", *sys.argv[1:]]))
