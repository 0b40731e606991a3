"""The runtime embedded in every generated ACK SageMaker component.

This module runs inside the pipeline step's container, so it imports nothing
from labwiz and nothing beyond the standard library and the `kubernetes`
client. The generator embeds its source text verbatim into each component, and
the component executes it as a fresh module, so the code tested here is the
code that runs.

What it does, in order: build the custom resource from the component's inputs
(through the generated snake_case -> CRD key table), annotated with the region
ACK must create it in, create it in the run's namespace, adopt an identical one
left by an earlier attempt, or update one of a kind ACK can update (an
Endpoint moved to a new EndpointConfig), wait for it the way the ACK controller
reports progress, and return the status fields as JSON strings.

Waiting follows ACK's meaning of its conditions: ACK.Terminal fails at once;
ACK.Recoverable means the controller is retrying, so its message is logged at
once and the task fails with it only when it lasts longer than a bound; a
resource no controller has written any status into within a bound fails with
a message naming the missing controller. SIGTERM (a cancelled run) deletes the resource unless told not
to. Given the lab's lineage (and the run id), the resource is labelled and,
where the kind carries SageMaker tags, tagged, so cleanup can find it.
"""
import json
import os
import re
import signal
import time
import hashlib

SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
TRANSIENT_HTTP = (408, 429, 500, 502, 503, 504)
#: ACK's annotation choosing the region a resource is created in (else the controller's default)
REGION_ANNOTATION = "services.k8s.aws/region"
ACK_NAMESPACE = "ack-system"
DNS_LABEL_MAX = 63
# The same keys labwiz puts on what it creates itself (wizard/ledger.py). This module runs in
# the step's container without labwiz, so it keeps copies; a test keeps the two in step.
LINEAGE_LABEL = "labwiz.dev/lineage"
RUN_ID_LABEL = "labwiz.dev/kfp-run-id"
LINEAGE_TAG = "labwiz:lineage"
MANAGED_TAG = "labwiz:managed"
RUN_ID_TAG = "labwiz:kfp-run-id"
LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
TAG_VALUE = re.compile(r"^[\w.:/=+\-@ ]{0,256}$")


class ComponentError(Exception):
    """A failure the learner must act on; its message says what happened and what to do."""


class Terminated(Exception):
    """Raised from the SIGTERM handler so that clean-up runs in the main flow."""


def log(message):
    """Print one progress line a learner can read in the KFP log view."""
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    print(f"[{stamp}] {message}", flush=True)


# ---------------------------------------------------------------- building

