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
"""
import os, sys, time
from xmlrpc.server import SimpleXMLRPCServer

port_file, services, notify_service, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
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
    if pid:
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

server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
server.register_function(get_all_process_info, "supervisor.getAllProcessInfo")
server.register_function(start_process, "supervisor.startProcess")
with open(port_file + ".tmp", "w") as file:
    file.write(f"port={server.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
finally:
    sys.stderr.write(f"fake_supervisord: {calls}\n")
