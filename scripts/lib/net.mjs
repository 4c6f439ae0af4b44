// A free TCP port on the loopback address (the OS picks it; we close and hand it on).
import { createServer } from "node:net";

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}