def _integral(value):
    """Turn whole floats back into ints, recursively.

    KFP passes dict and list inputs through a protobuf Struct, which stores
    every number as a double: `instanceCount: 1` arrives as 1.0, and an
    integer field in a CRD schema refuses 1.0. A whole float is a valid
    `number` too, so converting every whole float is safe for both types.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _is_empty(value):
    """True for values an optional field treats as 'not given'."""
    return value is None or (isinstance(value, (str, dict, list)) and len(value) == 0)


def coerce_value(name, key, type_name, value):
    """Check one input against its CRD type and return the value to send.

    JSON text is accepted for object and array fields, because a learner
    calling the component from the KFP UI may paste JSON into the box.
    """
    where = f"input '{name}' (spec.{key})"
    if type_name in ("object", "array") and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ComponentError(f"{where} must be JSON {type_name}; could not parse it: {exc}")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool)
        or isinstance(v, float) and v.is_integer(),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    check = checks.get(type_name)
    if check is not None and not check(value):
        raise ComponentError(f"{where} must be of type {type_name}, got {type(value).__name__} {value!r}")
    return _integral(value)


def build_spec(field_map, values):
    """Return the CR spec from snake_case inputs, omitting optional inputs left unset.

    `field_map` maps each input name to {"key": CRD key, "type": schema type,
    "required": bool}; keys come out exactly as the CRD spells them.
    """
    unknown = sorted(set(values) - set(field_map))
    if unknown:
        raise ComponentError(f"unknown input(s) {', '.join(unknown)}; known: {', '.join(sorted(field_map))}")
    spec = {}
    missing = []
    for name, field in field_map.items():
        value = values.get(name)
        if _is_empty(value):
            if field.get("required"):
                missing.append(f"{name} (spec.{field['key']})")
            continue
        spec[field["key"]] = coerce_value(name, field["key"], field.get("type"), value)
    if missing:
        raise ComponentError("required input(s) not given: " + ", ".join(missing))
    return spec


def default_resource_name(kind, spec, name_key=None):
    """A deterministic DNS-1123 name, so a retried task finds its own resource.

    Prefer the SageMaker name field (e.g. trainingJobName); otherwise hash the spec.
    """
    raw = spec.get(name_key) if name_key else None
    if not isinstance(raw, str) or not raw:
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
        raw = f"{kind}-{digest}"
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    return name[:DNS_LABEL_MAX].rstrip("-") or kind.lower()


def build_resource(group, version, kind, name, namespace, spec, labels=None, region=""):
    """The whole custom resource document; `region` becomes ACK's region annotation."""
    metadata = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if region:
        metadata["annotations"] = {REGION_ANNOTATION: region}
    return {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": metadata, "spec": spec}


REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def check_region(region):
    """The region input, stripped; a ComponentError if it cannot be an AWS region name."""
    region = (region or "").strip()
    if region and not REGION_NAME.match(region):
        raise ComponentError(f"input 'region' ({region!r}) is not an AWS region name such as "
                             "eu-west-1; pass the lab's region, or leave it empty for the ACK "
                             "controller's default region.")
    return region


def lineage_marks(lineage="", run_id=""):
    """The labels and SageMaker tags that tie a resource to labwiz's lab and the run.

    Returns (labels, tags), both dicts, empty when no lineage is given. The
    lineage must be a valid label value, since cleanup selects on it exactly; a
    run id that is not (kfp.local's can be long) is kept as a tag only.
    """
    lineage, run_id = (lineage or "").strip(), (run_id or "").strip()
    if not lineage:
        return {}, {}
    if not LABEL_VALUE.match(lineage) or not TAG_VALUE.match(lineage):
        raise ComponentError(f"input 'lineage' ({lineage!r}) cannot be a Kubernetes label value: use at "
                             "most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                             "or digit (labwiz passes its lab's lineage), or leave it empty.")
    labels = {LINEAGE_LABEL: lineage}
    tags = {LINEAGE_TAG: lineage, MANAGED_TAG: "true"}
    if run_id:
        if LABEL_VALUE.match(run_id):
            labels[RUN_ID_LABEL] = run_id
        else:
            log(f"run id {run_id[:80]!r} is not a valid label value; it goes in the tag only")
        if TAG_VALUE.match(run_id):
            tags[RUN_ID_TAG] = run_id
    return labels, tags


def add_tags(spec, tags_key, tags):
    """Append `tags` to spec[tags_key] as [{key, value}], keeping every tag the user set.

    A key the user already set keeps the user's value: SageMaker refuses a
    request that names one key twice, and the user's choice wins.
    """
    if not tags_key or not tags:
        return spec
    current = list(spec.get(tags_key) or [])
    present = {t.get("key") for t in current if isinstance(t, dict)}
    for key, value in tags.items():
        if key in present:
            log(f"tag {key} is already set in the input; keeping your value")
            continue
        current.append({"key": key, "value": value})
    spec[tags_key] = current
    return spec


# ---------------------------------------------------------------- cluster

def resolve_namespace(given=None, sa_file=SA_NAMESPACE_FILE):
    """The namespace to use: given, else the pod's own, else the kubeconfig context's, else default."""
    if given:
        return given
    try:
        with open(sa_file, encoding="utf-8") as fh:
            found = fh.read().strip()
        if found:
            return found
    except OSError:
        pass  # not in a pod: fall through to the kubeconfig
    try:
        from kubernetes import config
        _contexts, current = config.list_kube_config_contexts(config_file=kubeconfig_path())
        found = (current or {}).get("context", {}).get("namespace")
        if found:
            return found
    except Exception:  # no kubeconfig at all is fine here; loading it later says more
        pass
    return "default"


def kubeconfig_path():
    """$KUBECONFIG (read now: the client library reads it once, at import), else ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def api_client():
    """A kubernetes ApiClient from in-cluster config in a pod, else from the kubeconfig."""
    from kubernetes import client, config
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
        return client.ApiClient()
    try:
        return config.new_client_from_config(config_file=kubeconfig_path())
    except Exception as exc:
        raise ComponentError(
            f"no Kubernetes credentials: not in a pod and the kubeconfig could not be loaded ({exc}). "
            "Set KUBECONFIG or run `aws eks update-kubeconfig --name <cluster>`.")


def _is_transient(exc):
    """True for API errors worth retrying: throttling, server errors, dropped connections."""
    from kubernetes.client.exceptions import ApiException
    if isinstance(exc, ApiException):
        return exc.status in TRANSIENT_HTTP or exc.status == 0
    import urllib3
    return isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def _api_message(exc):
    """The human message inside a Kubernetes Status error body, or the exception text."""
    body = getattr(exc, "body", None)
    try:
        return json.loads(body).get("message") or str(exc)
    except Exception:
        return str(exc).strip()


class AckClient:
    """Custom-object calls for one kind, with transient errors retried with backoff."""

    def __init__(self, api, group, version, plural, namespace,
                 retry_budget=120.0, backoff=1.0, max_backoff=30.0):
        """`api` is a kubernetes ApiClient; the budget bounds the time spent retrying one call."""
        from kubernetes import client
        self.objects = client.CustomObjectsApi(api)
        self.group, self.version, self.plural, self.namespace = group, version, plural, namespace
        self.retry_budget, self.backoff, self.max_backoff = retry_budget, backoff, max_backoff

    def _call(self, what, fn, *args, **kwargs):
        """Run one API call, retrying transient failures until the budget runs out."""
        deadline = time.monotonic() + self.retry_budget
        delay = self.backoff
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not _is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                log(f"{what}: transient API error ({_api_message(exc)[:200]}); retrying in {delay:.0f}s")
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    def get(self, name):
        """The resource, or None when it does not exist."""
        from kubernetes.client.exceptions import ApiException
        try:
            return self._call("get", self.objects.get_namespaced_custom_object,
                              self.group, self.version, self.namespace, self.plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, body):
        """Create the resource; raises ApiException 409 when the name is taken."""
        return self._call("create", self.objects.create_namespaced_custom_object,
                          self.group, self.version, self.namespace, self.plural, body)

    def patch(self, name, body):
        """Merge-patch the resource (spec fields we set, labels); returns the new object."""
        return self._call("patch", self.objects.patch_namespaced_custom_object,
                          self.group, self.version, self.namespace, self.plural, name, body)

    def wait_change(self, name, resource_version, seconds):
        """Wait at most `seconds` for the resource to change after `resource_version`.

        A watch on this one resource (a field selector on its name), so the caller reads it
        again as soon as the controller writes status instead of after a fixed sleep; the
        bound is the same poll interval, so nothing waits longer than before. Returns True
        when a change came. Any failure to watch (no RBAC for watch, an expired version, a
        dropped connection) sleeps out the rest of the interval: the caller's next get() is
        the read that counts, as it was with plain polling.
        """
        from kubernetes import watch
        started = time.monotonic()
        if not resource_version:  # a watch without one starts with the object itself: no news
            time.sleep(seconds)
            return False
        stream = watch.Watch()
        changed = False
        try:
            # the server's timeoutSeconds is whole seconds; the client-side timeout keeps a
            # sub-second interval (tests) sub-second
            for event in stream.stream(
                    self.objects.list_namespaced_custom_object, self.group, self.version,
                    self.namespace, self.plural, field_selector=f"metadata.name={name}",
                    resource_version=resource_version,
                    timeout_seconds=max(1, int(-(-seconds // 1))),
                    _request_timeout=seconds + 5 if seconds >= 1 else seconds):
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    changed = True
                    break
        except Terminated:
            raise  # a cancelled run, raised by the SIGTERM handler inside the read
        except Exception:  # noqa: BLE001 - any watch failure falls back to the plain sleep
            pass
        finally:
            stream.stop()
        if not changed:
            left = seconds - (time.monotonic() - started)
            if left > 0:
                time.sleep(left)
        return changed

    def delete(self, name):
        """Delete the resource; True if it was there."""
        from kubernetes.client.exceptions import ApiException
        try:
            self._call("delete", self.objects.delete_namespaced_custom_object,
                       self.group, self.version, self.namespace, self.plural, name)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise


def spec_difference(wanted, actual, path="spec"):
    """The first path where `actual` does not contain `wanted`, or None.

    A subset match, because the controller late-initialises spec fields we
    did not set; every field we set must be there with our value.
    """
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return path
        for key, value in wanted.items():
            found = spec_difference(value, actual.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(wanted, list):
        if not isinstance(actual, list) or len(wanted) != len(actual):
            return path
        for i, (w, a) in enumerate(zip(wanted, actual)):
            found = spec_difference(w, a, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(wanted, (int, float)) and isinstance(actual, (int, float)) \
            and not isinstance(wanted, bool) and not isinstance(actual, bool):
        return None if wanted == actual else path
    return None if wanted == actual else path


def progress_marker(obj):
    """What changes when the controller acts on a new spec: SageMaker's lastModifiedTime and
    the ResourceSynced condition's transition time."""
    status = obj.get("status") or {}
    synced = condition(obj, "ACK.ResourceSynced") or {}
    return (json.dumps(status.get("lastModifiedTime"), sort_keys=True),
            synced.get("lastTransitionTime"), synced.get("status"))


def _region_of(obj):
    """The region ACK reconciles a resource in: the recorded one, else its annotation."""
    recorded = ((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("region")
    return recorded or ((obj.get("metadata") or {}).get("annotations") or {}).get(REGION_ANNOTATION)


def create_or_adopt(ack, body, updatable=False):
    """Create the resource, adopt the same-named one if its spec matches ours, or update it.

    Returns (object, how) with how "created", "adopted" or "updated". A same-named
    resource with another spec is updated when ACK can update the kind (`updatable`:
    an Endpoint moved to a new EndpointConfig); otherwise it fails the task rather
    than silently reusing someone else's resource.
    """
    from kubernetes.client.exceptions import ApiException
    name = body["metadata"]["name"]
    try:
        obj = ack.create(body)
        region = (body["metadata"].get("annotations") or {}).get(REGION_ANNOTATION)
        log(f"created {body['kind']} {ack.namespace}/{name}"
            + (f" (ACK creates it in {region})" if region else " (in the ACK controller's default region)"))
        return obj, "created"
    except ApiException as exc:
        if exc.status != 409:
            raise ComponentError(f"creating {body['kind']} {ack.namespace}/{name} was refused "
                                 f"(HTTP {exc.status}): {_api_message(exc)}")
    existing = ack.get(name)
    if existing is None:
        raise ComponentError(f"{body['kind']} {name} was reported to exist but is gone; retry the run")
    if (existing.get("metadata") or {}).get("deletionTimestamp"):
        raise ComponentError(f"{body['kind']} {ack.namespace}/{name} is being deleted; wait until "
                             f"`kubectl get {ack.plural} {name} -n {ack.namespace}` finds nothing, then rerun.")
    wanted_region = (body["metadata"].get("annotations") or {}).get(REGION_ANNOTATION)
    found_region = _region_of(existing)
    if wanted_region and found_region and wanted_region != found_region:
        raise ComponentError(
            f"{body['kind']} {ack.namespace}/{name} already exists in region {found_region}, not "
            f"{wanted_region}; ACK cannot move it. Delete it (kubectl delete {ack.plural} {name} "
            f"-n {ack.namespace}) or pass another resource_name.")
    where = spec_difference(body["spec"], existing.get("spec") or {})
    if where and updatable:
        patch = {"spec": body["spec"], "metadata": {"labels": body["metadata"].get("labels") or {}}}
        updated = ack.patch(name, patch)
        log(f"updated the existing {body['kind']} {ack.namespace}/{name} (it differed at {where}); "
            "the ACK controller applies the change to SageMaker")
        return updated, "updated"
    if where:
        raise ComponentError(
            f"a {body['kind']} named {name} already exists in namespace {ack.namespace} with a different "
            f"spec (first difference at {where}). Delete it (kubectl delete {ack.plural} {name} "
            f"-n {ack.namespace}) or pass another resource_name.")
    log(f"adopted the existing {body['kind']} {ack.namespace}/{name} (same spec; an earlier attempt made it)")
    return existing, "adopted"


# ---------------------------------------------------------------- waiting

def condition(obj, ctype):
    """The condition of that type from the status, or None."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def evaluate(obj, plan):
    """Judge one observation of the resource: ("done"|"failed"|"recoverable"|"waiting", message).

    `plan` is {"status_field": name or None, "success": [...], "failure": [...],
    "reason_field": name or None}. ACK.Terminal always fails; ACK.Recoverable
    means ACK is retrying (a quota, a Model not there yet, a permission still
    propagating), so it is "recoverable" whatever its message; the kind's own
    status field decides when it has one, else ACK.ResourceSynced=True means done.
    A resource with no status at all is "unwatched": no controller has seen it.
    """
    status = obj.get("status") or {}
    if not status:
        return "unwatched", "no status yet (waiting for the ACK controller to pick it up)"
    terminal = condition(obj, "ACK.Terminal")
    if terminal and str(terminal.get("status")) == "True":
        return "failed", f"ACK.Terminal: {terminal.get('message') or terminal.get('reason') or 'no message'}"
    recoverable = condition(obj, "ACK.Recoverable")
    if recoverable and str(recoverable.get("status")) == "True":
        text = recoverable.get("message") or recoverable.get("reason") or "no message"
        return "recoverable", f"ACK.Recoverable: {text}"
    field = plan.get("status_field")
    if field:
        state = status.get(field)
        if state in plan.get("success", []):
            return "done", f"{field}={state}"
        if state in plan.get("failure", []):
            reason = status.get(plan.get("reason_field") or "failureReason") or "no failureReason given"
            return "failed", f"{field}={state}: {reason}"
        return "waiting", f"{field}={state or '(not reported yet)'}"
    synced = condition(obj, "ACK.ResourceSynced")
    if synced and str(synced.get("status")) == "True":
        return "done", "ACK.ResourceSynced=True"
    state = synced.get("status") if synced else "(not reported yet)"
    return "waiting", f"ACK.ResourceSynced={state}"


def no_controller_message(ack, name, seconds):
    """Why a resource nobody reconciles fails the task, and how to check the controller."""
    return (f"no ACK controller reported on {ack.plural}/{name} in namespace {ack.namespace} within "
            f"{seconds:.0f}s (its status is still empty). Is the ACK SageMaker controller installed "
            f"and running? Check: kubectl get deploy -n {ACK_NAMESPACE} (a ready "
            f"ack-sagemaker-controller is expected), then kubectl logs -n {ACK_NAMESPACE} "
            "deploy/<its name>; `labwiz doctor` checks it too.")


def wait_for(ack, name, plan, timeout_seconds, poll_interval_seconds, recoverable_seconds=600.0,
             controller_seconds=300.0, stale=None):
    """Read the resource until it is done; return it, or raise ComponentError.

    Between reads it waits for a change of the resource (a watch), at most
    `poll_interval_seconds`.

    ACK.Recoverable is waited on for at most `recoverable_seconds` in a row,
    because ACK retries it itself; its message is logged as soon as it shows.
    A resource whose status stays empty for `controller_seconds` has no
    controller. `stale` is the progress_marker() taken before an update: a
    "done" verdict while the marker is unchanged is the old state, not yet the
    update's outcome.
    """
    started = time.monotonic()
    deadline = started + timeout_seconds
    recovering_since = None
    moved = stale is None
    last = None
    while True:
        obj = ack.get(name)
        if obj is None:
            raise ComponentError(f"{ack.plural}/{name} disappeared from namespace {ack.namespace} "
                                 "while waiting (deleted by someone else?)")
        verdict, message = evaluate(obj, plan)
        if not moved:
            if verdict != "done" or progress_marker(obj) != stale:
                moved = True
            else:
                verdict, message = "waiting", "waiting for the ACK controller to apply the update"
        if verdict == "recoverable":
            recovering_since = recovering_since or time.monotonic()
            message = (f"{message} (ACK retries it; the task fails if it lasts "
                       f"{recoverable_seconds:.0f}s)")
        if message != last:
            log(f"{name}: {message}")
            last = message
        if verdict == "done":
            return obj
        if verdict == "failed":
            raise ComponentError(f"{name} failed: {message}. A rerun adopts this same resource, so delete "
                                 f"it first: kubectl delete {ack.plural} {name} -n {ack.namespace}")
        if verdict == "unwatched" and time.monotonic() - started > controller_seconds:
            raise ComponentError(no_controller_message(ack, name, controller_seconds))
        if verdict == "recoverable":
            if time.monotonic() - recovering_since > recoverable_seconds:
                text = message.split(" (ACK retries it", 1)[0]
                raise ComponentError(f"{name} stayed in error for over {recoverable_seconds:.0f}s: {text}. "
                                     "Fix the cause (permissions? quota? a resource it needs?) and rerun.")
        else:
            recovering_since = None
        if time.monotonic() + poll_interval_seconds > deadline:
            raise ComponentError(f"timed out after {timeout_seconds}s waiting for {name} ({message}). "
                                 "Raise timeout_seconds, or look at it with kubectl describe "
                                 f"{ack.plural} {name} -n {ack.namespace}.")
        # returns early when the controller writes the resource (a watch), at most the interval
        ack.wait_change(name, (obj.get("metadata") or {}).get("resourceVersion"), poll_interval_seconds)


def collect_outputs(obj, output_map):
    """Each status field as a JSON string, plus the ACK ARN and the resource name."""
    status = obj.get("status") or {}
    outputs = {out: json.dumps(status.get(key), sort_keys=True) for out, key in output_map.items()}
    outputs["ack_resource_arn"] = ((status.get("ackResourceMetadata") or {}).get("arn")) or ""
    outputs["resource_name"] = obj["metadata"]["name"]
    return outputs


# ---------------------------------------------------------------- entry

def _on_sigterm(signum, frame):
    """Turn SIGTERM into an exception so the main flow can clean up."""
    raise Terminated(f"signal {signum}")


def _install_sigterm():
    """Install the SIGTERM handler; returns the previous one, or None off the main thread."""
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # signals can only be handled on the main thread
        return None


def run_component(component, values, namespace=None, resource_name=None, timeout_seconds=86400,
                  poll_interval_seconds=30, delete_on_termination=True, api=None,
                  recoverable_seconds=600.0, sa_file=SA_NAMESPACE_FILE, lineage="", run_id="",
                  region="", controller_seconds=300.0):
    """Create (adopt, or update) the resource, wait for it, and return the outputs dict.

    `component` holds the generated constants: kind, group, version, plural,
    name_key, fields (the input table), wait (the plan), outputs (output
    name -> status key), tags_key (the spec's tags field, or None) and
    updatable (ACK can update the kind in place). `values` are the CRD inputs
    by snake_case name. `lineage` and `run_id` label the resource and tag what
    SageMaker makes of it; `region` is ACK's region annotation.
    """
    kind = component["kind"]
    region = check_region(region)
    spec = build_spec(component["fields"], values)
    labels, tags = lineage_marks(lineage, run_id)
    add_tags(spec, component.get("tags_key"), tags)
    namespace = resolve_namespace(namespace, sa_file)
    name = resource_name or default_resource_name(kind, spec, component.get("name_key"))
    body = build_resource(component["group"], component["version"], kind, name, namespace, spec, labels,
                          region)
    log(f"{kind} {namespace}/{name}: {len(spec)} spec field(s) set"
        + (f"; labelled {LINEAGE_LABEL}={labels[LINEAGE_LABEL]}" if labels else ""))
    ack = AckClient(api or api_client(), component["group"], component["version"],
                    component["plural"], namespace)
    previous = _install_sigterm()
    owned = False
    try:
        obj, how = create_or_adopt(ack, body, bool(component.get("updatable")))
        # an adopted resource came from an earlier attempt of this same task; an updated one
        # belongs to an earlier run, so a cancelled update must not delete it
        owned = how != "updated"
        # the marker of the object as our update left it: a status the controller wrote before
        # the update (a refresh) is not its answer to it
        stale = progress_marker(obj) if how == "updated" else None
        final = wait_for(ack, name, component["wait"], timeout_seconds, poll_interval_seconds,
                         recoverable_seconds, controller_seconds, stale)
        log(f"{kind} {name} finished")
        return collect_outputs(final, component["outputs"])
    except (Terminated, KeyboardInterrupt) as exc:
        log(f"terminated ({exc}); " + ("deleting the resource" if owned and delete_on_termination
                                         else "leaving the resource in place (delete_on_termination "
                                         "is off)" if owned else "no resource of ours to delete"))
        if owned and delete_on_termination:
            ack.delete(name)
            log(f"deleted {kind} {namespace}/{name}")
        raise SystemExit(130 if isinstance(exc, KeyboardInterrupt) else 143)
    except ComponentError as exc:
        if owned and delete_on_termination and str(exc).startswith("no ACK controller"):
            # with no finalizer on it the resource goes at once, so a controller installed
            # later does not start SageMaker work that nobody waits for
            ack.delete(name)
            raise ComponentError(f"{exc} The resource was deleted (delete_on_termination).") from None
        if owned and delete_on_termination and str(exc).startswith("timed out"):
            ack.delete(name)
            log(f"deleted {kind} {namespace}/{name} after the timeout (delete_on_termination)")
            # the message must not send the learner to kubectl describe a resource that is gone
            raise ComponentError(f"timed out after {timeout_seconds}s waiting for {name}; it was deleted "
                                 "(delete_on_termination). Raise timeout_seconds, or pass "
                                 "delete_on_termination=False to keep it for a look.") from None
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def fail_task(exc):
    """Log a ComponentError as the last progress line and return it for the component to raise.

    Raising it (rather than exiting 1) is what puts the message, SageMaker's
    failureReason included, in the task's error: KFP shows the exception that
    ended the step. The traceback is dropped since it points into generated code.
    """
    log(f"ERROR: {exc}")
    return exc.with_traceback(None)
