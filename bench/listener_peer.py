"""The bench's Python peer: a listener built on supervisor.childutils doing
the same job as readiness_listener (follow `start`, replace a status file
atomically on each of its transitions)."""
import os
import sys

from supervisor import childutils

PROGRAM = "start"


def replace(path, text):
    temporary = os.path.join(os.path.dirname(path), ".status.tmp")
    with open(temporary, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.rename(temporary, path)
    directory = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def main(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    state = "NOT_SEEN"
    replace(path, f"format=1\nprogram={PROGRAM}\nstate={state}\nend=1\n")
    while True:
        try:
            headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        except (ValueError, KeyError):  # end of input
            return
        name = headers["eventname"]
        if name.startswith("PROCESS_STATE_"):
            fields = childutils.get_headers(payload)
            if fields.get("processname") == PROGRAM:
                previous, state = state, name[len("PROCESS_STATE_"):]
                replace(path, f"format=1\nprogram={PROGRAM}\nstate={state}\nprevious_state={previous}\n"
                              f"expected={fields.get('expected', 'unknown')}\nserial={headers['serial']}\nend=1\n")
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
