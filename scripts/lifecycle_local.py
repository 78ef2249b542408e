"""`make lifecycle-local`: the loop from drift back to an approved retrain, on the local AWS, one line per step.

    python -m local_aws run -- python scripts/lifecycle_local.py --dir build/lifecycle --group NAME --stack STACK \\
        [--bootstrap "COMMAND"]

Deploy an approved package (capture, drift monitoring, training, an alarm topic with an SQS subscription) ->
in-distribution traffic -> the monitor: no drift -> traffic from a cluster the model has not seen -> the monitor: drift;
the schedule fired: the processing job runs, the outlier alarm goes to ALARM and its SNS message arrives -> the recent
traffic exported from the capture files, plus the old rows, retrained on the local training job with --align-to the
served build -> the candidate gate against the live endpoint -> register (pending) -> approve -> `approval follow`
deploys it -> verified -> the monitor, on traffic like the new, says no drift.

Every step runs the project's own commands (model_build, approval, monitoring, verification, local_aws, make
deploy-approved) as a user would; what each prints goes to DIR/lifecycle.log, the screen gets one line per step and
DIR/transcript.txt the same lines. DIR/lifecycle.json records what each step found (the monitor's exit codes, the
alarm's state history, the served packages, the probes' labels before and after) for tests/test_lifecycle_local.py.
Exit 0 when the loop closed, 1 at the first step that did not do what it should (its log's tail is printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.exceptions import ClientError

from contract.clients import aws_clients
from contract.drift_monitor import CAPTURE_LAG_SECONDS
from contract.stack import is_missing_stack
from model_build.manifest import read_build

FEATURES, OLD_CLUSTERS, OLD_ROWS = 8, 4, 2000
ROWS_PER_REQUEST, REQUESTS = 100, 12  # 1,200 rows a batch of traffic: above the monitor's 1,000-row minimum
NEW_CENTRE = 30.0  # every feature: far from the old centres (normal(0, 6) per feature), ~1 apart within a cluster
REFERENCE_ROWS = 1500  # the retrained build's reference set and baseline sample
MONITOR = [sys.executable, "-m", "monitoring"]
ARN = re.compile(r"arn:aws:sagemaker:[^ ]*model-package/[^ ]*")


class StepError(Exception):
    """A step that did not do what it should: its one line."""


class Loop:
    """The loop's state, its log and its transcript."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir: Path = args.dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "lifecycle.log"
        self.log.write_text("")
        self.lines: list[str] = []
        self.facts: dict[str, Any] = {"monitor_exit_codes": []}
        self.rng = np.random.default_rng(args.seed)
        self.centres = self.rng.normal(0.0, 6.0, size=(OLD_CLUSTERS, FEATURES))
        self.clients = aws_clients(["sagemaker", "sagemaker-runtime", "cloudformation", "sns", "sqs", "cloudwatch"])

    # --- running things ----------------------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], str]) -> None:
        started = time.monotonic()
        print(f"{name:<34}", end="", flush=True)
        try:
            said = action()
        except StepError as error:
            print(f"FAILED: {error} (log: {self.log})")
            tail = self.log.read_text().splitlines()[-25:]
            print("\n".join(tail))
            raise
        line = f"{said} [{time.monotonic() - started:.1f} s]"
        print(line, flush=True)
        self.lines.append(f"{name:<34}{line}")

    def run(self, *command: str | Path | float, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
        """A command with its output in the log; its exit status and stdout."""
        argv = [str(part) for part in command]
        with self.log.open("a") as log:
            log.write(f"\n$ {shlex.join(argv)}\n")
            log.flush()
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, text=True, check=False)
            log.write(done.stdout)
        if done.returncode not in ok:
            last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
            raise StepError(f"{argv[2] if len(argv) > 2 else argv[0]} exited {done.returncode}: {last[:200]}")
        return done.returncode, done.stdout

    # --- data ----------------------------------------------------------------------------------------------------

    def old_rows(self, count: int) -> npt.NDArray[np.float32]:
        picks = self.rng.integers(0, OLD_CLUSTERS, count)
        return (self.centres[picks] + self.rng.normal(0.0, 1.0, (count, FEATURES))).astype(np.float32)

    def new_rows(self, count: int) -> npt.NDArray[np.float32]:
        return (NEW_CENTRE + self.rng.normal(0.0, 1.0, (count, FEATURES))).astype(np.float32)

    def send(self, rows: npt.NDArray[np.float32]) -> list[int]:
        """Rows to the endpoint as CSV requests of ROWS_PER_REQUEST; the closest clusters it answered."""
        labels: list[int] = []
        for start in range(0, len(rows), ROWS_PER_REQUEST):
            body = "\n".join(",".join(f"{v:.9g}" for v in row) for row in rows[start : start + ROWS_PER_REQUEST])
            answer = self.clients["sagemaker-runtime"].invoke_endpoint(
                EndpointName=self.facts["endpoint"], ContentType="text/csv", Accept="application/json", Body=body
            )
            predictions = json.loads(answer["Body"].read())["predictions"]
            labels.extend(int(p["closest_cluster"]) for p in predictions)
        self.settle_capture()
        return labels

    def settle_capture(self) -> None:
        """Capture is buffered and written per window (LOCAL_AWS_CAPTURE_WINDOW_S): wait until no more arrives."""
        s3, bucket = aws_clients(["s3"])["s3"], self.facts["capture_bucket"]
        seen = None
        for _ in range(30):
            listed = s3.list_objects_v2(Bucket=bucket, Prefix="capture/").get("KeyCount", 0)
            if listed and listed == seen:
                return
            seen = listed
            time.sleep(1.0)

    # --- the steps -----------------------------------------------------------------------------------------------

    def fresh(self) -> str:
        """The loop registers and deploys its own builds: a group with packages or a stack already there is refused."""
        try:
            self.clients["cloudformation"].describe_stacks(StackName=self.args.stack)
        except ClientError as error:
            if not is_missing_stack(error):
                raise StepError(f"cannot read stack {self.args.stack}: {error}") from error
        else:
            raise StepError(
                f"stack {self.args.stack} exists: remove it first (python -m teardown --stack {self.args.stack} "
                f"--force, then npx cdk destroy {self.args.stack} with the context it was deployed with)"
            )
        listed = self.clients["sagemaker"].list_model_packages(ModelPackageGroupName=self.args.group)
        if listed["ModelPackageSummaryList"]:
            raise StepError(f"group {self.args.group} has packages already: give LIFECYCLE_GROUP=another-name")
        return f"no stack {self.args.stack}, no packages in {self.args.group}"

    def first_build(self) -> str:
        rows = self.old_rows(OLD_ROWS)
        np.savetxt(self.dir / "old.csv", rows, delimiter=",", fmt="%.9g")
        self.run(sys.executable, "-m", "model_build", "--dataset", "csv", "--data", self.dir / "old.csv",
                 "--clusters", OLD_CLUSTERS, "--seed", self.args.seed, "--out", self.dir / "first")  # fmt: skip
        sha = read_build(self.dir / "first").manifest["artifact_sha256"]
        return f"{OLD_ROWS} rows, {OLD_CLUSTERS} clusters x {FEATURES} features: first/ (sha256 {sha[:12]})"

    def bootstrap(self) -> str:
        self.run("bash", "-c", self.args.bootstrap)
        return "the CDK's bootstrap stack"

    def alarm_topic(self) -> str:
        sns, sqs = self.clients["sns"], self.clients["sqs"]
        topic = sns.create_topic(Name=f"{self.args.group}-alarms")["TopicArn"]
        queue = sqs.create_queue(QueueName=f"{self.args.group}-alarm-messages")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        sqs.purge_queue(QueueUrl=queue)  # messages of an earlier run
        self.facts.update(alarm_topic=topic, alarm_queue=queue)
        return f"{topic.rsplit(':', 1)[1]} -> SQS {queue.rsplit('/', 1)[1]}"

    def listen(self) -> str:
        self.run(sys.executable, "-m", "approval", "listen", "--group", self.args.group, "--queue", self.approval_queue)
        return f"EventBridge rule on {self.args.group}'s approvals -> SQS {self.approval_queue}"

    def register(self, build: str) -> str:
        _, out = self.run(sys.executable, "-m", "model_build", "register", self.dir / build, "--group", self.args.group)
        found = ARN.search(out)
        if found is None:
            raise StepError(f"register printed no package ARN: {out.strip()[:200]}")
        self.facts.setdefault("packages", {})[build] = found.group(0)
        status = self.clients["sagemaker"].describe_model_package(ModelPackageName=found.group(0))
        return f"{short(found.group(0))} {status['ModelApprovalStatus']}"

    def approve(self, build: str) -> str:
        arn = self.facts["packages"][build]
        self.run(sys.executable, "-m", "model_build", "approve", arn, "--description", f"make lifecycle-local: {build}")
        status = self.clients["sagemaker"].describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        return f"{short(arn)} {status}"

    def follow(self, build: str) -> str:
        context = ["-c data_capture=true", "-c drift_monitoring=true", "-c training=true",
                   f"-c alarm_topic_arn={self.facts['alarm_topic']}"]  # fmt: skip
        self.run(sys.executable, "-m", "approval", "follow", "--group", self.args.group, "--queue", self.approval_queue,
                 "--stack", self.args.stack, "--", "make", "--no-print-directory", "deploy-approved",
                 f"BUILD_DIR={self.dir / build}", f"APPROVAL_GROUP={self.args.group}",
                 f"APPROVAL_DIR={self.dir / f'deploy-{build}'}", f"DEPLOY_CONTEXT={' '.join(context)}")  # fmt: skip
        _, served = self.run(sys.executable, "-m", "approval", "served", "--stack", self.args.stack)
        served = served.strip()
        self.facts.setdefault("served", []).append(served)
        if served != self.facts["packages"][build]:
            raise StepError(f"{self.args.stack} serves {served}, not {self.facts['packages'][build]}")
        self._read_stack()
        report = json.loads((self.dir / f"deploy-{build}" / "verification.json").read_text())
        return (
            f"{self.args.stack} serves {short(served)}; verification {report['result']}, {len(report['checks'])} checks"
        )

    def _read_stack(self) -> None:
        cloudformation = self.clients["cloudformation"]
        described = cloudformation.describe_stacks(StackName=self.args.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        resources = cloudformation.list_stack_resources(StackName=self.args.stack)["StackResourceSummaries"]
        buckets = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"
                   and "AccessLogs" not in r["LogicalResourceId"]]  # fmt: skip
        schedules = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Scheduler::Schedule"]
        self.facts.update(endpoint=outputs["EndpointName"], capture_bucket=buckets[0], schedule=schedules[0])

    def in_distribution(self) -> str:
        self.probes = np.concatenate([self.old_rows(40), self.new_rows(10)])
        self.facts["probe_labels_first"] = self.send(self.probes)
        self.facts["window_start"] = now_text()
        labels = self.send(self.old_rows(ROWS_PER_REQUEST * REQUESTS))
        return f"{len(labels)} rows like the training rows, {len(set(labels))} clusters answered"

    def monitor(self, baseline: str, expected: int, *window: str) -> str:
        code, out = self.run(*MONITOR, "drift", "--stack", self.args.stack, "--baseline", self.dir / baseline,
                             *window, "--json", self.dir / f"drift-{len(self.facts['monitor_exit_codes'])}.json",
                             ok=(0, 1))  # fmt: skip
        self.facts["monitor_exit_codes"].append(code)
        if code != expected:
            raise StepError(f"the monitor exited {code}, expected {expected}: {out.strip()[-200:]}")
        summary = " ".join(out.strip().splitlines()[-1].split()) if out.strip() else ""
        summary = summary.split("beyond p99)")[0] + "beyond p99)" if "beyond p99)" in summary else summary[:120]
        return f"exit {code} ({'drift' if code else 'no drift'}): {summary}"

    def shifted(self) -> str:
        labels = self.send(self.new_rows(ROWS_PER_REQUEST * REQUESTS))
        return f"{len(labels)} rows from a cluster it has not seen (centre {NEW_CENTRE:g} in every feature)"

    def fire(self) -> str:
        self.facts["alarm_states_before"] = {n: a["StateValue"] for n, a in self.drift_alarms().items()}
        # Fired as due once the capture lag has passed: the run's window ends the lag before its scheduled time.
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=CAPTURE_LAG_SECONDS + 60)
        at = due.strftime("%Y-%m-%dT%H:%M:%SZ")
        _, out = self.run(sys.executable, "-m", "local_aws", "fire-schedule", self.facts["schedule"], "--at", at)
        job = json.loads(out.split(" -> ", 1)[1])["ProcessingJobArn"].rsplit("/", 1)[1]
        sagemaker = self.clients["sagemaker"]
        status = "InProgress"
        for _ in range(240):
            status = sagemaker.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"]
            if status not in ("InProgress", "Stopping"):
                break
            time.sleep(0.5)
        if status != "Completed":
            raise StepError(f"processing job {job}: {status}")
        alarms = self.drift_alarms()
        firing = [name for name, alarm in alarms.items() if alarm["StateValue"] == "ALARM"]
        messages = self.alarm_messages()
        self.facts.update(processing_job=job, alarm_states={n: a["StateValue"] for n, a in alarms.items()},
                          alarm_messages=messages)  # fmt: skip
        if not firing or not any(m["AlarmName"] in firing and m["NewStateValue"] == "ALARM" for m in messages):
            raise StepError(f"job {job} completed, but no alarm fired with a message: {self.facts['alarm_states']}")
        metrics = ", ".join(sorted({alarms[n]["MetricName"] for n in firing}))
        was = "/".join(sorted({self.facts["alarm_states_before"].get(n, "?") for n in firing}))
        return f"job {job} Completed; {metrics} alarm {was} -> ALARM; its SNS message arrived"

    def drift_alarms(self) -> dict[str, dict[str, Any]]:
        alarms = self.clients["cloudwatch"].describe_alarms()["MetricAlarms"]
        return {
            a["AlarmName"]: a for a in alarms
            if {d["Name"]: d["Value"] for d in a.get("Dimensions", [])}.get("EndpointName") == self.facts["endpoint"]
            and a.get("Namespace", "").endswith("/Drift")
        }  # fmt: skip

    def alarm_messages(self) -> list[dict[str, Any]]:
        sqs, queue, found = self.clients["sqs"], self.facts["alarm_queue"], []
        for _ in range(5):
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for message in got:
                body = json.loads(message["Body"])
                found.append({key: body[key] for key in ("AlarmName", "OldStateValue", "NewStateValue")})
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            if found and not got:
                break
        return found

    def export(self) -> str:
        _, out = self.run(*MONITOR, "export", "--stack", self.args.stack, "--start", self.facts["window_start"],
                          "--out", self.dir / "recent.csv")  # fmt: skip
        old = (self.dir / "old.csv").read_text()
        (self.dir / "retrain.csv").write_text(old + (self.dir / "recent.csv").read_text())
        said = out.strip().splitlines()[-1].replace(str(self.dir / "recent.csv"), "recent.csv")
        return f"{said}; + the {OLD_ROWS} old rows: retrain.csv"

    def retrain(self) -> str:
        self.run(sys.executable, "-m", "model_build", "--engine", "sagemaker", "--data", self.dir / "retrain.csv",
                 "--clusters", OLD_CLUSTERS + 1, "--seed", self.args.seed, "--reference-rows", REFERENCE_ROWS,
                 "--align-to", self.dir / "first", "--stack", self.args.stack,
                 "--out", self.dir / "candidate")  # fmt: skip
        manifest = read_build(self.dir / "candidate").manifest
        clusters = manifest["aligned_to"]["clusters"]
        self.facts["candidate_previous_ids"] = [c["previous_id"] for c in clusters]
        new = [c["id"] for c in clusters if c["previous_id"] is None]
        job = manifest["aligned_to"]["job_arn"].rsplit("/", 1)[1]
        return f"job {job}: {len(clusters)} clusters, ids 0-{OLD_CLUSTERS - 1} kept, new id {new}"

    def gate(self) -> str:
        """The live endpoint labels the candidate's reference rows. A retrain that adds a cluster cannot agree on
        the rows of the new cluster (the live model has no such id): the gate sets them aside (the manifest's
        aligned_to names the new ids) and asks the default 0.9 agreement on the rest, and the live ids kept."""
        self.run(sys.executable, "-m", "verification", "--stack", self.args.stack, "--candidate",
                 self.dir / "candidate", "--json", self.dir / "gate.json")  # fmt: skip
        checks = {c["name"]: c for c in json.loads((self.dir / "gate.json").read_text())["checks"]}
        found = checks["candidate agreement"]
        self.facts.update(gate=found)
        return (
            f"passed: agreement {found['agreement']:.4f} >= {found['min_agreement']} on the old clusters' rows, "
            f"new cluster {found['new_clusters']} ({found['new_cluster_share']:.1%}) set aside, ids kept"
        )

    def ids_stable(self) -> str:
        after = self.send(self.probes)
        before = self.facts["probe_labels_first"]
        self.facts["probe_labels_candidate"] = after
        old = len(self.probes) - 10
        if after[:old] != before[:old]:
            raise StepError(f"old clusters' probes moved: {before[:old]} -> {after[:old]}")
        return f"{old} probes of the old clusters keep their ids; the new cluster's now {sorted(set(after[old:]))}"

    def like_new(self) -> str:
        self.facts["final_window_start"] = now_text()
        rows = self.rng.permutation(np.concatenate([self.old_rows(900), self.new_rows(300)]))
        labels = self.send(rows.astype(np.float32))
        return f"{len(labels)} rows, old and new clusters mixed as in the retrain"

    @property
    def approval_queue(self) -> str:
        return f"{self.args.group}-approvals"


