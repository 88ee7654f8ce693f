import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

// A real JWKS endpoint on 127.0.0.1 whose key set the test can rotate, plus a signer.

export interface TestIssuer {
  url: string;
  jwksUrl: string;
  fetches: number;
  sign(
    claims: JWTPayload,
    opts?: { kid?: string; alg?: string; exp?: number | string; nbf?: number },
  ): Promise<string>;
  /** Adds a new signing key (new kid) and makes it current; keepOld=false drops the old ones. */
  rotate(keepOld?: boolean): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const keys: Array<{
    kid: string;
    privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
    jwk: JWK;
  }> = [];
  let n = 0;
  const add = async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const kid = `k${++n}`;
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } });
    return kid;
  };
  await add();
  const state = { fetches: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === "/jwks.json") {
      state.fetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/jwks.json`,
    get fetches() {
      return state.fetches;
    },
    async sign(claims, opts = {}) {
      const key = opts.kid ? keys.find((k) => k.kid === opts.kid) : keys[keys.length - 1];
      if (!key) throw new Error("no such key");
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: opts.alg ?? "ES256", kid: key.kid })
        .setIssuedAt();
      if (opts.exp !== undefined) jwt = jwt.setExpirationTime(opts.exp);
      else jwt = jwt.setExpirationTime("10m");
      if (opts.nbf !== undefined) jwt = jwt.setNotBefore(opts.nbf);
      return jwt.sign(key.privateKey);
    },
    async rotate(keepOld = true) {
      if (!keepOld) keys.splice(0, keys.length);
      return add();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An unsecured JWT (`alg: none`), which must always be refused. */
export function unsecuredJwt(claims: JWTPayload): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
}
