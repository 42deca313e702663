"""Issue 13: apply_map gating each element by its own case, tasks built with no mapped
input, inputs of different lengths, apply_map over apply_map; flatten of a flat list and
of children that are not lists; case/merge on the imperative API; flow.update of two
flows calling the same task; handlers that edit the state they get; a handler resuming a
paused task."""


def build(P, R):
    @P.task
    def inc(x):
        return x + 1

    @P.task
    def add(x, y):
        return x + y

    @P.task
    def some_lists(n):
        return n if n == 2 else [n, n]

    @P.task
    def yes():
        return True

    def branch(flag, a, b):
        with P.case(flag, True):
            r1 = inc(a)
        with P.case(flag, False):
            r2 = inc(b)
        return P.merge(r1, r2)

    def with_constant(x):
        return add(x, inc(1))

    def both(x, y):
        return add(inc(x), inc(y))

    def double(x):
        return add(x, x)

    def set_result(task, old_state, new_state):
        if new_state.is_successful():
            new_state.result = 99
        return new_state

    def go_on(task, old_state, new_state):
        if isinstance(new_state, P.states.Paused):
            return P.states.Resume("resumed by a handler")
        return new_state

    edited = inc.copy(state_handlers=[set_result])
    gated = inc.copy(trigger=P.triggers.manual_only, state_handlers=[go_on])

    with P.Flow("issue13_semantics") as flow:
        gate = P.apply_map(branch, [True, False, True], [1, 2, 3], [4, 5, 6])
        root = P.apply_map(with_constant, [1, 2, 3])
        lengths = P.apply_map(both, list(range(3)), list(range(3, 300)))
        nested = P.apply_map(double, P.apply_map(inc, [1, 2, 3]))
        flat = inc.map(P.flatten([1, 2, 3]))
        mixed = inc.map(P.flatten(some_lists.map([1, 2, 3])))
        e = edited(1)
        g = gated(1)

    imperative = P.Flow("imperative")
    cond = yes.copy()
    left, right = inc.copy(), inc.copy()
    imperative.add_task(cond)
    with P.case(cond, True):
        imperative.add_task(left)
        left.bind(x=10, flow=imperative)
    with P.case(cond, False):
        imperative.add_task(right)
        right.bind(x=20, flow=imperative)
    m = P.merge(left, right, flow=imperative)
    flow.update(imperative)

    with P.Flow("other") as other:
        o = inc(1000)
    flow.update(other)

    return {"flow": flow, "tasks": {
        "gate": gate, "root": root, "lengths": lengths, "nested": nested, "flat": flat,
        "mixed": mixed, "edited": e, "gated": g, "imperative_left": left,
        "imperative_right": right, "imperative_merge": m, "other_inc": o}}