def short(arn: str) -> str:
    return arn.rsplit("/", 2)[-2] + "/" + arn.rsplit("/", 1)[-1]


def now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="where the builds, rows, reports and log go")
    parser.add_argument("--group", required=True, help="the model package group")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--bootstrap", help="a shell command that bootstraps the local account (after the first build)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    loop = Loop(args)
    steps: list[tuple[str, Callable[[], str]]] = [
        ("a fresh start", loop.fresh),
        ("old data, first build", loop.first_build),
        *([("cdk bootstrap", loop.bootstrap)] if args.bootstrap else []),
        ("alarm topic", loop.alarm_topic),
        ("approval queue", loop.listen),
        ("register the first build", lambda: loop.register("first")),
        ("approve it", lambda: loop.approve("first")),
        ("follow: deploy + verify", lambda: loop.follow("first")),
        ("in-distribution traffic", loop.in_distribution),
        ("monitor", lambda: loop.monitor("first", 0, "--start", loop.facts["window_start"])),
        ("shifted traffic", loop.shifted),
        ("monitor", lambda: loop.monitor("first", 1, "--start", loop.facts["window_start"])),
        ("fire the schedule", loop.fire),
        ("export the recent traffic", loop.export),
        ("retrain (SageMaker job, aligned)", loop.retrain),
        ("candidate gate (live endpoint)", loop.gate),
        ("register the candidate", lambda: loop.register("candidate")),
        ("approve it", lambda: loop.approve("candidate")),
        ("follow: deploy + verify", lambda: loop.follow("candidate")),
        ("ids of the old clusters", loop.ids_stable),
        ("traffic like the new", loop.like_new),
        ("monitor", lambda: loop.monitor("candidate", 0, "--start", loop.facts["final_window_start"])),
    ]
    started = time.monotonic()
    try:
        for name, action in steps:
            loop.step(name, action)
    except StepError:
        return 1
    finally:
        (loop.dir / "transcript.txt").write_text("\n".join(loop.lines) + "\n")
        (loop.dir / "lifecycle.json").write_text(json.dumps(loop.facts, indent=2, sort_keys=True) + "\n")
    codes = loop.facts["monitor_exit_codes"]
    if codes != [0, 1, 0]:
        print(f"the monitor answered {codes}, not no drift, drift, no drift")
        return 1
    closing = f"the loop closed in {time.monotonic() - started:.0f} s: {loop.dir / 'transcript.txt'}"
    loop.lines.append(closing)
    (loop.dir / "transcript.txt").write_text("\n".join(loop.lines) + "\n")
    print(closing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
