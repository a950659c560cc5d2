# Sourced by the publish scripts: the project's Python, wherever the script is called from.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$repo/.venv/bin/python" ]; then
  python="$repo/.venv/bin/python"
else
  python="${PYTHON:-python3}"
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
