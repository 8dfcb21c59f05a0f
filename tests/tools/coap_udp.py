#!/usr/bin/env python3
"""Raw CoAP over UDP for the bridge tests: builds datagrams by hand (RFC 7252 section 3), so a
test can do what no well-behaved client does: send the exact same datagram twice (same
message id and token), stop a block-wise transfer part way, start one at block 2, or use a
path coap-client would normalise ("..").

    coap_udp.py --port P [--addr 127.0.0.1] [--type con|non] [--method post|get|put|delete]
                [--mid N] [--token HEX] [--path t/h/metrics | --seg SEG ...] [--cf N]
                [--block1 NUM:MORE:SIZE] [--size1 N] [--file F | --data TEXT]
                [--offset N] [--length N] [--burst K] [--again] [--wait S]
                [--until final|any] [--linger S] [--blocks SIZE]

Sends the request --burst times back to back (default 1), then prints every datagram that
comes back, one JSON object a line (type, code, mid, token, options by name, payload), and
answers each CON it gets with an empty ACK, as a client must. It stops when a response with
a code arrives (--until final: class 2..5 other than 2.31 Continue; any: any code but 0.00)
or after --wait seconds (default 5), then reads on for --linger seconds (answers to the other
copies of a burst). With --again it then sends the same datagram once more
and waits the same way. --offset/--length cut the payload out of the file (a Block1 block).
With --blocks SIZE the payload goes as a whole Block1 transfer instead, block after block over
one socket (one CoAP session), each once the previous one is answered 2.31.
A final line {"done":true,"answered":BOOL,"sent":N} says whether the wait ended on a response.
Exit status 0, 2 on usage errors."""
import argparse
import json
import os
import random
import socket
import sys
import time

TYPES = {"con": 0, "non": 1, "ack": 2, "rst": 3}
TYPE_NAMES = ["CON", "NON", "ACK", "RST"]
METHODS = {"get": 1, "post": 2, "put": 3, "delete": 4}
OPTION_NAMES = {1: "If-Match", 3: "Uri-Host", 4: "ETag", 5: "If-None-Match", 6: "Observe",
                7: "Uri-Port", 8: "Location-Path", 11: "Uri-Path", 12: "Content-Format",
                14: "Max-Age", 15: "Uri-Query", 17: "Accept", 20: "Location-Query",
                23: "Block2", 27: "Block1", 28: "Size2", 35: "Proxy-Uri", 39: "Proxy-Scheme",
                60: "Size1", 292: "Request-Tag"}
UINT_OPTIONS = {6, 7, 12, 14, 17, 23, 27, 28, 60}
STRING_OPTIONS = {3, 8, 11, 15, 20, 35, 39}


