"""A RabbitMQ node of the test's own (own name, port and data directory), to restart at will;
the machine's own broker is never touched. The recipe is in ../shared/DAGSTER_NOTES.md."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from mlops_demo.core.transport import broker
from mlops_demo.devserver.processes import free_port

START_SECONDS = 90


class PrivateNode:
    def __init__(self):
        # Under /tmp, not pytest's 0700 folder: the server runs as the rabbitmq user.
        self.directory = Path(tempfile.mkdtemp(prefix="mlops_demo_rabbit_"))
        self.port, dist_port = free_port(), free_port()
        self.name = f"mlops_test_{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        (self.directory / "mnesia").mkdir()
        (self.directory / "log").mkdir()
        (self.directory / "plugins").write_text("[].\n")
        (self.directory / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        self.directory.chmod(0o755)
        shutil.chown(self.directory, "rabbitmq", "rabbitmq")
        for path in self.directory.rglob("*"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        self.env = {
            **os.environ,
            "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq.conf"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.directory / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "plugins"),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["rabbitmq-server"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                broker.queue_depth(self.url, "mlops_demo_node_probe")
                return
            except broker.BrokerUnavailable:
                time.sleep(0.5)
        logs = "".join(p.read_text()[-2000:] for p in (self.directory / "log").glob("*.log"))
        raise RuntimeError(f"the private RabbitMQ node {self.name} did not answer:\n{logs}")

    def stop(self) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.name, "stop"],
            env=self.env,
            capture_output=True,
            timeout=60,
        )
        if self.process is not None:
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                # A node that never came up does not hear rabbitmqctl: end its whole session.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
