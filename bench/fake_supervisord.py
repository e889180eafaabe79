"""A stand-in for supervisord's XML-RPC interface, for the services bench:
the listener asks it (SUPERVISOR_SERVER_URL) which programs exist at
start-up, starts the notify service through it, and asks again when a
datagram comes from a process of "supervisord's" it cannot attribute.
The events come from bench/driver.c, which plays supervisord's event side.

usage: fake_supervisord.py PORT_FILE SERVICES NOTIFY_SERVICE PIDFILE
svc1..svcSERVICES are RUNNING with the driver's fake pids (100001..);
NOTIFY_SERVICE is STOPPED and never started (autostart=false) until
startProcess, then STARTING, then RUNNING with the pid the driver wrote to
PIDFILE. Writes `port=N` to PORT_FILE once listening on 127.0.0.1.

usage: fake_supervisord.py PORT_FILE 0 - - --programs FILE --state-log FILE --call-log FILE --unix PATH
The start-order bench (bench/start_order.sh), on the unix socket PATH (as
the documented [unix_http_server] is reached; PORT_FILE says `port=0` once
it listens): the programs are FILE's lines,
`NAME STATE AUTOSTART GROUP_PRIORITY` (group = name), STOPPED ones never
started (start 0). Before each answer it applies what the driver appended
to the state log (`PROCESS_STATE_X processname:... pid:... expected:...`, one
event a line, as supervisord's state changes before it sends the event);
startProcess makes a down program STARTING (ALREADY_STARTED otherwise).
getProcessInfo, getAllConfigInfo and getAllProcessInfo answer from that state.
Each call is appended to the call log as `NS METHOD ARGUMENT`, NS the
CLOCK_MONOTONIC time at which the server took the connection, written
before the answer.
"""
import os, socket, sys, time
from xmlrpc.client import Fault
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

port_file, services, notify_service, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
options = dict(zip(sys.argv[5::2], sys.argv[6::2]))
started = False
calls = {"getAllProcessInfo": 0, "startProcess": 0}

def info(name, state, pid, start):
    codes = {"STOPPED": 0, "STARTING": 10, "RUNNING": 20}
    return {"name": name, "group": name, "statename": state, "state": codes[state], "start": start, "stop": 0,
            "now": int(time.time()), "pid": pid, "exitstatus": 0, "spawnerr": "", "description": "",
            "logfile": "", "stdout_logfile": "", "stderr_logfile": ""}

def get_all_process_info():
    calls["getAllProcessInfo"] += 1
    programs = [info(f"svc{i}", "RUNNING", 100000 + i, 1) for i in range(1, services + 1)]
    pid = 0
    if os.path.exists(pidfile):
        with open(pidfile) as file:
            pid = int(file.read().strip() or 0)
    if notify_service == "-":
        pass
    elif pid:
        programs.append(info(notify_service, "RUNNING", pid, 1))
    elif started:
        programs.append(info(notify_service, "STARTING", 0, 1))
    else:
        programs.append(info(notify_service, "STOPPED", 0, 0))
    return programs

def start_process(name, wait=True):
    global started
    calls["startProcess"] += 1
    started = True
    return True

class Handler(SimpleXMLRPCRequestHandler):
    # One write of the answer's head and one of its body: no Nagle wait between them.
    disable_nagle_algorithm = True

class Server(SimpleXMLRPCServer):
    accepted_ns = 0
    def get_request(self):
        self.accepted_ns = time.monotonic_ns()
        return super().get_request()

class UnixHandler(SimpleXMLRPCRequestHandler):
    disable_nagle_algorithm = False  # a TCP option

class UnixServer(Server):
    address_family = socket.AF_UNIX

if "--unix" in options:
    server = UnixServer(options["--unix"], requestHandler=UnixHandler, logRequests=False, allow_none=True)
else:
    # The services bench keeps the plain handler it was measured with.
    server = Server(("127.0.0.1", 0), requestHandler=Handler if "--programs" in options else SimpleXMLRPCRequestHandler,
                    logRequests=False, allow_none=True)
if "--programs" in options:
    # The start-order bench: the state the driver's events describe.
    states = {"STOPPED": 0, "STARTING": 10, "RUNNING": 20, "BACKOFF": 30, "STOPPING": 40, "EXITED": 100, "FATAL": 200, "UNKNOWN": 1000}
    order, processes, configs = [], {}, {}
    with open(options["--programs"]) as file:
        for line in file:
            name, state, autostart, priority = line.split()
            order.append(name)
            processes[name] = info(name, state, 0 if state == "STOPPED" else 4242, 0 if state == "STOPPED" else int(time.time()))
            configs[name] = {"name": name, "group": name, "autostart": autostart == "true", "group_prio": int(priority), "priority": int(priority),
                             "process_prio": int(priority), "command": "/bin/true", "inuse": True, "autorestart": False, "exitcodes": [0],
                             "startsecs": 0, "startretries": 3, "stopsignal": 15, "stopwaitsecs": 10, "killasgroup": False, "stopasgroup": False}
    state_log = os.open(options["--state-log"], os.O_RDONLY | os.O_CREAT, 0o644)
    call_log = os.open(options["--call-log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pending = b""
    starts = {}

    def catch_up():
        """Applies the events the driver has sent since the last call."""
        global pending
        while chunk := os.read(state_log, 65536):
            pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            event, *fields = line.decode().split()
            fields = dict(field.split(":", 1) for field in fields)
            process = processes.get(fields.get("processname"))
            if process is None:
                continue
            state = event.removeprefix("PROCESS_STATE_")
            process.update(statename=state, state=states[state], now=int(time.time()))
            if state == "STARTING":
                process.update(start=int(time.time()), pid=0, spawnerr="")
            elif state == "RUNNING":
                process.update(pid=int(fields.get("pid", 4242)))
            elif state == "EXITED":
                expected = fields.get("expected") == "1"
                process.update(stop=int(time.time()), pid=0, exitstatus=0 if expected else 1, spawnerr="" if expected else "Bad exit code 1")

    def called(method, argument=""):
        catch_up()
        os.write(call_log, f"{server.accepted_ns} {method} {argument}\n".encode())

    def lookup(name):
        process = processes.get(name.split(":")[-1])
        if process is None:
            raise Fault(10, f"BAD_NAME: {name}")
        return process

    def get_process_info(name):
        called("getProcessInfo", name)
        return lookup(name)

    def get_all_process_info_ordered():
        called("getAllProcessInfo")
        return [processes[name] for name in order]

    def get_all_config_info():
        called("getAllConfigInfo")
        return [configs[name] for name in order]

    def start_process_ordered(name, wait=True):
        called("startProcess", name)
        calls["startProcess"] += 1
        process = lookup(name)
        starts[name] = starts.get(name, 0) + 1
        if process["statename"] in ("STARTING", "RUNNING", "BACKOFF"):
            raise Fault(60, f"ALREADY_STARTED: {name}")
        process.update(statename="STARTING", state=10, start=int(time.time()), pid=0, spawnerr="")
        return True

    server.register_function(get_process_info, "supervisor.getProcessInfo")
    server.register_function(get_all_process_info_ordered, "supervisor.getAllProcessInfo")
    server.register_function(get_all_config_info, "supervisor.getAllConfigInfo")
    server.register_function(start_process_ordered, "supervisor.startProcess")
else:
    server.register_function(get_all_process_info, "supervisor.getAllProcessInfo")
    server.register_function(start_process, "supervisor.startProcess")
with open(port_file + ".tmp", "w") as file:
    file.write(f"port={0 if '--unix' in options else server.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
finally:
    sys.stderr.write(f"fake_supervisord: {calls}\n")
