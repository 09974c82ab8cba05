"""A local, single-node Apache Kafka (KRaft) from its Maven Central jars.

``shoppulse broker`` and the test suite's session fixture both use
:class:`LocalKafka`. The jars are resolved once by Maven (``cli/kafka/pom.xml``)
into a cache directory; the broker keeps its log segments in a data directory,
listens on 127.0.0.1 only, and dies with its parent process.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cli.processes import die_with_parent
from shoppulse.settings import KafkaSettings

log = logging.getLogger("shoppulse.broker")

KAFKA_DIR = Path(__file__).parent / "kafka"
POM = KAFKA_DIR / "pom.xml"
LOG4J2 = KAFKA_DIR / "log4j2.xml"


#: The consumer group whose description proves the group coordinator is up (no member joins).
_READY_PROBE_GROUP = "shoppulse-ready-probe"


def kafka_version() -> str:
    """The Kafka version pinned in the pom."""
    text = POM.read_text()
    start = text.index("<kafka.version>") + len("<kafka.version>")
    return text[start : text.index("</kafka.version>", start)]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shoppulse" / f"kafka-{kafka_version()}"


def fetch_jars(cache_dir: Path | None = None) -> Path:
    """Resolve the broker's classpath with Maven into ``cache_dir/lib`` (once) and return it."""
    cache = cache_dir or default_cache_dir()
    lib = cache / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the Kafka jars; install it first")
    lib.mkdir(parents=True, exist_ok=True)
    log.info("fetching Kafka %s jars into %s", kafka_version(), lib)
    subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
        ],
        check=True,
    )
    marker.write_text(kafka_version())
    return lib


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def server_properties(*, data_dir: Path, port: int, controller_port: int, partitions: int) -> str:
    """A one-node KRaft configuration on loopback, tuned for fast group joins."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
            f"log.dirs={data_dir / 'logs'}",
            f"num.partitions={partitions}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # A single consumer should join at once, and short sessions are allowed.
            "group.initial.rebalance.delay.ms=0",
            "group.min.session.timeout.ms=1000",
            "auto.create.topics.enable=true",
            "log.retention.hours=48",
            "",
        ]
    )


@dataclass
class LocalKafka:
    """A Kafka broker process: ``start()``, ``wait_ready()``, ``stop()`` (or ``with``)."""

    data_dir: Path
    port: int = 0
    controller_port: int = 0
    partitions: int = 4
    heap: str = "512m"
    cache_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("Java 17+ is needed to run the local Kafka broker")
        return java

    def _format(self, lib: Path, props: Path) -> None:
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        # Kafka wants a cluster id of 16 bytes in URL-safe base64 without padding.
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            [
                self._java(),
                "-cp",
                f"{lib}/*",
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cid}",  # "=": an id may start with "-"
                "-c",
                str(props),
                "--standalone",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        lib = fetch_jars(self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        props.write_text(
            server_properties(
                data_dir=self.data_dir.resolve(),
                port=self.port,
                controller_port=self.controller_port,
                partitions=self.partitions,
            )
        )
        self._format(lib, props)
        cmd = [
            self._java(),
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}",
            f"-Dshoppulse.kafka.log={self.log_file.resolve()}",
            "-cp",
            f"{lib}/*",
            "kafka.Kafka",
            str(props),
        ]
        out = (self.data_dir / "broker.stdout").open("ab")
        self.process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
        out.close()
        log.info("kafka starting pid=%s bootstrap=%s", self.process.pid, self.bootstrap)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the broker answers metadata requests and has a group coordinator, or
        raise ``TimeoutError``.

        A fresh broker creates ``__consumer_offsets`` on the first coordinator lookup; a worker
        that joins its group meanwhile sees ``GroupCoordinatorNotAvailable``, marks the
        coordinator dead, and was seen to stop fetching after its first batch. Describing a
        group makes the broker create the topic and elect the coordinator before any worker
        starts."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"kafka exited with {self.process.returncode}; see {self.log_file}"
                )
            if not _port_open(self.port):
                time.sleep(0.2)
                continue
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
                try:
                    admin.list_topics()
                    admin.describe_groups([_READY_PROBE_GROUP])
                finally:
                    admin.close()
                log.info("kafka ready bootstrap=%s", self.bootstrap)
                return
            except (KafkaError, OSError):
                time.sleep(0.3)
        raise TimeoutError(f"kafka not ready after {timeout_s} s; see {self.log_file}")

    def stop(self, timeout_s: float = 20.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.info("kafka stopped")

    def __enter__(self) -> LocalKafka:
        self.start()
        self.wait_ready()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/kafka"),
        help="where the broker keeps its data (default: var/kafka)",
    )
    parser.add_argument("--port", type=int, default=9092, help="client port on 127.0.0.1")
    parser.add_argument(
        "--controller-port", type=int, default=9093, help="KRaft controller port on 127.0.0.1"
    )
    parser.add_argument("--heap", default="512m", help="JVM heap (-Xmx)")
    parser.add_argument(
        "--fetch-only",
        action="store_true",
        help="only resolve the Kafka jars into the cache, then exit",
    )


def run(args: argparse.Namespace, settings: KafkaSettings) -> int:
    if args.fetch_only:
        print(fetch_jars())
        return 0
    broker = LocalKafka(
        data_dir=args.data_dir,
        port=args.port,
        controller_port=args.controller_port,
        partitions=settings.topic_partitions,
        heap=args.heap,
    )
    stop = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    broker.start()
    crashed = False
    try:
        broker.wait_ready()
        print(
            f"Kafka {kafka_version()} ready on {broker.bootstrap} (data: {args.data_dir})",
            flush=True,
        )
        while not stop:
            if broker.process is None or broker.process.poll() is not None:
                crashed = True
                print(f"Kafka exited on its own; see {broker.log_file}", flush=True)
                break
            time.sleep(0.5)
    finally:
        broker.stop()
    return 1 if crashed else 0
