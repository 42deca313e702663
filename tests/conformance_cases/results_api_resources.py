"""Results used directly and with a flow-level result: a Serializer subclass with only
serialize/deserialize checkpointing a target (the next run ends Cached through it), a task
calling LocalResult.write(value, **fields) / read(location) / exists, PrefectResult.write;
under Flow(result=LocalResult(serializer=...)) whose serializer refuses a Handle, a
resource whose setup returns a Handle (setup/cleanup are never checkpointed) and a resource
class without setup (no setup task; the block gives None).  (A resource that does not
pickle at all crashes Prefect 1's Dask flow run, so the Handle pickles.)"""

import importlib
import os
import tempfile

import cloudpickle


def build(P, R):
    results = importlib.import_module(f"{P.impl}.engine.results")
    serializers = importlib.import_module(f"{P.impl}.engine.serializers")
    resource_manager = importlib.import_module(P.impl).resource_manager
    where = os.path.join(tempfile.gettempdir(), f"conformance-results-api-{R.uid}")  # one per pair
    os.makedirs(where, exist_ok=True)

    class Upper(serializers.Serializer):
        def serialize(self, value):
            return value.upper().encode()

        def deserialize(self, data):
            return data.decode().lower()

    class Handle:
        pass

    class Picky(serializers.Serializer):
        def serialize(self, value):
            if isinstance(value, Handle):
                raise TypeError("a Handle is not stored")
            return cloudpickle.dumps(value)

        def deserialize(self, data):
            return cloudpickle.loads(data)

    @P.task(result=results.LocalResult(dir=where, serializer=Upper()), target="upper.txt",
            checkpoint=True)
    def shout():
        R.incr("shout")
        return "hello"

    @P.task
    def direct(n):
        store = results.LocalResult(dir=where, location="direct-{name}-{n}.bin")
        written = store.write({"n": n}, name="d", n=n)
        back = store.read(f"direct-d-{n}.bin")
        pr = results.PrefectResult().write([n, "x"])
        return [written.value, os.path.basename(written.location), back.value,
                store.exists(f"direct-d-{n}.bin"), store.exists("missing.bin"), pr.location]

    @resource_manager
    class Locked:
        def setup(self):
            R.incr("locked-setup")
            return Handle()

        def cleanup(self, lock):
            R.incr("locked-cleanup")

    @resource_manager
    class NoSetup:
        def __init__(self, n):
            self.n = n

        def cleanup(self, resource):
            R.log("no-setup-cleanup", [self.n, resource])

    @P.task
    def kind(x):
        return type(x).__name__

    with P.Flow("results_api_resources",
                result=results.LocalResult(dir=where, location="{task_name}.out",
                                           serializer=Picky())) as flow:
        s = shout()
        d = direct(3)
        locked = Locked()
        with locked as lock:
            k = kind(lock)
        nothing = NoSetup(7)
        with nothing as none:
            k_none = kind(none)

    on = {"checkpointing": True}
    return {"flow": flow,
            "tasks": {"shout": s, "direct": d, "lock_setup": locked.setup_task,
                      "lock_cleanup": locked.cleanup_task, "kind": k, "k_none": k_none,
                      "no_setup_cleanup": nothing.cleanup_task},
            "runs": [{"context": on}, {"context": on}]}
