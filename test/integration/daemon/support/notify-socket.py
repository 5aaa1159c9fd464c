#!/usr/bin/env python3
# A stand-in for systemd's notify socket: binds an AF_UNIX SOCK_DGRAM socket at argv[1], prints
# "BOUND" once listening, then one JSON line per datagram (the text and the sender's pid from
# SCM_CREDENTIALS). File descriptors passed with a message (systemd-notify's BARRIER=1 pipe) are
# closed at once, which is what tells the sender that the "manager" has processed the message.
import array, json, os, socket, struct, sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
print("BOUND", flush=True)
cred_len = struct.calcsize("3i")
while True:
    data, ancdata, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(cred_len) + socket.CMSG_SPACE(16 * 4))
    pid = None
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            for fd in fds:
                os.close(fd)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:cred_len])[0]
    print(json.dumps({"text": data.decode("utf-8", "replace"), "pid": pid}), flush=True)