def uint_bytes(value):
    """Shortest big-endian form (0 is the empty string, RFC 7252 section 3.2)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def ext(value):
    if value < 13:
        return value, b""
    if value < 269:
        return 13, bytes([value - 13])
    return 14, (value - 269).to_bytes(2, "big")


def encode(msg_type, code, mid, token, options, payload):
    if len(token) > 8:
        raise ValueError("token longer than 8 bytes")
    out = bytearray([0x40 | (msg_type << 4) | len(token), code, mid >> 8, mid & 0xFF])
    out += token
    previous = 0
    for number, value in sorted(options, key=lambda o: o[0]):  # stable: repeated options keep order
        delta_nibble, delta_ext = ext(number - previous)
        length_nibble, length_ext = ext(len(value))
        out.append(delta_nibble << 4 | length_nibble)
        out += delta_ext + length_ext + value
        previous = number
    if payload:
        out.append(0xFF)
        out += payload
    return bytes(out)


def decode(data):
    if len(data) < 4 or data[0] >> 6 != 1:
        return {"error": "not a CoAP message", "hex": data.hex()}
    tkl = data[0] & 0x0F
    msg = {"type": TYPE_NAMES[(data[0] >> 4) & 3], "code": "%d.%02d" % (data[1] >> 5, data[1] & 31),
           "mid": (data[2] << 8) | data[3], "token": data[4:4 + tkl].hex(), "options": {},
           "payload": ""}
    pos = 4 + tkl
    number = 0
    while pos < len(data) and data[pos] != 0xFF:
        delta, length = data[pos] >> 4, data[pos] & 0x0F
        pos += 1
        if delta == 13:
            delta, pos = data[pos] + 13, pos + 1
        elif delta == 14:
            delta, pos = int.from_bytes(data[pos:pos + 2], "big") + 269, pos + 2
        if length == 13:
            length, pos = data[pos] + 13, pos + 1
        elif length == 14:
            length, pos = int.from_bytes(data[pos:pos + 2], "big") + 269, pos + 2
        number += delta
        value = data[pos:pos + length]
        pos += length
        name = OPTION_NAMES.get(number, str(number))
        if number in UINT_OPTIONS:
            shown = int.from_bytes(value, "big")
            if number in (23, 27):
                shown = "%d/%s/%d" % (shown >> 4, "M" if shown & 8 else "_", 16 << (shown & 7))
        elif number in STRING_OPTIONS:
            shown = value.decode("utf-8", "replace")
        else:
            shown = value.hex()
        if name in msg["options"]:
            if not isinstance(msg["options"][name], list):
                msg["options"][name] = [msg["options"][name]]
            msg["options"][name].append(shown)
        else:
            msg["options"][name] = shown
    if pos < len(data):
        msg["payload"] = data[pos + 1:].decode("utf-8", "replace")
    return msg


def block_value(spec):
    num, more, size = (int(x) for x in spec.split(":"))
    szx = {16: 0, 32: 1, 64: 2, 128: 3, 256: 4, 512: 5, 1024: 6}[size]
    return uint_bytes(num << 4 | (8 if more else 0) | szx)


def is_done(msg, until):
    code = msg.get("code", "0.00")
    if code == "0.00" or msg.get("type") == "RST":
        return False
    if until == "never":
        return False
    if until == "any":
        return True
    return code[0] in "2345" and code != "2.31"


def wait(sock, deadline, until, sent_no):
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except socket.timeout:
            return False
        except ConnectionRefusedError:  # ICMP port unreachable: nobody listens
            print(json.dumps({"error": "connection refused", "after_send": sent_no}), flush=True)
            return False
        msg = decode(data)
        msg["after_send"] = sent_no
        print(json.dumps(msg), flush=True)
        global LAST
        LAST = msg
        if msg.get("type") == "CON":
            sock.send(encode(TYPES["ack"], 0, msg["mid"], b"", [], b""))
        if (msg.get("type") == "RST" and until != "never") or is_done(msg, until):
            return msg.get("type") != "RST"


def send_blocks(sock, args, options, mid, token, payload):
    """A whole Block1 transfer over one socket (one session): block n+1 goes once block n is
    answered 2.31; stops at the first other answer or a timeout."""
    size = args.blocks
    count = max(1, (len(payload) + size - 1) // size)
    answered = False
    for num in range(count):
        more = num + 1 < count
        block_options = options + [(27, block_value("%d:%d:%d" % (num, more, size)))]
        datagram = encode(TYPES[args.type], METHODS[args.method], (mid + num) & 0xFFFF, token,
                          block_options, payload[num * size:(num + 1) * size])
        sock.send(datagram)
        last = {}
        answered = wait_last(sock, time.monotonic() + args.wait, "any", num + 1, last)
        if not answered or (more and last.get("code") != "2.31"):
            break
        if not more and last.get("code") == "2.31":
            answered = wait(sock, time.monotonic() + args.wait, "final", num + 1)
    print(json.dumps({"done": True, "answered": answered, "sent": num + 1, "blocks": count,
                      "token": token.hex()}), flush=True)
    return 0


def wait_last(sock, deadline, until, sent_no, last):
    """wait(), keeping the message that ended the wait in last."""
    global LAST
    LAST = None
    answered = wait(sock, deadline, until, sent_no)
    if LAST is not None:
        last.update(LAST)
    return answered


LAST = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--type", choices=["con", "non"], default="con")
    ap.add_argument("--method", choices=sorted(METHODS), default="post")
    ap.add_argument("--mid", type=int, default=None)
    ap.add_argument("--token", default=None, help="hex; default 4 random bytes")
    ap.add_argument("--path", default=None, help="a/b/c: one Uri-Path option per segment")
    ap.add_argument("--seg", action="append", default=None, help="one Uri-Path option, verbatim")
    ap.add_argument("--cf", type=int, default=None)
    ap.add_argument("--block1", default=None, help="NUM:MORE(0|1):SIZE")
    ap.add_argument("--size1", type=int, default=None)
    ap.add_argument("--file", default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--length", type=int, default=None)
    ap.add_argument("--burst", type=int, default=1)
    ap.add_argument("--again", action="store_true")
    ap.add_argument("--wait", type=float, default=5.0)
    ap.add_argument("--until", choices=["final", "any"], default="final")
    ap.add_argument("--blocks", type=int, default=None,
                    help="send the whole payload as a Block1 transfer of this block size, one "
                         "block after the other's answer (Size1 only when --size1 is given)")
    ap.add_argument("--linger", type=float, default=0.0,
                    help="after each wait, go on reading this long (answers to copies)")
    args = ap.parse_args()

    if args.file is not None:
        with open(args.file, "rb") as f:
            payload = f.read()
    else:
        payload = (args.data or "").encode()
    end = None if args.length is None else args.offset + args.length
    payload = payload[args.offset:end]
    segments = args.seg if args.seg is not None else [s for s in (args.path or "").split("/") if s]
    options = [(11, s.encode()) for s in segments]
    if args.cf is not None:
        options.append((12, uint_bytes(args.cf)))
    if args.block1 is not None:
        options.append((27, block_value(args.block1)))
    if args.size1 is not None:
        options.append((60, uint_bytes(args.size1)))
    mid = args.mid if args.mid is not None else random.randrange(0x10000)
    token = bytes.fromhex(args.token) if args.token is not None else os.urandom(4)
    datagram = encode(TYPES[args.type], METHODS[args.method], mid, token, options, payload)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((args.addr, args.port))
    sent = 0
    if args.blocks is not None:
        return send_blocks(sock, args, options, mid, token, payload)
    for _ in range(args.burst):
        sock.send(datagram)
        sent += 1
    answered = wait(sock, time.monotonic() + args.wait, args.until, sent)
    if args.linger > 0:
        wait(sock, time.monotonic() + args.linger, "never", sent)
    if args.again:
        sock.send(datagram)
        sent += 1
        answered = wait(sock, time.monotonic() + args.wait, args.until, sent)
        if args.linger > 0:
            wait(sock, time.monotonic() + args.linger, "never", sent)
    print(json.dumps({"done": True, "answered": answered, "sent": sent, "mid": mid,
                      "token": token.hex()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
