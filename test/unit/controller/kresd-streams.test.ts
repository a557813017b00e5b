import { countStreams } from "../../../lib/controller/kresd/streams.js";

// /proc/net/tcp as the kernel writes it: port 0x94A1 = 38049 is the worker's listening port.
const TABLE = [
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
  "   1: 0100007F:94A1 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 100 1 0 100 0 0 10 16",
  "  36: 0100007F:94A1 0100007F:EA96 01 00000000:00000000 00:00000000 00000000     0        0 101 2 0 23 6 1 18 -1",
  "  47: 0100007F:94A1 0100007F:EAA8 01 0000002C:00000000 01:00000014 00000000     0        0 102 2 0 23 6 1 18 -1",
  "  48: 0100007F:94A1 0100007F:EAB0 01 00000000:0000001E 00:00000000 00000000     0        0 103 2 0 23 6 1 18 -1",
  "  49: 0100007F:94A1 0100007F:EAB8 08 00000000:00000000 00:00000000 00000000     0        0 104 2 0 23 6 1 18 -1",
  "  50: 0100007F:94A1 0100007F:EAC0 01 00000000:0000001E 00:00000000 00000000     0        0 999 2 0 23 6 1 18 -1",
  "  51: 0100007F:C001 08080808:0035 01 00000000:0000001E 00:00000000 00000000     0        0 105 2 0 23 6 1 18 -1",
  "",
].join("\n");
const MINE = new Set(["100", "101", "102", "103", "104", "105"]);

describe("countStreams (a worker's client connections from /proc/net/tcp)", () => {
  it("counts the worker's connections on its ports, not its listening socket, nor others' sockets", () => {
    // 101, 102, 103 established and 104 in CLOSE_WAIT are the worker's; 999 is another process's;
    // 105 is an outgoing connection of the worker (to port 53 elsewhere).
    expect(countStreams(TABLE, MINE, new Set([38049])).open).toBe(4);
  });

  it("calls busy only a connection with a query unread, not one whose answer awaits its ACK", () => {
    // 103 has 30 bytes unread; 102 has 44 bytes sent and not acknowledged yet.
    expect(countStreams(TABLE, MINE, new Set([38049])).busy).toBe(1);
  });

  it("finds nothing on ports the worker did not listen on", () => {
    expect(countStreams(TABLE, MINE, new Set([53]))).toEqual({ open: 0, busy: 0 });
  });
});
