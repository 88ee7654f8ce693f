// The floor of an HTTP hop: a Node process that accepts TCP connections on 127.0.0.1 and relays
// bytes both ways to the downstream (`--target http://HOST:PORT/PATH`), one persistent downstream
// connection per client connection; no HTTP parsing, no framing. Whatever an HTTP proxy adds
// above this row is the proxy's own cost; this row's delta over the direct row is the cost of the
// extra process, sockets and wake-ups themselves (the HTTP analogue of bare-pipe.ts).
// Prints "listening http://127.0.0.1:PORT/PATH" once it accepts connections.
import { connect, createServer } from "node:net";

const i = process.argv.indexOf("--target");
const target = i >= 0 ? new URL(process.argv[i + 1] ?? "") : undefined;
if (!target) {
  process.stderr.write("usage: bare-relay.ts --target http://HOST:PORT/PATH\n");
  process.exit(2);
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const downstream = connect({ host: target.hostname, port: Number(target.port) });
  downstream.setNoDelay(true);
  client.pipe(downstream);
  downstream.pipe(client);
  client.on("error", () => downstream.destroy());
  downstream.on("error", () => client.destroy());
  client.on("close", () => downstream.destroy());
  downstream.on("close", () => client.destroy());
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`listening http://127.0.0.1:${port}${target.pathname}\n`);
});
process.on("SIGTERM", () => process.exit(0));
