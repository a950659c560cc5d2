"""Publish machine statuses to RabbitMQ: `mlops-demo publish statuses` (see --help)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops_demo.cli import main

if __name__ == "__main__":
    main(["publish", "statuses", *sys.argv[1:]], prog_name=Path(__file__).name)
